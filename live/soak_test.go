package live_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testwhep"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream/web"
)

// TestSoak runs the live path (small.mp4 looped as fast as it decodes,
// toon and pencil at 64x36) for VIDSTYLE_SOAK_FRAMES painted frames
// (default 1500; make soak runs 20000), switching style every 500 frames
// while three web viewers come and go. Resident memory stays flat after
// warm-up, goroutines return to their baseline, and no Mat is left open.
func TestSoak(t *testing.T) {
	frames := int64(1500)
	if v, err := strconv.ParseInt(os.Getenv("VIDSTYLE_SOAK_FRAMES"), 10, 64); err == nil && v > 0 {
		frames = v
	}
	baseGoroutines := runtime.NumGoroutine()
	log := slog.New(slog.DiscardHandler)
	src, err := capture.Open(testmedia.SmallMP4(t), log)
	if err != nil {
		t.Fatal(err)
	}
	p := src.Props()
	styles := builtinStyles(t, p.Width, p.Height, 64, 36, "toon", "pencil")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, base, stop := runWithWeb(t, ctx, live.Config{Source: src, Styles: styles, Loop: true, Unpaced: true, StatsPeriod: time.Hour, Log: log})

	var viewers []func()
	for range 3 {
		viewers = append(viewers, testwhep.Watch(t, base).Close)
	}
	var warmRSS, endRSS int64
	switches, churn := int64(0), int64(0)
	deadline := time.Now().Add(time.Duration(frames) * 20 * time.Millisecond)
	for n := e.Shown(); n < frames; n = e.Shown() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d frames painted in time", n, frames)
		}
		if n/500 > switches {
			switches++
			go e.Do(ctx, live.Command{Op: live.Next}) // answered once the switch is made; the loop goes on meanwhile
		}
		if n/300 > churn { // a viewer leaves, another joins
			churn++
			viewers[churn%3]()
			viewers[churn%3] = testwhep.Watch(t, base).Close
		}
		if warmRSS == 0 && n >= frames/2 { // warm-up: the first half
			warmRSS = testmedia.RSS(t)
		}
		time.Sleep(10 * time.Millisecond) // polling the counters, bounded by the deadline
	}
	endRSS = testmedia.RSS(t)
	for _, closeViewer := range viewers {
		closeViewer()
	}
	stop()
	styles.Close()

	growth := float64(endRSS-warmRSS) / float64(warmRSS)
	t.Logf("%d frames painted, %d dropped, %d style switches, %d viewer changes; RSS %d → %d MB (%+.1f %%)",
		e.Shown(), e.DroppedForTest(), switches, churn, warmRSS>>20, endRSS>>20, 100*growth)
	if growth > 0.10 || growth < -0.10 {
		t.Errorf("resident memory moved %.1f %% after warm-up", 100*growth)
	}
	end := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseGoroutines+3 && time.Now().Before(end) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseGoroutines+3 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d at the start, %d at the end\n%s", baseGoroutines, n, buf[:runtime.Stack(buf, true)])
	}
	mats := liveMatsForTest()
	t.Logf("goroutines: %d at the start, %d at the end; Mats open at the end: %d (counted: %v)", baseGoroutines, runtime.NumGoroutine(), mats, matsCounted)
	if mats > 0 {
		t.Errorf("%d Mats left open", mats)
	}
}

// TestAViewerWhoJoinsAfterTheEndSeesThePicture: a viewer who connects
// once the input has ended (the last picture held: an OBS scene switched
// to, a page reloaded) is sent that picture at once, as a keyframe. No
// packet came before: frames were only ever sent as they were painted.
func TestAViewerWhoJoinsAfterTheEndSeesThePicture(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	clip := filepath.Join(t.TempDir(), "short.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", testmedia.SmallMP4(t), "-frames:v", "5", "-vf", "scale=160:96",
		"-c:v", "libx264", "-preset", "ultrafast", "-an", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	src, err := capture.Open(clip, log)
	if err != nil {
		t.Fatal(err)
	}
	e, base, stop := runWithWeb(t, context.Background(), live.Config{Source: src, Styles: builtinStyles(t, 160, 96, 64, 36, "toon"),
		Unpaced: true, StatsPeriod: time.Hour, Log: log})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(e.State().Notice, "end of input") {
		if time.Now().After(deadline) {
			t.Fatalf("no end of input in 20 s (notice %q, %d shown)", e.State().Notice, e.Shown())
		}
		time.Sleep(20 * time.Millisecond)
	}
	v := testwhep.Watch(t, base)
	defer v.Close()
	if n := v.WaitPackets(1, 5*time.Second); n == 0 {
		t.Errorf("a viewer who joined after the end got no packet in 5 s (%d frames shown before)", e.Shown())
	}
	stop()
}

// runWithWeb starts an Engine of cfg with the web preview on a free
// loopback port and waits until it listens: the engine, the page's base
// URL, and stop, which ends Run and fails the test if it does not return
// within 20 s or returns an error.
func runWithWeb(t *testing.T, ctx context.Context, cfg live.Config) (*live.Engine, string, func()) {
	t.Helper()
	listening := make(chan string, 1)
	cfg.Web = &web.Config{Addr: "127.0.0.1:0"}
	cfg.OnListen = func(url string) { listening <- url }
	e, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	stop := func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return 20 s after its context ended")
		}
	}
	select {
	case url := <-listening:
		return e, strings.TrimSuffix(url, "/"), stop
	case err := <-done:
		cancel()
		t.Fatalf("live engine ended: %v", err)
	case <-time.After(20 * time.Second):
		stop()
		t.Fatal("the web preview did not start in 20 s")
	}
	return nil, "", nil
}
