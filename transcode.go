package vidstyle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stylize"
	"github.com/vidstyle/vidstyle/temporal"
)

// Job is one file (or image) to stylize into another.
type Job struct {
	// In is a video file or an image; Out a video file (.mp4 .m4v .mov
	// .mkv .webm .gif) for a video, an image file for an image. Out is written
	// to a hidden file beside it and renamed when complete.
	In, Out string
	// Model is a -model value (default models.DefaultStyle): one style, or
	// several (a,b,c or a folder) to switch between with Styles().
	Model string
	// Size is the processing size (zero: the input's size).
	Size Size
	// Resize is the output's size (zero: the input's; ParseResize): the
	// frames are scaled to it before they are stylized, their pixels made
	// square first.
	Resize Size
	// Preload opens every style at the start so that switching is instant.
	Preload bool
	// Force runs a job that looks too big for the free memory (see
	// ErrMemory) anyway.
	Force bool
	// Frames stops after this many frames (0: all).
	Frames int64
	// CRF is the encoder's quality (nil: 18 for H.264, 32 for VP9; 0 is
	// lossless: the frames in RGB, decoded back exactly; FORMATS.md), e.g.
	// new(23), at most 51 (H.264) or 63 (VP9); Preset the x264 preset
	// (default veryfast); EncodeThreads the encoder's threads (0: ffmpeg's
	// choice, up to MaxEncodeThreads; DefaultEncodeThreads is what
	// vidstyle uses). Open refuses others (CheckEncoder).
	CRF           *int
	Preset        string
	EncodeThreads int
	// Audio is what happens to the input's audio tracks: "auto" (or "":
	// copy what plays everywhere the output's container does, re-encode
	// the rest), "copy" (copy every track; an error when the container
	// cannot hold one) or "none". FORMATS.md has the rules per container.
	Audio string
	// Framerate is the frame rate of an image sequence input
	// ("img_%04d.png"), as ffmpeg's -framerate: "24", "29.97" or
	// "30000/1001". Empty: ffmpeg's 25. Other inputs have their own, and
	// one given with them is a usage error.
	Framerate string
	// StripMetadata drops the input's metadata from a video output: the
	// place it was filmed (a phone's GPS position), dates, the device,
	// titles and comments. Track languages, chapters and the timecode
	// stay. Off, it is copied, as ffmpeg does. (A picture output keeps
	// none: OpenCV writes no EXIF.)
	StripMetadata bool
	// Alpha is what becomes of the input's transparency: "" or "auto"
	// keeps a video's where it is used (some pixel less than opaque in
	// the frames looked at) and the output can hold it (.mov, .mkv,
	// .webm, .gif, a PNG, TIFF or WebP sequence), "keep" keeps any alpha
	// channel (a usage error with an output that cannot hold one), "drop"
	// paints it opaque, as an .mp4 is. A still picture's transparency is
	// kept in a PNG, WebP or TIFF but with "drop".
	Alpha string
	// Temporal is the temporal stabilisation's blend for video (nil:
	// DefaultTemporal; 0: off, every frame painted on its own; below 1):
	// each result is blended with the one before, carried along the
	// input's optical flow, by this much where the picture moves and more
	// where it is still (package temporal). Images have none.
	Temporal *float64
	// KeepColors keeps the source's colours: the style's luminance with
	// the input's chroma (YCrCb). Styles().Controls() turns it on and off
	// while Run goes on.
	KeepColors bool
	// Serial turns double buffering off (for measurements).
	Serial bool
	// OnFrame, if set, is called with the count of frames written after
	// each one, from the pipeline's writing goroutine: keep it short.
	OnFrame func(written int64)
	// Preview, if set, is offered every written frame (the newest wins),
	// for a window that shows the job as it goes.
	Preview *pipeline.Latest[*gocv.Mat]
}

