#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include "imread_cgo.h"

static void keep(const char* what, char* err, int n) {
    if (n > 0) {
        std::strncpy(err, what, n - 1);
        err[n - 1] = 0;
    }
}

// hush sends file descriptor 2 to a memory file while a decoder runs:
// libjpeg prints "Premature end of JPEG file", OpenCV "imread_(…): can't
// read header", libpng "Read Error" there on their own, where vidstyle
// says what is wrong in one line. Descriptor 2 is the process's: what
// another thread writes there meanwhile goes to the memory file too (a
// picture is decoded as a job opens, before its progress lines start).
// It returns the memory file (or -1) and the saved descriptor 2 in *saved.
static int hush(int* saved) {
    std::fflush(stderr);
    std::cerr.flush();
    *saved = -1;
    int fd = memfd_create("vidstyle-decoder", MFD_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    *saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (*saved < 0 || dup2(fd, 2) < 0) {
        if (*saved >= 0) {
            close(*saved);
            *saved = -1;
        }
        close(fd);
        return -1;
    }
    return fd;
}

// unhush puts descriptor 2 back and copies what was written (at most n
// bytes, NUL-terminated) into said.
static void unhush(int fd, int saved, char* said, int n) {
    if (fd < 0) {
        return;
    }
    std::fflush(stderr);
    std::cerr.flush();
    dup2(saved, 2);
    close(saved);
    if (n > 0) {
        ssize_t got = pread(fd, said, n - 1, 0);
        said[got > 0 ? got : 0] = 0;
    }
    close(fd);
}

int vidstyle_imread(const char* path, int flags, void* dst, char* err, int n, char* said, int m) {
    int saved;
    int fd = hush(&saved);
    int rc = -1;
    try {
        *static_cast<cv::Mat*>(dst) = cv::imread(path, flags);
        rc = 0;
    } catch (const std::exception& e) {
        keep(e.what(), err, n); // while e lives
    } catch (...) {
        keep("unknown C++ exception", err, n);
    }
    unhush(fd, saved, said, m);
    return rc;
}
