package testmedia

import (
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/pipeline"
)

// FlakyCamera is a real source that poses as a camera and stops delivering
// after Left frames (never, if negative), as an unplugged webcam does. It
// counts the frames it delivered and notes when it is closed.
type FlakyCamera struct {
	capture.Source
	Left   int
	Reads  int
	Closed bool
}

// Props says it is a camera.
func (f *FlakyCamera) Props() capture.Props {
	p := f.Source.Props()
	p.Kind = capture.KindCamera
	return p
}

// Read delivers a frame of the source, or io.EOF once Left is used up.
func (f *FlakyCamera) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if f.Left == 0 {
		return pipeline.Timing{}, io.EOF
	}
	f.Left--
	tm, err := f.Source.Read(dst)
	if err == nil {
		f.Reads++
	}
	return tm, err
}

// Close closes the source.
func (f *FlakyCamera) Close() error {
	f.Closed = true
	return f.Source.Close()
}

// RSS is this process's resident memory in bytes (the test is skipped
// where /proc is missing).
func RSS(t testing.TB) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(data))[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
