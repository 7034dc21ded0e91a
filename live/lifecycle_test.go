package live_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stream/web"
)

// closeCounted is a source that counts its Closes and calls onClose, if
// set, first.
type closeCounted struct {
	capture.Source
	closes  atomic.Int32
	onClose func()
}

func (c *closeCounted) Close() error {
	c.closes.Add(1)
	if c.onClose != nil {
		c.onClose()
	}
	return c.Source.Close()
}

// openSmall opens small.mp4, counting the source's Closes.
func openSmall(t *testing.T) *closeCounted {
	t.Helper()
	src, err := capture.Open(testmedia.SmallMP4(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &closeCounted{Source: src}
}

// TestOnStartCommandsApplyBeforeTheFirstFrame: commands OnStart sends and
// waits for are answered (before, OnStart was called before the paint
// loop ran, and a command waited for ever), and no frame is painted
// before they took effect.
func TestOnStartCommandsApplyBeforeTheFirstFrame(t *testing.T) {
	src := openSmall(t)
	p := src.Props()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var styleSt, strengthSt web.State
	var styleErr, strengthErr error
	shownInOnStart := int64(-1)
	e, err := live.New(live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon", "pencil"),
		Unpaced: true, StopAtEnd: true, StatsPeriod: time.Hour,
		OnStart: func(l *live.Engine) {
			styleSt, styleErr = l.SetStyle(ctx, 1)
			strengthSt, strengthErr = l.SetStrength(ctx, 0.5)
			shownInOnStart = l.Shown()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if styleErr != nil || styleSt.Style != 1 || strengthErr != nil || strengthSt.Strength != 0.5 {
		t.Fatalf("from OnStart: style %+v (%v), strength %+v (%v)", styleSt, styleErr, strengthSt, strengthErr)
	}
	if shownInOnStart != 0 {
		t.Errorf("%d frames shown before OnStart returned", shownInOnStart)
	}
	if st := e.State(); st.Style != 1 || st.Strength != 0.5 || e.Shown() == 0 {
		t.Errorf("after Run: %+v, %d frames shown", st, e.Shown())
	}
}

// TestCloseFreesAnEngineNotRun: an Engine made and not run frees its
// source on Close (it kept an ffmpeg child and its goroutines); after it,
// Do says stopped and Run fails; after Run, Close does nothing.
func TestCloseFreesAnEngineNotRun(t *testing.T) {
	src := openSmall(t)
	p := src.Props()
	styles := builtinStyles(t, p.Width, p.Height, 64, 36, "toon")
	e, err := live.New(live.Config{Source: src, Styles: styles})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	e.Close()
	if n := src.closes.Load(); n != 1 {
		t.Fatalf("source closed %d times by Close, want 1", n)
	}
	if _, err := e.Do(context.Background(), live.Command{Op: live.Next}); !errors.Is(err, live.ErrStopped) {
		t.Errorf("Do after Close: %v", err)
	}
	if err := e.Run(context.Background()); err == nil {
		t.Error("Run after Close: no error")
	}

	// Run, then Close: the source is closed once, by Run; a second Run fails.
	src = openSmall(t)
	if e, err = live.New(live.Config{Source: src, Styles: styles, Unpaced: true, StopAtEnd: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if n := src.closes.Load(); n != 1 {
		t.Errorf("source closed %d times by Run and Close, want 1", n)
	}
	if err := e.Run(context.Background()); err == nil {
		t.Error("a second Run: no error")
	}
}

// TestRunStopsTheWebPreviewWhenPublishFails: a publish target that is
// refused after the web preview started ends Run with the error, and the
// preview's server is closed before the source is, and so before Run
// returns (Run returned with the server's goroutines still running, and
// closed the source under them).
func TestRunStopsTheWebPreviewWhenPublishFails(t *testing.T) {
	src := openSmall(t)
	p := src.Props()
	var page string
	listening := false
	src.onClose = func() {
		u, err := url.Parse(page)
		if err != nil || u.Host == "" {
			return // the test says so below
		}
		if c, err := net.Dial("tcp", u.Host); err == nil {
			c.Close()
			listening = true
		}
	}
	e, err := live.New(live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon"),
		Web: &web.Config{Addr: "127.0.0.1:0"}, OnListen: func(u string) { page = u },
		Publish: &stream.PublishConfig{Target: "bogus://x"}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Run(context.Background())
	if !errors.Is(err, stream.ErrOutput) {
		t.Fatalf("Run: %v, want the publish target's error", err)
	}
	u, err := url.Parse(page)
	if err != nil || u.Host == "" {
		t.Fatalf("the preview's URL %q: %v", page, err)
	}
	if listening {
		t.Errorf("the web preview still listened on %s when the source was closed", u.Host)
	}
	if n := src.closes.Load(); n != 1 {
		t.Errorf("source closed %d times, want 1", n)
	}
}

// readCounted counts a source's reads.
type readCounted struct {
	capture.Source
	reads atomic.Int64
}

func (r *readCounted) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	r.reads.Add(1)
	return r.Source.Read(dst)
}

// TestFramesEndsTheInput: Frames ends the input after that many frames,
// as its end does (-frames was ignored by every live path: a file
// published once went out whole).
func TestFramesEndsTheInput(t *testing.T) {
	src := &readCounted{Source: openSmall(t)}
	p := src.Props()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := live.New(live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon"),
		Unpaced: true, StopAtEnd: true, StatsPeriod: time.Hour, Frames: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := src.reads.Load(); n != 7 {
		t.Errorf("%d frames read, want 7", n)
	}
}
