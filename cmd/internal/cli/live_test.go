package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/cmd/internal/testmedia"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/pipeline"
)

// flakyCamera is a real file source that poses as a camera and stops
// delivering after a number of frames, as an unplugged webcam does.
type flakyCamera struct {
	capture.Source
	left int
}

func (f *flakyCamera) Props() capture.Props {
	p := f.Source.Props()
	p.Kind = capture.KindCamera
	return p
}

func (f *flakyCamera) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if f.left == 0 {
		return pipeline.Timing{}, io.EOF
	}
	f.left--
	return f.Source.Read(dst)
}

// syncBuffer is a log sink read while it is written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLostCameraIsRetriedUntilItComesBack: 20 frames, then nothing; the
// first two reopens fail, the third works and frames flow again.
func TestLostCameraIsRetriedUntilItComesBack(t *testing.T) {
	open := func(n int) capture.Source {
		src, err := capture.Open(testmedia.SmallMP4(t), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return &flakyCamera{Source: src, left: n}
	}
	var logs syncBuffer
	newMat := func() *gocv.Mat { m := gocv.NewMat(); return &m }
	lv := &live{
		log: slog.New(slog.NewTextHandler(&logs, nil)), src: open(20),
		frames: pipeline.NewLatest[*gocv.Mat](), in: pipeline.NewPool(newMat, func(m *gocv.Mat) { m.Close() }),
	}
	attempts := 0
	var reopened []capture.Source
	lv.reopen = func() (capture.Source, error) {
		attempts++
		if attempts < 3 {
			return nil, io.ErrUnexpectedEOF
		}
		s := open(-1)
		reopened = append(reopened, s)
		return s, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lv.capture(ctx)
	}()
	got, sawNotice := 0, false
	deadline := time.After(20 * time.Second)
	look := time.NewTicker(10 * time.Millisecond) // the outage lasts over a second: the state is looked at meanwhile
	defer look.Stop()
	for got < 40 {
		select {
		case <-lv.frames.Ready():
			if f, ok := lv.frames.TryTake(); ok {
				f.Image.Release()
				got++
			}
		case <-look.C:
		case <-deadline:
			t.Fatalf("%d frames after 20 s; log:\n%s", got, logs.String())
		}
		// The web page's state carries the notice the window's HUD shows.
		sawNotice = sawNotice || lv.State().Notice == "camera lost - retrying"
	}
	cancel()
	<-done
	lv.src.Close()
	lv.frames.Close()
	lv.in.Close()
	if lv.State().Notice != "" {
		t.Errorf("notice %q after the camera came back", lv.State().Notice)
	}
	if attempts != 3 || !sawNotice || !strings.Contains(logs.String(), "stopped delivering frames") || !strings.Contains(logs.String(), "is back") {
		t.Fatalf("attempts %d, notice seen %v, log:\n%s", attempts, sawNotice, logs.String())
	}
	if !strings.Contains(logs.String(), "retrying in 500ms") {
		t.Errorf("no backoff in the log:\n%s", logs.String())
	}
	if len(reopened) != 1 || lv.src != reopened[0] {
		t.Errorf("the reopened source is not in use")
	}
}
