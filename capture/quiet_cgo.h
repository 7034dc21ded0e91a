#ifndef VIDSTYLE_QUIET_CGO_H
#define VIDSTYLE_QUIET_CGO_H
#ifdef __cplusplus
extern "C" {
#endif

// vidstyle_opencv_errors_only keeps OpenCV's own log to errors (its
// OPENCV_LOG_LEVEL variable is read when the library loads, before main).
void vidstyle_opencv_errors_only(void);

#ifdef __cplusplus
}
#endif
#endif
