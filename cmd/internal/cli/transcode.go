package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stylize"
)

// output is what the pipeline writes into: a video or an image file.
type output interface {
	pipeline.Sink[*gocv.Mat]
	Frames() int64
	Close() error
	CloseEarly() error
	Abort()
}

// transcode runs one file (or camera) job to its end and returns the exit
// code; a non-nil error is printed by the caller as one line.
func transcode(o options, c *console, log *slog.Logger) (int, error) {
	start := time.Now()
	if o.window {
		if err := stream.CheckDisplay(); err != nil {
			return exitError, err
		}
	}
	var rt *stylize.Runtime
	j, code, err := prepare(o, c, log, func() (*stylize.Runtime, error) {
		var err error
		rt, err = loadRuntime(o.ortLib, log)
		return rt, err
	})
	// C resources are freed on the way out, but not after an abort: then the
	// pipeline may still be inside OpenCV or ONNX Runtime, and the process is
	// about to exit anyway.
	aborted := false
	defer func() {
		if !aborted && rt != nil {
			rt.Close()
		}
	}()
	if err != nil {
		return code, err
	}
	defer func() {
		if !aborted {
			j.close()
		}
	}()
	log.Info(j.describe(o))
	pr := &progress{c: c, log: log, total: j.total, period: o.statsPeriod, quiet: o.quiet, start: time.Now()}
	pr.last = pr.start

	// First signal: stop reading and finish the file. Second: abort now.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	abort := make(chan struct{})
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-sigs:
		case <-finished:
			return
		}
		log.Warn("stopping: finishing the frames in flight (press Ctrl-C again to abort)")
		stop()
		select {
		case <-sigs:
			close(abort)
		case <-finished:
		}
	}()

	// -window: watch the frames as they are written (newest wins); q stops
	// like Ctrl-C, n/p/1-9 switch styles.
	winDone := make(chan struct{})
	if o.window {
		winCtx, closeWin := context.WithCancel(context.Background())
		defer func() {
			closeWin()
			<-winDone
		}()
		shown := pipeline.NewLatest[*gocv.Mat]()
		defer shown.Close()
		j.tee = shown
		go func() {
			defer close(winDone)
			err := stream.RunWindow(winCtx, stream.WindowConfig{Title: "vidstyle", Frames: shown, OnKey: func(key int) {
				cmd, ok := keyCommand(key)
				switch {
				case !ok:
				case cmd.kind == "quit":
					stop()
				case cmd.kind == "next":
					go j.styles.Next()
				case cmd.kind == "pick":
					go j.styles.Switch(cmd.arg)
				}
			}})
			if err != nil {
				log.Warn("preview window: " + oneLine(err))
			}
		}()
	} else {
		close(winDone)
	}

	type result struct {
		st  *pipeline.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := j.run(ctx, pr.update)
		done <- result{st, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-abort:
		aborted = true
		pr.done()
		j.out.Abort()
		return exitInterrupted, errors.New("aborted: no output written")
	}
	pr.done()
	if res.err != nil {
		return exitError, res.err
	}
	closeOut := j.out.Close
	if ctx.Err() != nil {
		closeOut = j.out.CloseEarly
	}
	if err := closeOut(); err != nil {
		return exitError, err
	}
	elapsed := time.Since(start)
	written := j.out.Frames()
	where, _ := filepath.Abs(o.out)
	if ctx.Err() != nil {
		return exitInterrupted, fmt.Errorf("interrupted: kept %s in %s", frameCount(written), where)
	}
	log.Info(fmt.Sprintf("wrote %s: %s in %s (%.1f fps; model %s/frame)", where, frameCount(written),
		elapsed.Round(time.Millisecond*100), float64(written)/elapsed.Seconds(), res.st.Infer.Mean().Round(time.Millisecond/10)))
	return exitOK, nil
}