// Result is what a finished job did.
type Result struct {
	// Out is the absolute path of the written file.
	Out string
	// Frames is how many source frames were stylized into it.
	Frames int64
	// FileFrames is how many frames the file holds: at a constant rate,
	// more than Frames where pictures are repeated to fill gaps in the
	// source's timing (a phone's variable rate, a held last picture),
	// fewer where frames closer together than the rate were dropped.
	FileFrames int64
	// Interrupted is set when the job's context ended before the input
	// did: the file holds the frames done until then, and its audio is
	// cut where they end. A context that ends once the input was all
	// read is no interruption: the file is whole.
	Interrupted bool
	// Elapsed is the job's time from Open; Stats the time per stage.
	Elapsed time.Duration
	Stats   *pipeline.Stats
}

// FPS is the frames written per second of the job's time.
func (r Result) FPS() float64 { return float64(r.Frames) / max(r.Elapsed.Seconds(), 1e-9) }

// DefaultEncodeThreads is the encoder thread count vidstyle uses: one on
// machines of up to 4 cores, where ONNX Runtime's threads already take
// every core (measured on 2 cores: the pipeline runs 6–15 % faster with the
// built-in style, and the same with a neural one; BENCHMARKS.md), else 0
// (ffmpeg's own choice).
func DefaultEncodeThreads() int {
	if runtime.NumCPU() <= 4 {
		return 1
	}
	return 0
}

// output is what the pipeline writes into: a video or an image file.
type output interface {
	pipeline.Sink[*gocv.Mat]
	Frames() int64
	Close() error
	CloseEarly() error
	Abort()
}

// Transcoder is a Job opened and ready to run: input, styles, output and
// frame pools. Run it once, then Close it: a second Run, or a Run after
// Close, is a UsageError.
type Transcoder struct {
	job     Job
	start   time.Time
	props   capture.Props
	total   int64
	outRate pipeline.Rate // the output's (a GIF's may be lower)
	src     capture.Source
	raw     capture.Source // src before its decorators
	styles  *stylize.StyleSet
	out     output
	in, res *pipeline.Pool[*gocv.Mat]
	closers []func()
	aborted atomic.Bool // Abort was called

	mu      sync.Mutex // guards ran, closed, closers and running
	ran     bool       // Run was called
	closed  bool       // Close was called
	running bool       // a Run is going on
}

// Transcode runs a job to its end: Open, Run, Close. Ending ctx stops
// reading and keeps a playable file of the frames done so far.
func (e *Engine) Transcode(ctx context.Context, job Job) (Result, error) {
	t, err := e.Open(ctx, job)
	if err != nil {
		return Result{}, err
	}
	defer t.Close()
	return t.Run(ctx)
}

