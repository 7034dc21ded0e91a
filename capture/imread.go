package capture

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "imread_cgo.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the headers DecodeConfig reads, to name a picture's size
	_ "image/jpeg"
	_ "image/png"
	"log/slog"
	"os"
	"strings"
	"unsafe"

	"gocv.io/x/gocv"
)

// maxImagePixels is OpenCV's CV_IO_MAX_IMAGE_PIXELS default: the most
// pixels its readers decode (a gigapixel; 3 GB of BGR).
const maxImagePixels = 1 << 30

// errTooBig means a picture has more pixels than OpenCV reads.
var errTooBig = errors.New("the picture is bigger than vidstyle reads")

// imread is gocv.IMRead with OpenCV's exceptions turned into errors: an
// empty Mat and nil means OpenCV cannot read the file; errTooBig a picture
// whose header claims more than maxImagePixels (its size named when Go can
// read the header); another error, one a reader threw. The caller closes
// the Mat.
func imread(path string, flags gocv.IMReadFlag, log *slog.Logger) (gocv.Mat, error) {
	m := gocv.NewMat()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var buf, said [512]C.char
	rc := C.vidstyle_imread(cpath, C.int(flags), unsafe.Pointer(m.Ptr()), &buf[0], C.int(len(buf)), &said[0], C.int(len(said)))
	if s := strings.TrimSpace(C.GoString(&said[0])); s != "" && log != nil {
		log.Debug(fmt.Sprintf("input %s: the decoder said: %s", path, strings.ReplaceAll(s, "\n", "; ")))
	}
	if rc == 0 {
		return m, nil
	}
	m.Close()
	msg := C.GoString(&buf[0])
	if strings.Contains(msg, "CV_IO_MAX_IMAGE_PIXELS") {
		size := ""
		if f, err := os.Open(path); err == nil {
			if cfg, _, err := image.DecodeConfig(f); err == nil {
				size = fmt.Sprintf(" (%dx%d, %.1f gigapixels)", cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e9)
			}
			f.Close()
		}
		return gocv.NewMat(), fmt.Errorf("%w%s: at most %.2f gigapixels", errTooBig, size, maxImagePixels/1e9)
	}
	if i := strings.LastIndex(msg, ") "); i >= 0 && strings.Contains(msg, "OpenCV(") {
		msg = msg[i+2:] // "OpenCV(4.6.0) /…/file.cpp:123: error: (-215:Assertion failed) what in function 'f'"
	}
	return gocv.NewMat(), fmt.Errorf("OpenCV: %s", strings.TrimSpace(msg))
}
