#include <string>
#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>
#include "dis_cgo.h"

struct vidstyle_dis {
    cv::Ptr<cv::DISOpticalFlow> flow;
    std::string err;
};

vidstyle_dis* vidstyle_dis_new(int preset, int finest_scale) {
    try {
        vidstyle_dis* d = new vidstyle_dis;
        d->flow = cv::DISOpticalFlow::create(preset);
        if (finest_scale >= 0) {
            d->flow->setFinestScale(finest_scale);
        }
        return d;
    } catch (...) {
        return nullptr;
    }
}

int vidstyle_dis_calc(vidstyle_dis* d, void* prev, void* next, void* flow) {
    try {
        d->flow->calc(*static_cast<cv::Mat*>(prev), *static_cast<cv::Mat*>(next), *static_cast<cv::Mat*>(flow));
        return 0;
    } catch (const std::exception& e) {
        d->err = e.what();
    } catch (...) {
        d->err = "unknown C++ exception";
    }
    return -1;
}

const char* vidstyle_dis_error(vidstyle_dis* d) { return d->err.c_str(); }

void vidstyle_dis_free(vidstyle_dis* d) { delete d; }