// Open checks a job and opens its input, styles and output, cheapest
// checks first; ctx bounds a model download. On error nothing is left open
// and no output file exists.
func (e *Engine) Open(ctx context.Context, job Job) (_ *Transcoder, err error) {
	if job.Model == "" {
		job.Model = models.DefaultStyle
	}
	if job.In == "" || job.Out == "" {
		return nil, usagef("a job needs an input and an output")
	}
	if err := capture.Undecodable(job.In); err != nil {
		return nil, err
	}
	inImage, outImage := capture.IsStillImage(job.In), capture.IsImagePath(job.Out)
	gifVideo := inImage && !outImage && capture.StillGIF(job.In) // a logo GIF into a GIF or a video: a video of one frame
	if gifVideo {
		inImage = false
	}
	// A numbered picture sequence out ("styled_%04d.png"): a video's
	// frames, one picture each.
	outSeq := stream.SequencePattern(job.Out) && !exists(job.Out)
	if outSeq {
		outImage = false
	}
	if inImage && capture.ImageSequencePattern(job.In) {
		if _, err := os.Stat(job.In); err != nil {
			return nil, fmt.Errorf("%w %s: no such file, nor a numbered image sequence (its first image, numbered 0 to 4, is missing)", capture.ErrInput, job.In)
		}
	}
	if _, err := os.Stat(job.In); inImage && errors.Is(err, os.ErrNotExist) && !capture.ImageSequencePattern(job.In) {
		// Named like a picture, but not there: that, not the output type.
		return nil, fmt.Errorf("%w %s: no such file", capture.ErrInput, job.In)
	}
	switch job.Alpha {
	case "", "auto", "keep", "drop":
	default:
		return nil, usagef("-alpha %q: use auto, keep or drop", job.Alpha)
	}
	if inImage && outSeq {
		return nil, usagef("input %s is one picture: give a picture's name (out.png; %%%% for a literal %%), not the numbered sequence %s, which is for a video's frames", job.In, job.Out)
	}
	if inImage && outImage && strings.Contains(filepath.Base(job.Out), "%%") {
		// One picture's name, read as ffmpeg reads one: %% is a literal %
		// (a folder job's 20%discount.jpg is written so).
		job.Out = filepath.Join(filepath.Dir(job.Out), strings.ReplaceAll(filepath.Base(job.Out), "%%", "%"))
	}
	if inImage && !outImage {
		return nil, usagef("input %s is an image: give an image output (.png, .jpg, …), not %s", job.In, job.Out)
	}
	if !inImage && outImage && strings.Contains(filepath.Base(job.Out), "%") {
		return nil, usagef("-out %s: a numbered picture sequence has one %%d, with or without a width up to 12 (name_%%04d.png), and %%%% for a literal %%", job.Out)
	}
	if !inImage && outImage {
		what := "a video"
		if a := capture.Animation(job.In); a != "" {
			what = a + ", a video"
		}
		return nil, usagef("input %s is %s: give a video output (.mp4, .mkv, .mov, .webm, .gif) or numbered pictures (name_%%04d.png), not %s", job.In, what, job.Out)
	}
	if sameFile(job.In, job.Out) {
		return nil, usagef("output %s would overwrite the input", job.Out)
	}
	if job.Frames < 0 || job.CRF != nil && *job.CRF < 0 || job.EncodeThreads < 0 {
		return nil, usagef("frames, CRF and encoder threads cannot be negative")
	}
	if err := job.CheckEncoder(); err != nil {
		return nil, err
	}
	tempo, err := temporalBlend(job.Temporal)
	if err != nil {
		return nil, err
	}
	if inImage {
		tempo = 0
	}
	audio, err := stream.ParseAudio(job.Audio)
	if err != nil {
		return nil, usagef("audio %q: use auto, copy or none", job.Audio)
	}
	open, err := openOptions(job.In, job.Framerate)
	if err != nil {
		return nil, err
	}
	open.GIFAsVideo = gifVideo
	if !outImage {
		// A video's transparency goes to an output that can hold it.
		if open.Alpha, open.Opaque, err = alphaMode(job.Alpha, job.Out, job.CRF != nil && *job.CRF == 0); err != nil {
			return nil, err
		}
	}
	var ffmpeg string
	switch {
	case outImage:
		err = stream.CheckImagePath(job.Out)
	case outSeq:
		ffmpeg, err = stream.CheckFFmpeg("") // CreateSequence checks the folder
	default:
		if err = stream.CheckVideoPath(job.Out); err == nil {
			ffmpeg, err = stream.CheckFFmpeg("")
		}
	}
	if err != nil {
		return nil, err
	}

	t := &Transcoder{job: job, start: time.Now()}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	open.CheckSize = func(w, h int) error {
		// A picture's memory, checked before it is decoded.
		return e.checkMemory(job.Model, w, h, orientedSize(job.Size, w, h), job.Preload, job.Force, false)
	}
	src, err := e.openSource(ctx, job.In, open)
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, func() { src.Close() })
	t.raw, t.props = src, src.Props()
	if !outImage && !outSeq && !strings.EqualFold(filepath.Ext(job.Out), ".gif") {
		// Now that the codec is known (.mkv: VP9 with transparency).
		if err = checkCRF(job.CRF, filepath.Ext(job.Out), t.props.Alpha); err != nil {
			return nil, err
		}
	}
	r, err := e.resized(src, job.Resize, true)
	if err != nil {
		return nil, err
	}
	src = r // the closer above closes it, and the source through it
	p := src.Props()
	if p.Kind == capture.KindFile || p.Kind == capture.KindStream {
		// A constant-rate output: frames that would share an output frame
		// are skipped here, gaps filled by the writer (stream.VideoConfig).
		src = capture.Retime(src, p.Rate)
		p = src.Props() // its times on the output's grid
	}
	if out := stream.OutputRate(job.Out, p.Rate); !outImage && out != p.Rate {
		// A GIF's is at most 50 fps (a camera's too): one frame in k, the
		// others not stylized.
		k := int(math.Round(p.Rate.FPS() / out.FPS()))
		e.log.Info(fmt.Sprintf("%s: a GIF at %.6g fps, one frame in %d of the %.6g fps input: browsers slow faster GIFs down", job.Out, out.FPS(), k, p.Rate.FPS()))
		src = capture.Decimate(src, k)
		p = src.Props()
	}
	t.outRate = p.Rate
	var tracks *media.Info
	if outSeq {
		if n := otherTracks(p.Media); n > 0 {
			e.log.Info(fmt.Sprintf("%s: pictures hold no sound or subtitles: %s", job.Out, stream.TracksLeftOut(n)))
		}
		if job.CRF != nil {
			e.log.Info(fmt.Sprintf("%s: -crf does not apply to a picture sequence (%s pictures are written as OpenCV encodes them)", job.Out, strings.TrimPrefix(filepath.Ext(job.Out), ".")))
		}
	} else if (p.Kind == capture.KindFile || capture.Rereadable(p)) && !outImage && !capture.IsImageSequence(job.In) {
		// The other tracks come from the file itself (the encoder reads
		// it a second time). A live stream cannot be read twice: it
		// gives video only.
		tracks = p.Media
		if err = stream.CheckTracks(job.Out, tracks, audio); err != nil {
			return nil, &UsageError{err}
		}
	} else if p.Kind == capture.KindStream && p.Media != nil && len(p.Media.OfType("audio")) > 0 && !outImage {
		e.log.Warn(fmt.Sprintf("%s is a live stream: its audio is not recorded, the output has the stylized video only", p.Name))
	}
	t.src = capture.Limit(src, job.Frames)
	t.total = p.Frames
	if job.Frames > 0 && (t.total == 0 || job.Frames < t.total) {
		t.total = job.Frames
	}
	job.Size = e.oriented(job.Size, p.Width, p.Height)
	if err = e.checkMemory(job.Model, p.Width, p.Height, job.Size, job.Preload, job.Force, p.Alpha); err != nil {
		return nil, err
	}
	if t.styles, err = e.Styles(ctx, StyleConfig{Model: job.Model, FrameWidth: p.Width, FrameHeight: p.Height, Size: job.Size, Preload: job.Preload, Temporal: tempo, KeepColors: job.KeepColors}); err != nil {
		return nil, err
	}
	t.closers = append(t.closers, t.styles.Close)
	if !outImage {
		e.hintTemporalOnGPU(tempo, t.styles.First().Device())
	}

	if outImage {
		var alpha *gocv.Mat
		if a, ok := src.(capture.AlphaSource); ok && job.Alpha != "drop" {
			alpha = a.Alpha()
		}
		t.out, err = stream.CreateImage(job.Out, alpha, p.Profile, e.log)
	} else if outSeq {
		t.out, err = stream.CreateSequence(stream.SequenceConfig{
			Pattern: job.Out, Width: p.Width, Height: p.Height, Rate: p.Rate,
			Retime: p.Kind == capture.KindFile || p.Kind == capture.KindStream, End: p.End, Start: 1, Alpha: p.Alpha, Profile: p.Profile, Log: e.log,
		})
	} else {
		if p.Profile != nil && !p.Profile.SRGB() {
			e.log.Warn(fmt.Sprintf("%s: a video keeps no colour profile: the input's (%s) is lost, and its colours show as sRGB, duller where the input's are wider", job.Out, p.Profile))
		}
		retime := p.Kind == capture.KindFile || p.Kind == capture.KindStream
		t.out, err = stream.CreateVideo(stream.VideoConfig{
			Path: job.Out, Width: p.Width, Height: p.Height, Rate: p.Rate,
			Retime: retime, End: p.End, Input: tracks, Audio: audio, StripMetadata: job.StripMetadata, Alpha: p.Alpha, SAR: p.SAR, Color: p.Color,
			CRF: job.CRF, Preset: job.Preset, Threads: job.EncodeThreads, FFmpeg: ffmpeg, Log: e.log,
		})
	}
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, t.out.Abort) // a no-op once closed
	t.in, t.res = capture.NewMatPool(), capture.NewMatPool()
	t.closers = append(t.closers, t.in.Close, t.res.Close)
	return t, nil
}