// job is one transcode, opened and ready to run.
type job struct {
	props       capture.Props
	model       string
	pw, ph      int
	total       int64 // frames expected, 0 if unknown
	src         pipeline.Source[*gocv.Mat]
	sty         *stylize.Stylizer // the first style
	styles      *styleSet
	out         output
	tee         *pipeline.Latest[*gocv.Mat] // -window: frames to show too
	in, outPool *pipeline.Pool[*gocv.Mat]
	serial      bool
	closers     []func()
}

// prepare checks the options and opens the input, the model and the
// output, cheapest checks first. It calls runtime when it needs ONNX
// Runtime; the caller owns what runtime returns. On error nothing is left
// open and no output file exists.
func prepare(o options, c *console, log *slog.Logger, runtime func() (*stylize.Runtime, error)) (_ *job, code int, err error) {
	inImage := capture.IsImagePath(o.in)
	outImage := capture.IsImagePath(o.out)
	if inImage && !outImage {
		return nil, exitUsage, fmt.Errorf("input %s is an image: give an image output (.png, .jpg, …), not %s", o.in, o.out)
	}
	if !inImage && outImage {
		return nil, exitUsage, fmt.Errorf("input %s is a video: give a video output (.mp4, .mkv, .mov, .webm), not %s", o.in, o.out)
	}
	if abs(o.in) == abs(o.out) {
		return nil, exitUsage, fmt.Errorf("output %s would overwrite the input", o.out)
	}
	var ffmpeg string
	if outImage {
		err = stream.CheckImagePath(o.out)
	} else if err = stream.CheckVideoPath(o.out); err == nil {
		ffmpeg, err = stream.CheckFFmpeg("")
	}
	if err != nil {
		return nil, exitError, err
	}

	j := &job{serial: o.serial}
	defer func() {
		if err != nil {
			j.close()
		}
	}()
	src, err := capture.Open(o.in, log)
	if err != nil {
		return nil, exitError, err
	}
	j.closers = append(j.closers, func() { src.Close() })
	j.src = limit(src, o.frames)
	j.props = src.Props()
	p := j.props
	if p.Width < stylize.MinSize || p.Height < stylize.MinSize {
		return nil, exitError, fmt.Errorf("input %s: frames are %dx%d, smaller than the %dx%d minimum", o.in, p.Width, p.Height, stylize.MinSize, stylize.MinSize)
	}
	if j.pw, j.ph, err = o.processingSize(p); err != nil {
		return nil, exitUsage, err
	}
	j.total = p.Frames
	if o.frames > 0 && (j.total == 0 || o.frames < j.total) {
		j.total = o.frames
	}

	if j.styles, err = openStyles(o, p, j.pw, j.ph, c, log, runtime); err != nil {
		return nil, exitError, err
	}
	j.model = j.styles.models[0].Name
	j.sty = j.styles.first
	j.closers = append(j.closers, j.styles.close)

	if outImage {
		j.out, err = stream.CreateImage(o.out)
	} else {
		j.out, err = stream.CreateVideo(stream.VideoConfig{
			Path: o.out, Width: p.Width, Height: p.Height, Rate: p.Rate,
			AudioFrom: audioSource(p), CRF: o.crf, Preset: o.preset, Threads: o.encThreads, FFmpeg: ffmpeg, Log: log,
		})
	}
	if err != nil {
		return nil, exitError, err
	}
	j.closers = append(j.closers, j.out.Abort) // a no-op once closed

	newMat := func() *gocv.Mat { m := gocv.NewMat(); return &m }
	closeMat := func(m *gocv.Mat) { m.Close() }
	j.in = pipeline.NewPool(newMat, closeMat)
	j.outPool = pipeline.NewPool(newMat, closeMat)
	j.closers = append(j.closers, j.in.Close, j.outPool.Close)
	return j, exitOK, nil
}

