#ifndef VIDSTYLE_DIS_CGO_H
#define VIDSTYLE_DIS_CGO_H
#ifdef __cplusplus
extern "C" {
#endif

// vidstyle_dis is one cv::DISOpticalFlow instance with its last error.
typedef struct vidstyle_dis vidstyle_dis;

// vidstyle_dis_new makes a DIS flow with one of OpenCV's presets (0
// ultrafast, 1 fast, 2 medium) and, when finest_scale >= 0, that finest
// pyramid level (0 is full resolution). It returns NULL when OpenCV throws.
vidstyle_dis* vidstyle_dis_new(int preset, int finest_scale);

// vidstyle_dis_calc computes the flow from prev to next (CV_8UC1 Mats,
// cv::Mat* passed as void*) into flow (CV_32FC2, same size; reused when
// it already has that size and type). It returns 0, or -1 with the error
// kept for vidstyle_dis_error.
int vidstyle_dis_calc(vidstyle_dis* d, void* prev, void* next, void* flow);

// vidstyle_dis_error is the last error's text, valid until the next call.
const char* vidstyle_dis_error(vidstyle_dis* d);

// vidstyle_dis_free frees d.
void vidstyle_dis_free(vidstyle_dis* d);

#ifdef __cplusplus
}
#endif
#endif
