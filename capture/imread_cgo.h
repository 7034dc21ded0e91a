#ifndef VIDSTYLE_IMREAD_CGO_H
#define VIDSTYLE_IMREAD_CGO_H
#ifdef __cplusplus
extern "C" {
#endif

// vidstyle_imread is cv::imread(path, flags) into dst (a cv::Mat* passed
// as void*) with its C++ exceptions caught: gocv's IMRead lets one through,
// and an uncaught exception aborts the process (a picture whose header
// claims more than CV_IO_MAX_IMAGE_PIXELS, a damaged file a decoder
// throws on). It returns 0, or -1 with the exception's text in err (at
// most n bytes, NUL-terminated). What the decoders print on their own
// (libjpeg's "Premature end of JPEG file") is kept off the terminal and
// copied into said (at most m bytes, NUL-terminated).
int vidstyle_imread(const char* path, int flags, void* dst, char* err, int n, char* said, int m);

#ifdef __cplusplus
}
#endif
#endif
