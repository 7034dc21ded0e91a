// Package flow computes dense optical flow with OpenCV's DIS method
// (Kroeger et al. 2016, "Fast Optical Flow using Dense Inverse Search"),
// cv::DISOpticalFlow, which gocv v0.31 does not bind: a small cgo shim
// over Debian's OpenCV 4.6, built through pkg-config like the other shims.
//
// The temporal stabiliser uses it to carry the previous stylized frame
// onto the next one. A DIS keeps its pyramids and buffers between calls,
// so computing flow on frames of one size allocates nothing after the
// first call.
package flow

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "dis_cgo.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"gocv.io/x/gocv"
)

// Errors callers can test with errors.Is.
var (
	// ErrClosed means a DIS was used after Close.
	ErrClosed = errors.New("flow: closed")
	// ErrInput means the frames or the flow Mat do not fit (size, type).
	ErrInput = errors.New("flow: input")
	// ErrOpenCV means OpenCV failed; the error keeps its message.
	ErrOpenCV = errors.New("flow: OpenCV")
)

// Preset is one of OpenCV's DIS speed/quality presets.
type Preset int

// The presets, fastest first. Measured here: ultrafast flow leaves trails
// on moving people; medium costs about 8 ms at 320×240 on one core.
const (
	PresetUltrafast Preset = 0
	PresetFast      Preset = 1
	PresetMedium    Preset = 2
)

// DIS is one cv::DISOpticalFlow. It is safe for use by one goroutine at a
// time per call (calls are serialized); Close frees it.
type DIS struct {
	mu sync.Mutex
	p  *C.vidstyle_dis
}

// NewDIS makes a DIS flow with preset and, when finestScale ≥ 0, that
// finest pyramid level (0: full resolution; each level halves it).
// Presets fast and ultrafast stop at level 2 by default; 1 keeps the
// detail moving people need.
func NewDIS(preset Preset, finestScale int) (*DIS, error) {
	if preset < PresetUltrafast || preset > PresetMedium {
		return nil, fmt.Errorf("%w: no DIS preset %d", ErrInput, preset)
	}
	p := C.vidstyle_dis_new(C.int(preset), C.int(finestScale))
	if p == nil {
		return nil, fmt.Errorf("%w: cv::DISOpticalFlow::create failed", ErrOpenCV)
	}
	return &DIS{p: p}, nil
}

// Calc computes the flow from prev to next, two grey (CV_8UC1) frames of
// one size, into dst, a caller-owned CV_32FC2 Mat of that size: dst at
// (x, y) is the displacement (dx, dy) that takes prev's pixel at (x, y)
// to where it is in next, so next(x+dx, y+dy) ≈ prev(x, y).
func (d *DIS) Calc(prev, next gocv.Mat, dst *gocv.Mat) error {
	if err := checkPair(prev, next, dst); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return ErrClosed
	}
	if C.vidstyle_dis_calc(d.p, unsafe.Pointer(prev.Ptr()), unsafe.Pointer(next.Ptr()), unsafe.Pointer(dst.Ptr())) != 0 {
		return fmt.Errorf("%w: DIS calc: %s", ErrOpenCV, C.GoString(C.vidstyle_dis_error(d.p)))
	}
	return nil
}

// checkPair checks two grey frames of one size and a CV_32FC2 flow Mat of
// that size.
func checkPair(prev, next gocv.Mat, dst *gocv.Mat) error {
	switch {
	case prev.Empty() || next.Empty():
		return fmt.Errorf("%w: an empty frame", ErrInput)
	case prev.Type() != gocv.MatTypeCV8UC1 || next.Type() != gocv.MatTypeCV8UC1:
		return fmt.Errorf("%w: frames must be grey CV_8UC1, got types %v and %v", ErrInput, prev.Type(), next.Type())
	case prev.Rows() != next.Rows() || prev.Cols() != next.Cols():
		return fmt.Errorf("%w: frames of %dx%d and %dx%d", ErrInput, prev.Cols(), prev.Rows(), next.Cols(), next.Rows())
	case dst == nil || dst.Type() != gocv.MatTypeCV32FC2 || dst.Rows() != prev.Rows() || dst.Cols() != prev.Cols():
		return fmt.Errorf("%w: the flow Mat must be a %dx%d CV_32FC2", ErrInput, prev.Cols(), prev.Rows())
	}
	return nil
}

// Close frees the C object. It is idempotent; Calc after Close returns
// ErrClosed.
func (d *DIS) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p != nil {
		C.vidstyle_dis_free(d.p)
		d.p = nil
	}
	return nil
}