// exists reports whether a file of that name is there.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// otherTracks counts an input's audio and subtitle tracks.
func otherTracks(info *media.Info) int {
	if info == nil {
		return 0
	}
	return len(info.OfType("audio")) + len(info.OfType("subtitle"))
}

// alphaMode reads Job.Alpha for an output: the open's mode, and why the
// transparency is not kept when the output cannot hold it.
func alphaMode(mode, out string, lossless bool) (capture.AlphaMode, string, error) {
	ok, why := stream.AlphaOutput(out, lossless)
	switch mode {
	case "drop":
		return capture.AlphaDrop, "", nil
	case "keep":
		if !ok {
			return 0, "", usagef("-alpha keep: %s", why)
		}
		return capture.AlphaAlways, "", nil
	case "", "auto":
		if !ok {
			return capture.AlphaNone, why, nil
		}
		return capture.AlphaIfUsed, "", nil
	}
	return 0, "", usagef("-alpha %q: use auto, keep or drop", mode)
}

// openSource opens a job's input (stopped when ctx ends) and checks that its frames are big
// enough to stylize; on error nothing is left open.
func (e *Engine) openSource(ctx context.Context, in string, opts capture.OpenOptions) (capture.Source, error) {
	src, err := capture.OpenWith(ctx, in, opts, e.log)
	if err != nil {
		return nil, err
	}
	if p := src.Props(); p.Width < stylize.MinSize || p.Height < stylize.MinSize {
		src.Close()
		return nil, fmt.Errorf("input %s: frames are %dx%d, smaller than the %dx%d minimum", in, p.Width, p.Height, stylize.MinSize, stylize.MinSize)
	}
	return src, nil
}

