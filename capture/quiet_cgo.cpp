#include <opencv2/core/utils/logger.hpp>
#include "quiet_cgo.h"

void vidstyle_opencv_errors_only(void) {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}
