#include <opencv2/highgui.hpp>
#include "window_cgo.h"

void vidstyle_named_window(const char* name) {
    cv::namedWindow(name, cv::WINDOW_AUTOSIZE | cv::WINDOW_GUI_NORMAL);
}