// Info describes an open job.
type Info struct {
	In, Out string
	Input   capture.Props
	// Total is the frames expected (0 if unknown).
	Total int64
	// Style is the first style; Width×Height the processing size; Device
	// where the model runs.
	Style         string
	Width, Height int
	Device        string
	// OutRate is the output's frame rate: the input's, but a GIF's of a
	// fast source (at most 50 fps).
	OutRate pipeline.Rate
}

// Info says what the job is about to do.
func (t *Transcoder) Info() Info {
	w, h := t.styles.First().Size()
	return Info{In: t.job.In, Out: t.job.Out, Input: t.props, Total: t.total, Style: t.styles.Names()[0],
		Width: w, Height: h, Device: t.styles.First().Device(), OutRate: t.outRate}
}

// String is the line that says what is about to happen.
func (i Info) String() string {
	p := i.Input
	what := fmt.Sprintf("%dx%d", p.Width, p.Height)
	if p.Kind != capture.KindImage {
		what += fmt.Sprintf(", %s fps, %s", p.Rate, FrameCount(i.Total))
	}
	into := i.Out
	if r := i.OutRate; p.Kind != capture.KindImage && r.Num > 0 && r.Den > 0 && r != p.Rate {
		into += fmt.Sprintf(" at %s fps", r)
	}
	return fmt.Sprintf("stylizing %s (%s) with %s at %dx%d on %s into %s", i.In, what, i.Style, i.Width, i.Height, i.Device, into)
}

// Styles is the job's style set: switch it from any goroutine while Run
// goes on.
func (t *Transcoder) Styles() *stylize.StyleSet { return t.styles }

