package stream

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "window_cgo.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// ErrDisplay means there is no X display to open a window on.
var ErrDisplay = errors.New("no display")

// CheckDisplay makes sure an X display answers before any window call: with
// none, Qt aborts the whole process inside the first window call.
func CheckDisplay() error {
	if os.Getenv("QT_QPA_PLATFORM") == "offscreen" {
		return nil
	}
	display := os.Getenv("DISPLAY")
	if display == "" {
		return fmt.Errorf("%w: DISPLAY is not set, so the preview window cannot open; write a file with -out FILE instead", ErrDisplay)
	}
	host, rest, ok := strings.Cut(display, ":")
	num, _, _ := strings.Cut(rest, ".")
	if !ok || num == "" {
		return fmt.Errorf("%w: DISPLAY=%q is not host:number", ErrDisplay, display)
	}
	network, addr := "unix", "/tmp/.X11-unix/X"+num
	if host != "" && host != "unix" {
		var n int
		fmt.Sscan(num, &n)
		network, addr = "tcp", net.JoinHostPort(host, fmt.Sprint(6000+n))
	}
	conn, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%w: X display %s does not answer (%v); write a file with -out FILE instead", ErrDisplay, display, err)
	}
	conn.Close()
	return nil
}

// WindowConfig sets up RunWindow.
type WindowConfig struct {
	Title string
	// Frames are shown as they come; the newest wins.
	Frames *pipeline.Latest[*gocv.Mat]
	// OnKey gets each key press (OpenCV codes: ASCII for letters, digits,
	// space, 13 Enter, 27 Esc).
	OnKey func(key int)
	// OnShown is called after a frame is on screen.
	OnShown func(f pipeline.Frame[*gocv.Mat])
}

// RunWindow opens a window at the exact size of the frames and shows them
// until ctx is done or the user closes the window. Every window call runs
// on this goroutine's locked OS thread, as Qt requires.
func RunWindow(ctx context.Context, cfg WindowConfig) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := CheckDisplay(); err != nil {
		return err
	}
	title := C.CString(cfg.Title)
	defer C.free(unsafe.Pointer(title))
	C.vidstyle_named_window(title)
	w := gocv.NewWindow(cfg.Title)
	defer func() {
		w.Close()
		gocv.WaitKey(1)
	}()
	shown := false
	for ctx.Err() == nil {
		if f, ok := cfg.Frames.TryTake(); ok {
			w.IMShow(*f.Image.V)
			if cfg.OnShown != nil {
				cfg.OnShown(f)
			}
			f.Image.Release()
			shown = true
		}
		key := w.WaitKey(5)
		if key >= 0 && cfg.OnKey != nil {
			cfg.OnKey(key & 0xff)
		}
		if shown && w.GetWindowProperty(gocv.WindowPropertyVisible) < 1 {
			return nil // closed by the user
		}
	}
	return nil
}
