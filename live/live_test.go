package live_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/live"
)

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
// first two reopens fail, the third works (small.mp4 played round and
// round at its frame rate, as a camera delivers) and frames are shown
// again. Meanwhile the state the web page and the HUD show carries the
// notice, and it is gone once the camera is back.
func TestLostCameraIsRetriedUntilItComesBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := testmedia.SmallMP4(t)
	open := func(n int, decorate func(capture.Source) capture.Source) (capture.Source, error) {
		src, err := capture.Open(file, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return &testmedia.FlakyCamera{Source: decorate(src), Left: n}, nil
	}
	var attempts atomic.Int32
	reopen := func() (capture.Source, error) {
		if attempts.Add(1) < 3 {
			return nil, io.ErrUnexpectedEOF
		}
		return open(-1, func(s capture.Source) capture.Source { return capture.Pace(ctx, capture.Loop(s, nil)) })
	}
	var logs syncBuffer
	src, err := open(20, func(s capture.Source) capture.Source { return s })
	if err != nil {
		t.Fatal(err)
	}
	e, err := live.New(live.Config{Source: src, Reopen: reopen, Styles: builtinStyles(t, 560, 320, 64, 36, "toon"),
		StatsPeriod: time.Hour, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}

	// The outage lasts over a second (250 + 500 + 1000 ms of waits): the
	// state is looked at meanwhile.
	sawNotice, back := false, false
	var shownBack int64
	deadline := time.Now().Add(20 * time.Second)
	for !back || e.Shown() <= shownBack+10 {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("after 20 s: notice seen %v, back %v, %d frames shown (%d when back), %d reopens; log:\n%s",
				sawNotice, back, e.Shown(), shownBack, attempts.Load(), logs.String())
		}
		switch notice := e.State().Notice; {
		case notice == "camera lost - retrying":
			sawNotice = true
		case notice == "" && sawNotice && !back:
			back, shownBack = true, e.Shown()
		case notice != "":
			stop()
			t.Fatalf("notice %q; log:\n%s", notice, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.State().Notice; n != "" {
		t.Errorf("notice %q after the camera came back", n)
	}
	stop()
	if attempts.Load() != 3 || !strings.Contains(logs.String(), "stopped delivering frames") || !strings.Contains(logs.String(), "is back") {
		t.Fatalf("attempts %d, log:\n%s", attempts.Load(), logs.String())
	}
	if !strings.Contains(logs.String(), "retrying in 500ms") {
		t.Errorf("no backoff in the log:\n%s", logs.String())
	}
}

// TestStopWhileAStreamStalls: a live network stream whose server sends a
// part and then nothing holds its read for ffmpeg's timeout (15 s); a stop
// (Ctrl-C) ends it at once, without calling the stream lost. It took
// 10-12 s, a second Ctrl-C included.
func TestStopWhileAStreamStalls(t *testing.T) {
	url := testmedia.StallingStream(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	src, err := capture.Open(url, log)
	if err != nil {
		t.Fatal(err)
	}
	e, err := live.New(live.Config{Source: src, Reopen: func() (capture.Source, error) { return capture.Open(url, log) },
		Unpaced: true, Styles: builtinStyles(t, 160, 96, 64, 36, "toon"), StatsPeriod: time.Hour, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	// Unpaced, the part sent is painted at once; then the reads wait.
	shown := e.Shown()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%d frames shown, none for a second, in 30 s; log:\n%s", e.Shown(), logs.String())
		}
		time.Sleep(time.Second)
		if n := e.Shown(); n > 0 && n == shown {
			break // stalled
		} else {
			shown = n
		}
	}
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waits on the stalled stream 10 s after the stop")
	}
	if d := time.Since(stopped); d > 3*time.Second {
		t.Errorf("the stop took %v with the stream stalled, want under 3 s", d)
	}
	if strings.Contains(logs.String(), "stopped delivering frames") {
		t.Errorf("a stream stopped on purpose was called lost:\n%s", logs.String())
	}
}