// Run moves every frame through the styles into the output and closes the
// output file. Ending ctx stops reading: the frames in flight are
// finished, the file is closed with its audio cut where the video ends,
// and the Result says Interrupted. When ctx ends before the first frame
// is written, no output is left and the error wraps ctx.Err(); after
// Abort, the error is ErrAborted (errors.Is). Run once: a second Run,
// or a Run after Close, is a UsageError.
func (t *Transcoder) Run(ctx context.Context) (Result, error) {
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return Result{}, usagef("%s: Run after Close: open the job again", t.job.Out)
	case t.ran:
		t.mu.Unlock()
		return Result{}, usagef("%s: Run called twice: a Transcoder runs once", t.job.Out)
	}
	t.ran = true
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		closers := t.closers
		if t.closed {
			t.closers = nil // a Close during the run left them to its end
		}
		closed := t.closed
		t.mu.Unlock()
		if closed {
			closeAll(closers)
		}
	}()
	if in, ok := t.raw.(capture.Interrupter); ok {
		// A stream that sends nothing would hold the read stage, and so
		// the stop, for ever: stopping ends the input too.
		defer context.AfterFunc(ctx, in.Interrupt)()
	}
	var sink pipeline.Sink[*gocv.Mat] = t.out
	if t.job.Preview != nil {
		sink = teeSink{t.out, t.job.Preview}
	}
	var styles pipeline.Stylizer[*gocv.Mat] = t.styles.Swap()
	if t.props.Alpha {
		ka := newKeepAlpha(styles)
		defer ka.Close()
		styles = ka
	}
	src := &endSeen{Source: t.src, ctx: ctx}
	st, err := pipeline.Run(ctx, pipeline.Config{Serial: t.job.Serial, OnFrame: t.job.OnFrame}, src, styles, sink, t.in, t.res)
	if t.aborted.Load() {
		return Result{}, t.abortError()
	}
	if err != nil {
		return Result{}, outOfMemory(err)
	}
	// Interrupted: ctx ended before the input did (a Frames limit, or an
	// input that ended first, is the job's end, not an interruption).
	// Every frame the container declares read is the input's end too:
	// its EOF may come later, once ffmpeg has exited, after ctx ended.
	whole := t.props.Frames > 0 && !t.props.FramesEstimated && src.read.Load() >= t.props.Frames
	interrupted := ctx.Err() != nil && !src.ended.Load() && !whole
	if interrupted && t.out.Frames() == 0 {
		t.out.Abort()
		return Result{}, fmt.Errorf("%s: stopped before any frame was written: no output left: %w", t.job.Out, ctx.Err())
	}
	closeOut := t.out.Close
	cut, _ := t.raw.(capture.Truncation)
	if interrupted || (t.job.Frames > 0 && t.out.Frames() >= t.job.Frames) || (cut != nil && cut.Truncated()) {
		// Stopped before the input's end: the audio ends with the video.
		closeOut = t.out.CloseEarly
	}
	if err := closeOut(); err != nil {
		if t.aborted.Load() {
			return Result{}, t.abortError()
		}
		if t.out.Frames() == 0 && !interrupted && errors.Is(err, stream.ErrOutput) && !errors.Is(err, stream.ErrFFmpeg) {
			// Nothing came from the input (a video stream with no
			// packets, a header whose frames are missing): say so of
			// the input, not the output.
			return Result{}, fmt.Errorf("%w %s: no video frame could be decoded", capture.ErrInput, t.job.In)
		}
		return Result{}, err
	}
	file := t.out.Frames()
	if v, ok := t.out.(interface{ Slots() int64 }); ok {
		file = v.Slots()
	}
	return Result{Out: absPath(t.job.Out), Frames: t.out.Frames(), FileFrames: file, Interrupted: interrupted,
		Elapsed: time.Since(t.start), Stats: st}, nil
}

// endSeen is the job's source as the pipeline reads it: it notes whether
// the input ended (a Read failed) while ctx was still going, so that a
// stop that comes after the input's end is no interruption.
type endSeen struct {
	pipeline.Source[*gocv.Mat]
	ctx   context.Context
	ended atomic.Bool
	read  atomic.Int64 // frames read
}

// Read reads a frame, noting the input's end.
func (s *endSeen) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	tm, err := s.Source.Read(dst)
	if err != nil && s.ctx.Err() == nil {
		s.ended.Store(true)
	}
	if err == nil {
		s.read.Add(1)
	}
	return tm, err
}

// abortError is what Run returns after Abort: ErrAborted, or for a
// picture sequence that keeps pictures, an error that says how many and
// matches ErrAborted.
func (t *Transcoder) abortError() error {
	if n := t.Kept(); n > 0 {
		return &keptError{kept: n, out: t.job.Out}
	}
	return ErrAborted
}

