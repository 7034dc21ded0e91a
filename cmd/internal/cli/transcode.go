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
	inImage := capture.IsImagePath(o.in)
	outImage := capture.IsImagePath(o.out)
	if inImage && !outImage {
		return exitUsage, fmt.Errorf("input %s is an image: give an image output (.png, .jpg, …), not %s", o.in, o.out)
	}
	if !inImage && outImage {
		return exitUsage, fmt.Errorf("input %s is a video: give a video output (.mp4, .mkv, .mov, .webm), not %s", o.in, o.out)
	}
	if abs(o.in) == abs(o.out) {
		return exitUsage, fmt.Errorf("output %s would overwrite the input", o.out)
	}
	var ffmpeg string
	if outImage {
		if err := stream.CheckImagePath(o.out); err != nil {
			return exitError, err
		}
	} else {
		if err := stream.CheckVideoPath(o.out); err != nil {
			return exitError, err
		}
		var err error
		if ffmpeg, err = stream.CheckFFmpeg(""); err != nil {
			return exitError, err
		}
	}

	// C resources are freed in reverse order on the way out, but not after
	// an abort: then the pipeline may still be inside OpenCV or ONNX Runtime,
	// and the process is about to exit anyway.
	var closers []func()
	aborted := false
	defer func() {
		for i := len(closers) - 1; i >= 0 && !aborted; i-- {
			closers[i]()
		}
	}()
	src, err := capture.Open(o.in, log)
	if err != nil {
		return exitError, err
	}
	closers = append(closers, func() { src.Close() })
	props := src.Props()
	if props.Width < stylize.MinSize || props.Height < stylize.MinSize {
		return exitError, fmt.Errorf("input %s: frames are %dx%d, smaller than the %dx%d minimum", o.in, props.Width, props.Height, stylize.MinSize, stylize.MinSize)
	}
	pw, ph, err := o.processingSize(props)
	if err != nil {
		return exitUsage, err
	}

	model, err := models.Resolve(o.model)
	if err != nil {
		return exitError, err
	}
	graph, err := model.ONNX()
	if err != nil {
		return exitError, err
	}
	rt, err := loadRuntime(o.ortLib, log)
	if err != nil {
		return exitError, err
	}
	closers = append(closers, func() { rt.Close() })
	cache, _ := os.UserCacheDir()
	if cache != "" {
		cache = filepath.Join(cache, "vidstyle", "tensorrt")
	}
	sty, err := stylize.New(rt, stylize.Model{Name: model.Name, ONNX: graph}, stylize.Config{
		FrameWidth: props.Width, FrameHeight: props.Height, Width: pw, Height: ph,
		Device: o.device, Threads: o.threads, CacheDir: cache, Log: log,
	})
	if err != nil {
		return exitError, err
	}
	closers = append(closers, func() { sty.Close() })

	var out output
	if outImage {
		out, err = stream.CreateImage(o.out)
	} else {
		out, err = stream.CreateVideo(stream.VideoConfig{
			Path: o.out, Width: props.Width, Height: props.Height, Rate: props.Rate,
			AudioFrom: audioSource(props), CRF: o.crf, Preset: o.preset, FFmpeg: ffmpeg, Log: log,
		})
	}
	if err != nil {
		return exitError, err
	}
	defer out.Abort() // no-op once closed

	total := props.Frames
	if o.frames > 0 && (total == 0 || o.frames < total) {
		total = o.frames
	}
	what := fmt.Sprintf("%dx%d", props.Width, props.Height)
	if props.Kind != capture.KindImage {
		what += fmt.Sprintf(", %s fps, %s", props.Rate, frameCount(total))
	}
	log.Info(fmt.Sprintf("stylizing %s (%s) with %s at %dx%d on %s into %s", o.in, what, model.Name, pw, ph, sty.Device(), o.out))

	pr := &progress{c: c, log: log, total: total, period: o.statsPeriod, quiet: o.quiet, start: time.Now()}
	pr.last = pr.start
	newMat := func() *gocv.Mat { m := gocv.NewMat(); return &m }
	closeMat := func(m *gocv.Mat) { m.Close() }
	in := pipeline.NewPool(newMat, closeMat)
	outPool := pipeline.NewPool(newMat, closeMat)
	closers = append(closers, in.Close, outPool.Close)

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

	type result struct {
		st  *pipeline.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := pipeline.Run(ctx, pipeline.Config{Serial: o.serial, OnFrame: pr.update},
			limit(src, o.frames), sty, out, in, outPool)
		done <- result{st, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-abort:
		aborted = true
		pr.done()
		out.Abort()
		return exitInterrupted, errors.New("aborted: no output written")
	}
	pr.done()
	if res.err != nil {
		return exitError, res.err
	}
	closeOut := out.Close
	if ctx.Err() != nil {
		closeOut = out.CloseEarly
	}
	if err := closeOut(); err != nil {
		return exitError, err
	}
	elapsed := time.Since(start)
	written := out.Frames()
	where, _ := filepath.Abs(o.out)
	if ctx.Err() != nil {
		return exitInterrupted, fmt.Errorf("interrupted: kept %s in %s", frameCount(written), where)
	}
	log.Info(fmt.Sprintf("wrote %s: %s in %s (%.1f fps; model %s/frame)", where, frameCount(written),
		elapsed.Round(time.Millisecond*100), float64(written)/elapsed.Seconds(), res.st.Infer.Mean().Round(time.Millisecond/10)))
	return exitOK, nil
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
