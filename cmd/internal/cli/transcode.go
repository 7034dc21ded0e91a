package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
)

// transcode runs one file job to its end and returns the exit code; a
// non-nil error is printed by the caller as one line.
func transcode(o options, size vidstyle.Size, eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
	if o.window {
		if err := stream.CheckDisplay(); err != nil {
			return exitError, err
		}
	}
	pr := &progress{c: c, log: log, period: o.statsPeriod, quiet: o.quiet}
	job := vidstyle.Job{
		In: o.in, Out: o.out, Model: o.model, Size: size, Resize: o.resizeTo, Preload: o.preload, Force: o.force, Frames: o.frames,
		Audio: o.audio, StripMetadata: o.stripMeta, Alpha: o.alpha, Framerate: o.framerate, Preset: o.preset, EncodeThreads: o.encThreads, Serial: o.serial, OnFrame: pr.update,
	}
	if o.crf >= 0 {
		job.CRF = new(o.crf)
	}
	job.Temporal, job.KeepColors = new(o.temporal), o.keepColors
	if o.window {
		job.Preview = pipeline.NewLatest[*gocv.Mat]()
		defer job.Preview.Close()
	}
	// First signal: stop opening, or stop reading and finish the file.
	// Second: abort now.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	abort := make(chan struct{})
	finished := make(chan struct{})
	defer close(finished)
	var running atomic.Bool // opened: a signal finishes the file
	go func() {
		select {
		case <-sigs:
		case <-finished:
			return
		}
		if running.Load() {
			log.Warn("stopping: finishing the frames in flight (press Ctrl-C again to abort)")
		}
		stop()
		select {
		case <-sigs:
			close(abort)
		case <-finished:
		}
	}()

	// Open in the background: what it waits on (a probe, a download)
	// ends with ctx at the first signal, and what cannot be hurried (a
	// camera, building a session) is left behind at the second.
	type openResult struct {
		t   *vidstyle.Transcoder
		err error
	}
	opening := make(chan openResult, 1)
	go func() {
		t, err := eng.Open(ctx, job)
		opening <- openResult{t, err}
	}()
	var t *vidstyle.Transcoder
	var err error
	select {
	case r := <-opening:
		t, err = r.t, r.err
	case <-abort:
		return exitInterrupted, fmt.Errorf("aborted while opening %s: nothing written", o.in)
	}
	interrupted := fmt.Errorf("interrupted while opening %s: nothing written", o.in)
	if err != nil {
		if ctx.Err() != nil { // a slow network input, a long probe
			return exitInterrupted, interrupted
		}
		return exitCode(err), err
	}
	running.Store(true)
	if ctx.Err() != nil { // a signal while what ignores ctx was opening
		t.Close() // the output, not begun, is deleted
		return exitInterrupted, interrupted
	}
	aborted := false
	defer func() {
		if !aborted {
			t.Close()
		}
	}()
	info := t.Info()
	log.Info(info.String())
	pr.total, pr.start = info.Total, time.Now()
	// One image: no rate to show while it is painted; the last line says
	// how long it took.
	pr.quiet = pr.quiet || info.Input.Kind == capture.KindImage
	pr.last = pr.start

	// -window: watch the frames as they are written; q stops like Ctrl-C,
	// the style keys switch styles.
	if o.window {
		winCtx, closeWin := context.WithCancel(context.Background())
		winDone := make(chan struct{})
		defer func() {
			closeWin()
			<-winDone
		}()
		styles := t.Styles()
		var opened sync.Once
		go func() {
			defer close(winDone)
			err := stream.RunWindow(winCtx, stream.WindowConfig{Title: "vidstyle", Frames: job.Preview, OnShown: func(pipeline.Frame[*gocv.Mat]) {
				opened.Do(func() { log.Info("preview window open") }) // as the live preview says it
			}, OnKey: func(key int) {
				cmd, _ := keyCommand(key)
				var switchTo func() error
				switch cmd.Op {
				case live.Quit:
					stop()
				case live.Next:
					switchTo = styles.Next
				case live.Prev:
					switchTo = styles.Prev
				case live.Pick:
					switchTo = func() error { return styles.Switch(cmd.Index) }
				}
				if switchTo != nil {
					// Building a session takes a while: not on the window's
					// thread. A switch still building when the job ends is
					// finished by the style set's Close, later ones refused.
					go func() {
						if err := switchTo(); err != nil {
							log.Warn(oneLine(err))
						}
					}()
				}
			}})
			if err != nil {
				log.Warn("preview window: " + oneLine(err))
			}
		}()
	}

	type result struct {
		res vidstyle.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := t.Run(ctx)
		done <- result{res, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-abort:
		aborted = true
		pr.done()
		t.Abort()
		if n := t.Kept(); n > 0 {
			return exitInterrupted, fmt.Errorf("aborted: the %d pictures written so far are kept (%s)", n, o.out)
		}
		return exitInterrupted, vidstyle.ErrAborted
	}
	pr.done()
	if r.err != nil {
		if ctx.Err() != nil && errors.Is(r.err, context.Canceled) { // stopped before the first frame
			return exitInterrupted, fmt.Errorf("interrupted before the first frame: nothing written (%s)", o.out)
		}
		return exitError, r.err
	}
	res := r.res
	if res.Interrupted {
		return exitInterrupted, fmt.Errorf("interrupted: kept %s in %s", vidstyle.FrameCount(res.Frames), res.Out)
	}
	rate := ""
	if info.Input.Frames != 1 || res.Frames != 1 {
		rate = fmt.Sprintf("%.1f fps; ", res.FPS())
	}
	log.Info(fmt.Sprintf("wrote %s: %s%s in %s (%smodel %s/frame)", res.Out, vidstyle.FrameCount(res.Frames), inFile(res, res.Out),
		res.Elapsed.Round(time.Millisecond*100), rate, res.Stats.Infer.Mean().Round(time.Millisecond/10)))
	return exitOK, nil
}

// inFile says how many frames the file holds when that is not the number
// painted: repeats that keep the source's timing at a constant rate, or
// frames dropped where the source ran faster than it.
func inFile(res vidstyle.Result, out string) string {
	in := "in the file"
	if stream.SequencePattern(out) {
		in = "pictures"
	}
	switch d := res.FileFrames - res.Frames; {
	case res.FileFrames == 0 || d == 0:
		return ""
	case d > 0:
		return fmt.Sprintf(" (%d %s: %d repeated to keep the source's timing)", res.FileFrames, in, d)
	default:
		return fmt.Sprintf(" (%d %s: %d dropped where the source ran faster than the output's rate)", res.FileFrames, in, -d)
	}
}
