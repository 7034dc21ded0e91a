#include <cstring>
#include <exception>
#include <opencv2/imgcodecs.hpp>
#include "imread_cgo.h"

static void keep(const char* what, char* err, int n) {
    if (n > 0) {
        std::strncpy(err, what, n - 1);
        err[n - 1] = 0;
    }
}

int vidstyle_imread(const char* path, int flags, void* dst, char* err, int n) {
    try {
        *static_cast<cv::Mat*>(dst) = cv::imread(path, flags);
        return 0;
    } catch (const std::exception& e) {
        keep(e.what(), err, n); // while e lives
    } catch (...) {
        keep("unknown C++ exception", err, n);
    }
    return -1;
}