// keptError is an abort that left a sequence's pictures.
type keptError struct {
	kept int64
	out  string
}

// Error says how many pictures stay.
func (e *keptError) Error() string {
	return fmt.Sprintf("aborted: the %d pictures written so far are kept (%s)", e.kept, e.out)
}

// Is makes it match ErrAborted.
func (e *keptError) Is(target error) bool { return target == ErrAborted }

// Abort stops the encoder and deletes the unfinished output; it may be
// called from another goroutine while Run goes on, which then returns an
// error that matches ErrAborted. A picture sequence keeps the pictures
// already written, each whole (Kept). After Run returned, Abort leaves a
// finished output as it is.
func (t *Transcoder) Abort() {
	t.aborted.Store(true)
	t.out.Abort()
}

// Kept is how many pictures of a sequence output (-out name_%04d.png)
// stay after Abort; 0 for a video or picture file, which Abort deletes.
func (t *Transcoder) Kept() int64 {
	if s, ok := t.out.(*stream.Sequence); ok {
		return s.Slots()
	}
	return 0
}

// Close frees what Open opened, in reverse order; an output not yet
// closed by Run is deleted (a picture sequence's pictures stay). Called
// while Run goes on (from another goroutine, or from Job.OnFrame), it
// aborts the job and returns: Run then returns an error that matches
// ErrAborted, and frees what Open opened as it ends (freeing the frames
// and the model under the running pipeline crashed the process; until
// then Engine.Close says ErrInUse). A source that cannot be interrupted
// (a camera read by OpenCV) ends the run at its next frame. Close is
// idempotent and safe to call from several goroutines at once.
func (t *Transcoder) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	if t.running {
		t.mu.Unlock()
		t.Abort()
		if in, ok := t.raw.(capture.Interrupter); ok {
			in.Interrupt() // a stalled stream would hold the read stage
		}
		return
	}
	closers := t.closers
	t.closers = nil
	t.mu.Unlock()
	closeAll(closers)
}

