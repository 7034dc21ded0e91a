package capture

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "quiet_cgo.h"
*/
import "C"

// QuietOpenCV keeps OpenCV's own warnings (GStreamer and V4L2 probing when
// a camera or file does not open) off the terminal: vidstyle reports the
// failure itself, in one line. Unless OPENCV_LOG_LEVEL asks for more.
func QuietOpenCV() { C.vidstyle_opencv_errors_only() }
