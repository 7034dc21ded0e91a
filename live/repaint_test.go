package live_test

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream/web"
)

// logEvents is a log sink that tells when a line holding a given text has
// been written.
type logEvents struct {
	mu    sync.Mutex
	lines []string
	wait  map[string]chan struct{}
}

func (l *logEvents) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	for text, ch := range l.wait {
		if strings.Contains(string(p), text) {
			close(ch)
			delete(l.wait, text)
		}
	}
	return len(p), nil
}

// on returns a channel closed once a line holding text is written (at once
// if one was).
func (l *logEvents) on(text string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	for _, line := range l.lines {
		if strings.Contains(line, text) {
			close(ch)
			return ch
		}
	}
	if l.wait == nil {
		l.wait = map[string]chan struct{}{}
	}
	l.wait[text] = ch
	return ch
}

func (l *logEvents) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

// TestAChangeShowsWhenNoFrameComes: paused, or at the end of the input, a
// style switched to and colour preservation turned on show at once on the
// picture held, as the snapshot (what the window shows) proves: before,
// the picture kept the old style until a new frame came, which at the end
// of a file is never.
func TestAChangeShowsWhenNoFrameComes(t *testing.T) {
	t.Run("paused", func(t *testing.T) {
		src, err := capture.Open(testmedia.SmallMP4(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := src.Props()
		checkRepaint(t, live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon", "pencil"), Loop: true},
			"first frame painted", true)
	})
	t.Run("at the end", func(t *testing.T) {
		clip := filepath.Join(t.TempDir(), "short.mp4")
		if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", testmedia.SmallMP4(t), "-frames:v", "5", "-vf", "scale=160:96",
			"-c:v", "libx264", "-preset", "ultrafast", "-an", clip).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		src, err := capture.Open(clip, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkRepaint(t, live.Config{Source: src, Styles: builtinStyles(t, 160, 96, 64, 36, "toon", "pencil"), Unpaced: true},
			"end of input", false)
	})
}

// runUntil runs an engine on cfg (its log kept, at debug level) until a
// line of its log holds ready, failing after a minute; the test's end
// stops it and checks that Run ended without an error.
func runUntil(t *testing.T, cfg live.Config, ready string) (*live.Engine, context.Context, *logEvents) {
	t.Helper()
	logs := &logEvents{}
	cfg.StatsPeriod, cfg.Log = time.Hour, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-logs.on(ready):
	case <-ctx.Done():
		t.Fatalf("no %q in the log in a minute:\n%s", ready, logs.String())
	}
	return e, ctx, logs
}

// checkRepaint runs cfg until its log says ready, pauses it if asked, and
// then switches style and colours, taking a snapshot after each step.
func checkRepaint(t *testing.T, cfg live.Config, ready string, pause bool) {
	t.Helper()
	dir := t.TempDir()
	cfg.Snapshots = dir
	e, ctx, _ := runUntil(t, cfg, ready)
	do := func(cmd live.Command) {
		t.Helper()
		if _, err := e.Do(ctx, cmd); err != nil {
			t.Fatalf("%+v: %v", cmd, err)
		}
	}
	seen := map[string]bool{}
	snap := func() gocv.Mat {
		t.Helper()
		do(live.Command{Op: live.Snapshot})
		names, _ := filepath.Glob(filepath.Join(dir, "*.png"))
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				m := gocv.IMRead(n, gocv.IMReadColor)
				if m.Empty() {
					t.Fatalf("snapshot %s unreadable", n)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
		}
		t.Fatalf("no new snapshot in %s", dir)
		return gocv.Mat{}
	}
	if pause {
		do(live.Command{Op: live.SetPaused, Value: 1})
	}
	toon := snap()
	do(live.Command{Op: live.Pick, Index: 1})
	pencil := snap()
	do(live.Command{Op: live.SetColors, Value: 1})
	colours := snap()
	do(live.Command{Op: live.SetColors, Value: 0})
	do(live.Command{Op: live.Pick, Index: 0})
	again := snap()

	switched, kept, back := testmedia.MeanAbsDiff(toon, pencil), testmedia.MeanAbsDiff(pencil, colours), testmedia.MeanAbsDiff(toon, again)
	t.Logf("mean |difference| in levels: toon→pencil %.1f, pencil→with colours %.1f, toon→toon again %.2f", switched, kept, back)
	if switched < 10 {
		t.Errorf("the switch to pencil did not show: %.1f levels from toon", switched)
	}
	if kept < 3 {
		t.Errorf("keeping the colours did not show: %.1f levels from pencil", kept)
	}
	if back > switched/5 {
		t.Errorf("toon again is %.1f levels from toon (pencil was %.1f)", back, switched)
	}
	if e.Shown() == 0 {
		t.Error("nothing counted as shown")
	}
}

// TestTheRateFallsWhenThePictureStands: once the input ends, the state the
// web page polls stops reporting the rate the picture last moved at: it
// falls below one frame a second within a few seconds (before, it stayed
// at the source's 30 fps for good).
func TestTheRateFallsWhenThePictureStands(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "short.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", testmedia.SmallMP4(t), "-frames:v", "45", "-vf", "scale=160:96,setsar=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-an", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	src, err := capture.Open(clip, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := runUntil(t, live.Config{Source: src, Styles: builtinStyles(t, 160, 96, 64, 36, "toon")}, "end of input")
	moving := e.State().FPS
	if moving < 5 {
		t.Fatalf("the rate while the clip played was %.1f fps, want about 30", moving)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < 60; i++ { // 6 s at most
		if fps := e.State().FPS; fps < 1 {
			t.Logf("%.1f fps as the clip ended, %.2f %.1f s later", moving, fps, float64(i)/10)
			return
		}
		<-tick.C
	}
	t.Fatalf("the rate is still %.1f fps 6 s after the input ended (%.1f as it ended)", e.State().FPS, moving)
}

// TestAKeyForAMissingStyleSaysSo: key 9 with two styles is logged in the
// keys' own terms, not in the web API's (an index counted from 0).
func TestAKeyForAMissingStyleSaysSo(t *testing.T) {
	src, err := capture.Open(testmedia.SmallMP4(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := src.Props()
	e, ctx, logs := runUntil(t, live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon", "pencil"), Loop: true}, "first frame painted")
	e.KeyForTest(ctx, live.Command{Op: live.Pick, Index: 8})
	select {
	case <-logs.on("key 9: there is no style 9, there are 2 (keys 1 to 2; n and p go round)"):
	case <-ctx.Done():
		t.Fatalf("no line for key 9 of 2 styles:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "index 8") {
		t.Errorf("a key's line speaks of the API's index:\n%s", logs.String())
	}
}

// TestLatencyWhilePaused: changes made while paused show the picture held
// again, and its latency is the change's, not the pause's length (which
// the HUD and /api/state showed growing for as long as the pause lasted).
func TestLatencyWhilePaused(t *testing.T) {
	src, err := capture.Open(testmedia.SmallMP4(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := src.Props()
	e, ctx, _ := runUntil(t, live.Config{Source: src, Styles: builtinStyles(t, p.Width, p.Height, 64, 36, "toon"), Loop: true}, "first frame painted")
	if _, err := e.Do(ctx, live.Command{Op: live.SetPaused, Value: 1}); err != nil {
		t.Fatal(err)
	}
	const pause = 800 * time.Millisecond
	time.Sleep(pause) // not a wait for an event: the time a pause lasts
	var st web.State
	for i := range 16 {
		if st, err = e.Do(ctx, live.Command{Op: live.SetStrength, Value: 0.5 + float64(i%2)/2}); err != nil {
			t.Fatal(err)
		}
	}
	if st.LatencyMS >= pause.Milliseconds()/2 {
		t.Errorf("latency %d ms after 16 changes, %v into a pause", st.LatencyMS, pause)
	}
	// Resuming shows the held picture once more before new frames: its
	// latency is the resume's too (the average jumped by an eighth of the
	// pause: a minute's pause showed 7.5 s).
	before := st.LatencyMS
	time.Sleep(pause) // the pause lasts
	if st, err = e.Do(ctx, live.Command{Op: live.SetPaused, Value: 0}); err != nil {
		t.Fatal(err)
	}
	if st.LatencyMS-before >= pause.Milliseconds()/16 {
		t.Errorf("latency %d ms after a resume %v into a pause, %d ms before it", st.LatencyMS, 2*pause, before)
	}
}
