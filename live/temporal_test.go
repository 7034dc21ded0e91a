package live_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stylize"
)

// TestLoopStartsTheStabiliserAfresh: a looped file is another time at
// each loop (Timing.Epoch), so the paint loop resets the stabiliser. The
// clip is one still picture, so the jump back to its start is no cut by
// the flow: every fresh frame after the first comes from a loop.
func TestLoopStartsTheStabiliserAfresh(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "still.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=1", "-r", "30",
		"-frames:v", "4", "-c:v", "ffv1", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	src, err := capture.Open(clip, nil)
	if err != nil {
		t.Fatal(err)
	}
	styles, err := stylize.NewStyleSet(testRT, testort.Models(t, "toon"), stylize.Config{FrameWidth: 64, FrameHeight: 36, Device: stylize.DeviceCPU, Temporal: 0.6}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer styles.Close()
	stab := styles.First().Temporal()
	e, err := live.New(live.Config{Source: src, Styles: styles, Loop: true, Unpaced: true, StatsPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for stab.Fresh() < 3 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(5 * time.Millisecond): // polls the counter
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if stab.Fresh() < 3 || stab.Cuts() != 0 {
		t.Errorf("%d fresh frames, %d cuts: want at least 3 (the first, then each loop) and no cut", stab.Fresh(), stab.Cuts())
	}
}