// closeAll runs closers in reverse order: what was opened last first.
func closeAll(closers []func()) {
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// teeSink writes each frame and also offers it to a preview.
type teeSink struct {
	out     pipeline.Sink[*gocv.Mat]
	preview *pipeline.Latest[*gocv.Mat]
}

func (t teeSink) Write(f pipeline.Frame[*gocv.Mat]) error {
	if err := t.out.Write(f); err != nil {
		return err
	}
	f.Image.Retain()
	t.preview.Put(f)
	return nil
}

// DefaultTemporal is the temporal stabilisation's blend when a job does
// not set one: how much of the previous result, carried along the flow,
// each frame keeps where the flow is valid and the picture moves
// (measured in BENCHMARKS.md).
const DefaultTemporal = temporal.DefaultBlend

// temporalBlend is a job's blend: DefaultTemporal for nil, else *a, which
// must be 0 (off) or between 0 and 1.
func temporalBlend(a *float64) (float64, error) {
	if a == nil {
		return DefaultTemporal, nil
	}
	if !(*a >= 0 && *a < 1) {
		return 0, usagef("temporal blend %v: use 0 (off) or a number below 1, e.g. %v", *a, DefaultTemporal)
	}
	return *a, nil
}

// FrameCount says "1 frame", "N frames" or "unknown frame count".
func FrameCount(n int64) string {
	if n == 1 {
		return "1 frame"
	}
	if n <= 0 {
		return "unknown frame count"
	}
	return fmt.Sprintf("%d frames", n)
}

// sameFile reports whether writing out would replace in: the same path,
// or two names of one file (a symlink, a hard link, a folder reached by
// two paths).
func sameFile(in, out string) bool {
	if absPath(in) == absPath(out) {
		return true
	}
	if stream.SequencePattern(in) && stream.SequencePattern(out) {
		// Two spellings of one sequence ("%4d" and "%04d", a link to
		// the folder) name the same pictures.
		for _, n := range []int{0, 1, 2, 9, 10, 99, 100, 999, 1000, 9999, 10000} {
			if inFolder(stream.SequenceFile(in, n)) == inFolder(stream.SequenceFile(out, n)) {
				return true
			}
		}
		return false
	}
	a, err1 := os.Stat(in)
	b, err2 := os.Stat(out)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// inFolder is p's absolute path with its folder's links resolved (p
// itself need not exist).
func inFolder(p string) string {
	p = absPath(p)
	if d, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		return filepath.Join(d, filepath.Base(p))
	}
	return p
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// hintTemporalOnGPU says, when the net runs on a GPU, that the temporal
// stabiliser, which runs on the CPU, sets the rate (BENCHMARKS.md, on an
// H200 at 1280×720 before its per-pixel steps were spread over the cores:
// 6.6 frames/s with it, 123 without).
func (e *Engine) hintTemporalOnGPU(blend float64, device string) {
	if blend != 0 && device != stylize.DeviceCPU {
		e.log.Info(fmt.Sprintf("temporal stabilisation runs on the CPU, and with the net on %s it may set the rate: -temporal 0 turns it off", device))
	}
}

// openOptions are the capture options a job's Framerate asks for: an
// image sequence's rate, "24", "29.97" (30000/1001, as 23.976 and 59.94
// are the NTSC rates), "N/D" or "N:D".
func openOptions(in, framerate string) (capture.OpenOptions, error) {
	if framerate == "" {
		return capture.OpenOptions{}, nil
	}
	if !capture.ImageSequencePattern(in) {
		// A pattern whose images are missing is the open's to say.
		what := "a video, with a rate of its own"
		switch {
		case capture.IsImagePath(in):
			what = "a picture"
		case strings.HasPrefix(in, "cam:"):
			what = "a camera, with a rate of its own"
		}
		return capture.OpenOptions{}, usagef("-framerate %s: only a numbered image sequence (img_%%04d.png) takes a frame rate; %s is %s", framerate, in, what)
	}
	r, err := ParseFramerate(framerate)
	if err != nil {
		return capture.OpenOptions{}, err
	}
	return capture.OpenOptions{Framerate: r}, nil
}

// ParseFramerate reads a -framerate value: "24", "29.97" (30000/1001, as
// 23.976 and 59.94 are the NTSC rates), "N/D" or "N:D", between 0.001
// and 1000 frames per second; other values are a usage error.
func ParseFramerate(s string) (media.Ratio, error) {
	r, ok := parseRate(s)
	if !ok {
		return media.Ratio{}, usagef("-framerate %q: give frames per second between %g and %g, as 24, 29.97 or 30000/1001", s, minRate, maxRate)
	}
	return r, nil
}

// The frame rates -framerate takes: ffprobe reports none above 1000
// (media.Stream.Rate), and MP4 cannot hold a frame longer than about 1000 s.
const minRate, maxRate float64 = 0.001, 1000

// parseRate reads a frame rate: "N/D" or "N:D", or a number of frames
// per second of up to 3 decimals (the NTSC rates 23.976, 29.97, 59.94 as
// N000/1001), between minRate and maxRate.
func parseRate(s string) (media.Ratio, bool) {
	var r media.Ratio
	if n, d, ok := strings.Cut(strings.Replace(s, ":", "/", 1), "/"); ok {
		num, err1 := strconv.Atoi(n)
		den, err2 := strconv.Atoi(d)
		if err1 != nil || err2 != nil || num <= 0 || den <= 0 || num > 1e6 || den > 1e6 {
			return media.Ratio{}, false
		}
		r = media.Ratio{Num: num, Den: den}
	} else {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0 && f <= maxRate) {
			return media.Ratio{}, false
		}
		r = media.Ratio{Num: int(math.Round(f * 1000)), Den: 1000}
		for _, ntsc := range []int{24, 30, 48, 60, 120} {
			if n := float64(ntsc*1000) / 1001; math.Abs(f-n) < 0.006 {
				r = media.Ratio{Num: ntsc * 1000, Den: 1001}
			}
		}
		for _, p := range []int{2, 5} {
			for r.Num > 0 && r.Num%p == 0 && r.Den%p == 0 {
				r.Num, r.Den = r.Num/p, r.Den/p
			}
		}
	}
	if f := r.Float(); r.Num <= 0 || f < minRate || f > maxRate {
		return media.Ratio{}, false
	}
	return r, true
}
