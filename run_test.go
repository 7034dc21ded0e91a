package vidstyle_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// smallJob is small.mp4 (166 frames, AAC) painted toon at 64x36 into
// dir/name.
func smallJob(t *testing.T, dir, name string) vidstyle.Job {
	t.Helper()
	return vidstyle.Job{In: testmedia.SmallMP4(t), Out: filepath.Join(dir, name), Size: vidstyle.Size{Width: 64, Height: 36}}
}

// onlyFiles lists what dir holds.
func onlyFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestAbortMakesRunSayAborted: Abort while Run goes on makes Run return
// ErrAborted, one line, and leaves no file. It returned the output's
// "written after close".
func TestAbortMakesRunSayAborted(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	dir := t.TempDir()
	job := smallJob(t, dir, "o.mp4")
	var tr *vidstyle.Transcoder
	job.OnFrame = func(n int64) {
		if n == 5 {
			tr.Abort()
		}
	}
	tr, err := e.Open(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Run(context.Background())
	if !errors.Is(err, vidstyle.ErrAborted) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("Run after Abort: %v, want ErrAborted", err)
	}
	if left := onlyFiles(t, dir); len(left) != 0 {
		t.Errorf("left after Abort: %v", left)
	}
}

// TestStopBeforeTheFirstFrame: a context that ends before a frame is
// written makes Run fail with the context's error and leave nothing. It
// said "no frames were written" of the output, with no word of the stop.
func TestStopBeforeTheFirstFrame(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	dir := t.TempDir()
	tr, err := e.Open(context.Background(), smallJob(t, dir, "o.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tr.Run(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "before any frame was written") {
		t.Fatalf("Run with its context ended: %v, want context.Canceled, stopped before any frame", err)
	}
	if left := onlyFiles(t, dir); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}

// audioSeconds is the duration of path's first audio track, by ffprobe.
func audioSeconds(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s: audio duration %q: %v", path, out, err)
	}
	return d
}

// TestStopAfterTheInputEndedIsNoInterruption: a context that ends once
// every frame is read (here as the last frame is written) is no
// interruption: Interrupted is false and the audio is whole. It was
// Interrupted, the audio cut where the video ends.
func TestStopAfterTheInputEndedIsNoInterruption(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := smallJob(t, dir, "o.mp4")
	var total int64
	job.OnFrame = func(n int64) {
		if n == total {
			cancel()
		}
	}
	tr, err := e.Open(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if total = tr.Info().Total; total != 166 {
		t.Fatalf("small.mp4: %d frames expected, want 166", total)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == nil || res.Interrupted || res.Frames != total {
		t.Fatalf("stopped at the last frame: ctx %v, Interrupted %v, %d frames", ctx.Err(), res.Interrupted, res.Frames)
	}
	if in, out := audioSeconds(t, job.In), audioSeconds(t, res.Out); out < in-0.01 {
		t.Errorf("audio %.3f s of the input's %.3f s", out, in)
	}
}

// TestTranscoderRunsOnce: a second Run, or a Run after Close, is a usage
// error; both returned success, writing nothing.
func TestTranscoderRunsOnce(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	dir := t.TempDir()
	job := smallJob(t, dir, "o.mp4")
	job.Frames = 3
	tr, err := e.Open(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run: %v", err)
	}
	tr.Close()
	tr, err = e.Open(context.Background(), smallJob(t, dir, "p.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := tr.Run(context.Background()); !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Run after Close: %v", err)
	}
}

// TestCloseWhileRunning: Close from another goroutine while Run goes on
// aborts the job and frees everything once Run has returned (ErrAborted,
// nothing left at the output); several Closes at once free it once. It
// freed the frames and the model under the running pipeline: a panic in
// stylize.Pack on a library goroutine, which took the process down.
func TestCloseWhileRunning(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	dir := t.TempDir()
	job := smallJob(t, dir, "o.mp4")
	closed := make(chan struct{})
	var tr *vidstyle.Transcoder
	job.OnFrame = func(n int64) {
		if n == 3 {
			go func() {
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() { defer wg.Done(); tr.Close() }()
				}
				wg.Wait()
				close(closed)
			}()
		}
	}
	tr, err := e.Open(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(context.Background())
	<-closed
	if !errors.Is(err, vidstyle.ErrAborted) {
		t.Errorf("Run while closed: %v, want ErrAborted", err)
	}
	if _, err := os.Stat(job.Out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the output of a job closed while it ran is there: %v", err)
	}
}

// TestCloseFromOnFrame: Close called inside Job.OnFrame (the run's own
// goroutine) aborts the job and Run returns; waiting there for Run to end
// would hang for good.
func TestCloseFromOnFrame(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	job := smallJob(t, t.TempDir(), "o.mp4")
	var tr *vidstyle.Transcoder
	job.OnFrame = func(n int64) {
		if n == 2 {
			tr.Close()
		}
	}
	tr, err := e.Open(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := tr.Run(context.Background()); done <- err }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after a Close from OnFrame")
	}
	if !errors.Is(err, vidstyle.ErrAborted) {
		t.Errorf("Run: %v, want ErrAborted", err)
	}
	tr.Close() // again: nothing to do
}