// openStyles loads the -model styles for frames of the source's size.
func openStyles(o options, p capture.Props, pw, ph int, c *console, log *slog.Logger, runtime func() (*stylize.Runtime, error)) (*styleSet, error) {
	specs, err := modelSpecs(o.model)
	if err != nil {
		return nil, err
	}
	ms, err := loadModels(specs, models.Store{Dir: o.modelsDir}, o.mirror, c, log, runtime)
	if err != nil {
		return nil, err
	}
	rt, err := runtime()
	if err != nil {
		return nil, err
	}
	cache, _ := os.UserCacheDir()
	if cache != "" {
		cache = filepath.Join(cache, "vidstyle", "tensorrt")
	}
	return newStyleSet(rt, ms, stylize.Config{
		FrameWidth: p.Width, FrameHeight: p.Height, Width: pw, Height: ph,
		Device: o.device, Threads: o.threads, InterOpThreads: o.interOp, Spin: o.spin, CacheDir: cache, Log: log,
	}, o.preload)
}

// run moves the frames; cancelling ctx stops reading and finishes the
// frames in flight.
func (j *job) run(ctx context.Context, onFrame func(int64)) (*pipeline.Stats, error) {
	var sink pipeline.Sink[*gocv.Mat] = j.out
	if j.tee != nil {
		sink = teeSink{j.out, j.tee}
	}
	return pipeline.Run(ctx, pipeline.Config{Serial: j.serial, OnFrame: onFrame}, j.src, j.styles.swap, sink, j.in, j.outPool)
}

// teeSink writes each frame and also offers it to the preview window.
type teeSink struct {
	out    pipeline.Sink[*gocv.Mat]
	window *pipeline.Latest[*gocv.Mat]
}

func (t teeSink) Write(f pipeline.Frame[*gocv.Mat]) error {
	if err := t.out.Write(f); err != nil {
		return err
	}
	f.Image.Retain()
	t.window.Put(f)
	return nil
}

// close frees what prepare opened, in reverse order.
func (j *job) close() {
	for i := len(j.closers) - 1; i >= 0; i-- {
		j.closers[i]()
	}
	j.closers = nil
}

// describe is the line that says what is about to happen.
func (j *job) describe(o options) string {
	p := j.props
	what := fmt.Sprintf("%dx%d", p.Width, p.Height)
	if p.Kind != capture.KindImage {
		what += fmt.Sprintf(", %s fps, %s", p.Rate, frameCount(j.total))
	}
	w, h := j.sty.Size()
	return fmt.Sprintf("stylizing %s (%s) with %s at %dx%d on %s into %s", o.in, what, j.model, w, h, j.sty.Device(), o.out)
}

// audioSource is the file whose audio the output keeps.
func audioSource(p capture.Props) string {
	if p.Kind == capture.KindFile {
		return p.Name
	}
	return ""
}

func frameCount(n int64) string {
	if n == 1 {
		return "1 frame"
	}
	if n <= 0 {
		return "unknown frame count"
	}
	return fmt.Sprintf("%d frames", n)
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// loadRuntime finds and loads ONNX Runtime: -ort-lib, then the environment,
// then lib/ beside the binary or in the source checkout.
func loadRuntime(flagPath string, log *slog.Logger) (*stylize.Runtime, error) {
	explicit := flagPath
	if explicit == "" {
		explicit = os.Getenv(stylize.LibraryEnv)
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			exeDir = filepath.Dir(exe)
		}
	}
	wd, _ := os.Getwd()
	path, err := stylize.FindLibrary(explicit, exeDir, wd)
	if err != nil {
		return nil, err
	}
	return stylize.Load(path, log)
}

// limitSource ends a source after n frames.
type limitSource struct {
	capture.Source
	left int64
}

func limit(src capture.Source, n int64) pipeline.Source[*gocv.Mat] {
	if n <= 0 {
		return src
	}
	return &limitSource{Source: src, left: n}
}

func (l *limitSource) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if l.left <= 0 {
		return pipeline.Timing{}, io.EOF
	}
	l.left--
	return l.Source.Read(dst)
}
