package stream

/*
#cgo !windows pkg-config: opencv4 x11 xinerama
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "window_cgo.h"
#include "screen_cgo.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
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
	// Log says when the picture is scaled down to fit the screen (nil:
	// not said).
	Log *slog.Logger
}

// FitScreen is the size a picture of w×h is shown at on a screen of
// sw×sh: its own when it fits in 95% of the width and 90% of the height
// (the rest is for the window's title bar and the desktop's panels),
// else scaled down to fit them, the aspect kept and the sides even. An
// unknown screen (zero) shows every picture at its own size.
func FitScreen(w, h, sw, sh int) (int, int) {
	if sw <= 0 || sh <= 0 || w <= 0 || h <= 0 {
		return w, h
	}
	scale := math.Min(float64(sw)*0.95/float64(w), float64(sh)*0.90/float64(h))
	if scale >= 1 {
		return w, h
	}
	// Rounded to even, never above the room there is nor the picture's
	// own side (a picture 1 pixel high stays 1).
	even := func(v float64, room float64, own int) int {
		e := int(math.Round(v/2)) * 2
		if float64(e) > room {
			e -= 2
		}
		return min(own, max(2, e))
	}
	return even(float64(w)*scale, float64(sw)*0.95, w), even(float64(h)*scale, float64(sh)*0.90, h)
}

// screenSize is the size of DISPLAY's default screen (of its first
// monitor, the primary, when it has several), or zeros when it cannot be
// learnt (an offscreen Qt, a display that does not open).
func screenSize() (int, int) {
	var w, h C.int
	if C.vidstyle_screen_size(&w, &h) == 0 {
		return 0, 0
	}
	return int(w), int(h)
}

// RunWindow opens a window at the exact size of the frames and shows them
// until ctx is done or the user closes the window; a picture larger than
// the screen (a 4K camera or file on a 1080p screen) is scaled down to fit
// it (FitScreen), the frames themselves untouched. Every window call runs
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
	sw, sh := screenSize()
	fitted := gocv.NewMat() // a picture scaled down to the screen
	defer fitted.Close()
	var told image.Point // the picture size last logged as scaled
	shown := false
	for ctx.Err() == nil {
		if f, ok := cfg.Frames.TryTake(); ok {
			m := *f.Image.V
			if fw, fh := FitScreen(m.Cols(), m.Rows(), sw, sh); fw != m.Cols() || fh != m.Rows() {
				gocv.Resize(m, &fitted, image.Pt(fw, fh), 0, 0, gocv.InterpolationArea)
				if size := image.Pt(m.Cols(), m.Rows()); size != told && cfg.Log != nil {
					told = size
					cfg.Log.Info(fmt.Sprintf("window: the %dx%d picture is shown at %dx%d to fit the %dx%d screen (snapshots and outputs keep the full size)", m.Cols(), m.Rows(), fw, fh, sw, sh))
				}
				m = fitted
			}
			w.IMShow(m)
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
