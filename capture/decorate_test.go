package capture_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// openSmall opens gocv's small.mp4 (560x320, 30 fps, 166 frames); it is
// closed when the test ends (closing it twice is harmless).
func openSmall(t *testing.T) capture.Source {
	t.Helper()
	src, err := capture.Open(testmedia.SmallMP4(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// TestReconnectRetriesUntilTheCameraComesBack: 20 frames, then nothing;
// the first two reopens fail, the third works and frames flow again from
// the new source, the old one closed. The wait doubles between tries.
func TestReconnectRetriesUntilTheCameraComesBack(t *testing.T) {
	first := &testmedia.FlakyCamera{Source: openSmall(t), Left: 20}
	attempts := 0
	var reopened []*testmedia.FlakyCamera
	var lost []error
	var waits []time.Duration
	backs := 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src := capture.Reconnect(ctx, first, capture.ReconnectConfig{
		Open: func() (capture.Source, error) {
			attempts++
			if attempts < 3 {
				return nil, io.ErrUnexpectedEOF
			}
			s := &testmedia.FlakyCamera{Source: openSmall(t), Left: -1}
			reopened = append(reopened, s)
			return s, nil
		},
		OnLost: func(err error, wait time.Duration) { lost, waits = append(lost, err), append(waits, wait) },
		OnBack: func() { backs++ },
	})
	frame := gocv.NewMat()
	defer frame.Close()
	got := 0
	for got < 40 {
		if _, err := src.Read(&frame); err != nil {
			t.Fatalf("after %d frames: %v (attempts %d, waits %v)", got, err, attempts, waits)
		}
		got++
	}
	if attempts != 3 || backs != 1 {
		t.Fatalf("attempts %d, back %d times; want 3 and 1", attempts, backs)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] || !errors.Is(lost[i], io.EOF) {
			t.Errorf("retry %d: waited %v after %v, want %v after EOF", i+1, waits[i], lost[i], want[i])
		}
	}
	if len(reopened) != 1 || reopened[0].Reads != 20 || first.Reads != 20 {
		t.Fatalf("the reopened source is not in use: %d reopened, frames %d from the first source, %d from the new one", len(reopened), first.Reads, reopened[0].Reads)
	}
	if !first.Closed || reopened[0].Closed {
		t.Errorf("after the reopen: old source closed %v, new one closed %v", first.Closed, reopened[0].Closed)
	}
	if src.Props().Kind != capture.KindCamera {
		t.Errorf("props: %+v", src.Props())
	}
	src.Close()
	if !reopened[0].Closed {
		t.Error("Close left the source in use open")
	}
}

// TestReconnectEndsWithTheContext: a camera that never comes back ends
// Read with ctx's error once ctx ends.
func TestReconnectEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	src := capture.Reconnect(ctx, &testmedia.FlakyCamera{Source: openSmall(t), Left: 0}, capture.ReconnectConfig{
		Open: func() (capture.Source, error) { return nil, io.ErrUnexpectedEOF },
	})
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	if _, err := src.Read(&frame); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
}

// TestReconnectWaitsStayWithinMax: the wait doubles from First up to Max,
// and a Max below First means First.
func TestReconnectWaitsStayWithinMax(t *testing.T) {
	for _, c := range []struct {
		first, max time.Duration
		want       []time.Duration
	}{
		{time.Millisecond, 4 * time.Millisecond, []time.Duration{1, 2, 4, 4, 4}},
		{4 * time.Millisecond, time.Millisecond, []time.Duration{4, 4, 4, 4, 4}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var waits []time.Duration
		src := capture.Reconnect(ctx, &testmedia.FlakyCamera{Source: openSmall(t), Left: 0}, capture.ReconnectConfig{
			Open:  func() (capture.Source, error) { return nil, io.ErrUnexpectedEOF },
			First: c.first, Max: c.max,
			OnLost: func(_ error, wait time.Duration) {
				waits = append(waits, wait)
				if len(waits) == len(c.want) {
					cancel()
				}
			},
		})
		frame := gocv.NewMat()
		src.Read(&frame)
		frame.Close()
		cancel()
		for i := range c.want {
			c.want[i] *= time.Millisecond
		}
		if fmt.Sprint(waits) != fmt.Sprint(c.want) {
			t.Errorf("first %v, max %v: waits %v, want %v", c.first, c.max, waits, c.want)
		}
	}
}

// TestLimit: n frames, then io.EOF; n <= 0 leaves the source as it is.
func TestLimit(t *testing.T) {
	file := openSmall(t)
	if capture.Limit(file, 0) != file || capture.Limit(file, -1) != file {
		t.Fatal("Limit with no limit wrapped the source")
	}
	src := capture.Limit(file, 5)
	frame := gocv.NewMat()
	defer frame.Close()
	for i := range 5 {
		tm, err := src.Read(&frame)
		if err != nil || tm.Index != int64(i) {
			t.Fatalf("frame %d: %+v %v", i, tm, err)
		}
	}
	if _, err := src.Read(&frame); !errors.Is(err, io.EOF) {
		t.Fatalf("after 5 frames: %v, want io.EOF", err)
	}
	if src.Props() != file.Props() {
		t.Errorf("props %+v, want %+v", src.Props(), file.Props())
	}
}

// TestLoop: across the end of small.mp4 the frame indices keep counting,
// the presentation times keep increasing, and onLoop runs once.
func TestLoop(t *testing.T) {
	file := openSmall(t)
	total := int(file.Props().Frames)
	if total <= 0 {
		t.Fatalf("props %+v: no frame count", file.Props())
	}
	loops := 0
	src := capture.Loop(file, func() { loops++ })
	frame := gocv.NewMat()
	defer frame.Close()
	var last time.Duration
	for i := range total + 20 {
		tm, err := src.Read(&frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if tm.Index != int64(i) {
			t.Fatalf("frame %d has index %d", i, tm.Index)
		}
		if i > 0 && tm.PTS <= last {
			t.Fatalf("frame %d: PTS %v after %v", i, tm.PTS, last)
		}
		last = tm.PTS
	}
	if loops != 1 {
		t.Fatalf("onLoop ran %d times in %d frames of a %d-frame file", loops, total+20, total)
	}
	// The second round goes on from the first's end: past 166 frames at 30 fps.
	if due := time.Duration(total+19) * time.Second / 30; last < due-time.Millisecond {
		t.Errorf("PTS of frame %d is %v, want at least %v", total+19, last, due)
	}
}

// TestPace: no frame is delivered before its presentation time has come
// on the wall clock (a lower bound only: a loaded machine may be late), and
// ending ctx ends a wait.
func TestPace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := capture.Pace(ctx, openSmall(t))
	frame := gocv.NewMat()
	defer frame.Close()
	start := time.Now()
	var first time.Duration
	for i := range 10 {
		tm, err := src.Read(&frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i == 0 {
			first = tm.PTS
		}
		if el, due := time.Since(start), tm.PTS-first; el < due {
			t.Fatalf("frame %d delivered %v after the start, due at %v", i, el, due)
		}
	}
	cancel() // the next frame is due some 33 ms on: the wait ends with ctx
	if _, err := src.Read(&frame); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

// TestReconnectToASourceThatGivesNoFrames: a source that opens again but
// gives no frame (a server that answers, then fails the file) is retried
// at the growing wait, and is not called back until a frame comes. Before,
// each open that worked reset the wait to 250 ms and said "is back": about
// 30 decoder starts in 14 s, and a line each time.
func TestReconnectToASourceThatGivesNoFrames(t *testing.T) {
	first := &testmedia.FlakyCamera{Source: openSmall(t), Left: 2}
	attempts, backs := 0, 0
	var waits []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src := capture.Reconnect(ctx, first, capture.ReconnectConfig{
		Open: func() (capture.Source, error) {
			attempts++
			left := 0 // opens, gives nothing
			if attempts == 4 {
				left = -1
			}
			return &testmedia.FlakyCamera{Source: openSmall(t), Left: left}, nil
		},
		OnLost: func(_ error, wait time.Duration) { waits = append(waits, wait) },
		OnBack: func() { backs++ },
		First:  10 * time.Millisecond, Max: 80 * time.Millisecond,
	})
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for got := range 4 {
		if _, err := src.Read(&frame); err != nil {
			t.Fatalf("after %d frames: %v", got, err)
		}
		if got < 2 && backs != 0 {
			t.Fatalf("called back before the source was lost")
		}
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
	if attempts != 4 || backs != 1 || !slices.Equal(waits, want) {
		t.Errorf("attempts %d, back %d times, waits %v; want 4, once, %v", attempts, backs, waits, want)
	}
}

// TestFileOverHTTPLoopsAsAFileDoes: a video file served over HTTP (one
// with a length, Rereadable) rewinds and loops as a local file does. Live
// mode used to take its end for a lost stream: a warning, a reconnect and
// a stall at every loop, and a restart even without -loop.
func TestFileOverHTTPLoopsAsAFileDoes(t *testing.T) {
	clip := testmedia.SmallMP4(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, clip)
	}))
	defer srv.Close()
	src, err := capture.Open(srv.URL+"/small.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !capture.Rereadable(src.Props()) || src.Props().Kind != capture.KindStream {
		t.Fatalf("props %+v: want a stream that is a file", src.Props())
	}
	total := int(src.Props().Frames)
	loops := 0
	looped := capture.Loop(src, func() { loops++ })
	defer looped.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := range total + 10 {
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("frame %d of %d+10: %v (loops %d)", i, total, err, loops)
		}
	}
	if loops != 1 {
		t.Errorf("%d loops in %d+10 frames", loops, total)
	}
}
