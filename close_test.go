package vidstyle_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle"
)

// TestCloseRefusesWhileAJobIsOpen: Engine.Close with a job and a style
// set open says so and keeps ONNX Runtime, so that the job still runs;
// once they are closed, Close works. It returned nil and destroyed ONNX
// Runtime under them (a later Run failed in C).
func TestCloseRefusesWhileAJobIsOpen(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	job := smallJob(t, t.TempDir(), "o.mp4")
	job.Frames = 3
	tr, err := e.Open(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	set, err := e.Styles(context.Background(), vidstyle.StyleConfig{Model: "toon", FrameWidth: 64, FrameHeight: 36})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := e.Close(); !errors.Is(err, vidstyle.ErrInUse) || !strings.Contains(err.Error(), "2 style sets") {
		t.Fatalf("Close with a job and a style set open: %v, want ErrInUse naming 2 style sets", err)
	}
	set.Close()
	if err := e.Close(); !errors.Is(err, vidstyle.ErrInUse) || !strings.Contains(err.Error(), "1 style set ") {
		t.Fatalf("Close with a job open: %v, want ErrInUse naming 1 style set", err)
	}
	if res, err := tr.Run(context.Background()); err != nil || res.Frames != 3 {
		t.Fatalf("Run after the refused Close: %d frames, %v", res.Frames, err)
	}
	tr.Close()
	if err := e.Close(); err != nil {
		t.Fatalf("Close once all is closed: %v", err)
	}
}

// TestCloseForgetsTheBorrowedRuntime: after Close, the engine no longer
// takes its runtime for one given to UseRuntime, so that one it loads
// later is its own to close. borrowed stayed set, and such a runtime was
// never closed.
func TestCloseForgetsTheBorrowedRuntime(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	if _, err := e.Runtime(); err != nil || !vidstyle.Borrowed(e) {
		t.Fatalf("runtime %v, borrowed %v", err, vidstyle.Borrowed(e))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if vidstyle.Borrowed(e) {
		t.Error("still borrowed after Close")
	}
}
