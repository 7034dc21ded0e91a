package eval

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/media"
)

// Files names the videos to compare: the source, the stylized output and,
// optionally, a reference output (Ref, "" for none), e.g. the same style
// without stabilisation.
type Files struct {
	In, Out, Ref string
	// Frames stops after this many frames (0: all).
	Frames int
	// Framerate is the rate of a numbered image sequence among the files
	// (vidstyle's -framerate; zero: ffmpeg's 25), so that its pictures
	// are paired with the output's by the times the output was made with.
	Framerate media.Ratio
}

// Run decodes the files with capture.Open (ffmpeg: frames upright, at
// their own times) and measures them frame by frame, pairing frames by
// time as a viewer sees them: each output frame with the source (and
// reference) frame shown at its time, each file's times counted from its
// start (a video that starts after its audio starts late). An output frame that shows the same source picture as the one
// before (a repeat that fills a gap, a later start or a higher rate) is
// not paired again. A source of another size than the output is resized
// to it; one a pixel narrower or shorter than an output padded to even
// sides (4:2:0) is compared with the output cropped back to it.
func Run(ctx context.Context, files Files, cfg Config, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	paths := []string{files.In, files.Out}
	if files.Ref != "" {
		paths = append(paths, files.Ref)
	}
	var rs []*timedReader
	defer func() {
		for _, r := range rs {
			r.close()
		}
	}()
	for _, p := range paths {
		// Colour only: a video's alpha is not read (nor said to be
		// painted opaque: nothing is painted here).
		opts := capture.OpenOptions{Alpha: capture.AlphaDrop}
		if capture.IsImageSequence(p) {
			opts.Framerate = files.Framerate
		}
		s, err := capture.OpenWith(ctx, p, opts, log)
		if err != nil {
			return Result{}, fmt.Errorf("eval: %w", err)
		}
		rs = append(rs, newTimedReader(s))
		if k := s.Props().Kind; k != capture.KindFile {
			what := "a " + k.String()
			if k == capture.KindImage {
				what = "an image"
			}
			return Result{}, fmt.Errorf("eval: %s is %s, not a video file", p, what)
		}
	}
	src, out := rs[0].src.Props(), rs[1].src.Props()
	for _, r := range rs[2:] {
		if p := r.src.Props(); p.Width != out.Width || p.Height != out.Height {
			return Result{}, fmt.Errorf("eval: the reference %s is %dx%d, the output %dx%d", files.Ref, p.Width, p.Height, out.Width, out.Height)
		}
	}
	// The region of the output that shows the source: all of it, or all
	// but the pixel padded on.
	area := image.Rect(0, 0, out.Width, out.Height)
	switch {
	case src.Width == out.Width && src.Height == out.Height:
	case src.Width+src.Width%2 == out.Width && src.Height+src.Height%2 == out.Height:
		area = image.Rect(0, 0, src.Width, src.Height)
	default:
		if a, b := float64(src.Width)/float64(src.Height), float64(out.Width)/float64(out.Height); math.Abs(a/b-1) > 0.01 {
			log.Warn(fmt.Sprintf("eval: %s is %dx%d and %s %dx%d, another shape: the source is stretched to the output's size, so the numbers mean little",
				files.In, src.Width, src.Height, files.Out, out.Width, out.Height))
		}
	}
	// Frames within a quarter of an output frame of a time are shown at it.
	tol := time.Millisecond
	if out.Rate.Num > 0 && out.Rate.Den > 0 {
		tol = max(tol, time.Duration(float64(time.Second)*float64(out.Rate.Den)/float64(out.Rate.Num)/4))
	}
	resized, outCrop, refCrop := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer resized.Close()
	defer outCrop.Close()
	defer refCrop.Close()
	// crop copies the area of m into dst (one run of bytes, as the
	// measures read it).
	crop := func(m *gocv.Mat, dst *gocv.Mat) *gocv.Mat {
		r := m.Region(area)
		r.CopyTo(dst)
		r.Close()
		return dst
	}
	ev := New(cfg)
	defer ev.Close()
	lastShown := int64(-1)
	for files.Frames == 0 || ev.n < files.Frames {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		o, ok, err := rs[1].step()
		if err != nil {
			return Result{}, fmt.Errorf("eval: %s frame %d: %w", paths[1], ev.n, err)
		}
		if !ok {
			break
		}
		t := rs[1].curT
		in, n, err := rs[0].at(t, tol)
		if err != nil {
			return Result{}, fmt.Errorf("eval: %s: %w", paths[0], err)
		}
		if n == lastShown {
			continue
		}
		lastShown = n
		if in.Cols() != area.Dx() || in.Rows() != area.Dy() {
			gocv.Resize(*in, &resized, image.Pt(area.Dx(), area.Dy()), 0, 0, gocv.InterpolationArea)
			in = &resized
		}
		cropped := area.Dx() != out.Width || area.Dy() != out.Height
		if cropped {
			o = crop(o, &outCrop)
		}
		f := Frame{In: *in, Out: *o}
		if len(rs) > 2 {
			ref, _, err := rs[2].at(t, tol)
			if err != nil {
				return Result{}, fmt.Errorf("eval: %s: %w", paths[2], err)
			}
			if cropped {
				ref = crop(ref, &refCrop)
			}
			f.Ref = ref
		}
		if err := ev.Add(f); err != nil {
			return Result{}, fmt.Errorf("eval: frame %d: %w", ev.n, err)
		}
	}
	if end := rs[1].curT; rs[0].ended && rs[0].curT+time.Second < end {
		// More than the held last picture of a source whose audio runs
		// on: an output longer than its source.
		log.Warn(fmt.Sprintf("eval: %s ends %.1f s before %s: the output's frames after its end were not compared", files.In, (end - rs[0].curT).Seconds(), files.Out))
	}
	if len(rs) > 2 && rs[2].ended && rs[2].curT+4*tol < rs[1].curT {
		log.Warn(fmt.Sprintf("eval: the reference %s ends before %s: its last frame was compared with the output's after it", files.Ref, files.Out))
	}
	if ev.n < 2 {
		return Result{}, fmt.Errorf("eval: %d frames: a flicker measure needs at least two", ev.n)
	}
	r := ev.Result()
	if r.Structure < RelatedStructure {
		log.Warn(fmt.Sprintf("eval: the edges of %s barely follow those of %s (structure %.2f; outputs made from their source measure %.1f to 0.9): not made from it, or its frames are out of step, so the numbers mean little",
			files.Out, files.In, r.Structure, measuredRelated))
	}
	return r, nil
}

// timedReader reads a video in order and tells which of its frames is
// shown at a time: the latest that starts by then (the first before it
// starts).
type timedReader struct {
	src       capture.Source
	cur, next gocv.Mat
	curT      time.Duration
	nextT     time.Duration
	curN      int64 // cur's index, -1 before the first
	hasNext   bool
	ended     bool // the source has no frame after next (so hasNext is false)
}

func newTimedReader(s capture.Source) *timedReader {
	return &timedReader{src: s, cur: gocv.NewMat(), next: gocv.NewMat(), curN: -1}
}

func (r *timedReader) close() {
	r.cur.Close()
	r.next.Close()
	r.src.Close()
}

// fill reads the next frame, if there is one and it is not read yet.
func (r *timedReader) fill() error {
	if r.hasNext || r.ended {
		return nil
	}
	tm, err := r.src.Read(&r.next)
	switch {
	case errors.Is(err, io.EOF):
		r.ended = true
		return nil
	case err != nil:
		return err
	}
	r.nextT, r.hasNext = tm.PTS, true
	return nil
}

// step moves to the next frame: false at the end.
func (r *timedReader) step() (*gocv.Mat, bool, error) {
	if err := r.fill(); err != nil {
		return nil, false, err
	}
	if !r.hasNext {
		return nil, false, nil
	}
	r.cur, r.next = r.next, r.cur
	r.curT, r.hasNext = r.nextT, false
	r.curN++
	return &r.cur, true, nil
}

// at is the frame shown at t (on the file's clock, which ffmpeg starts at
// the file's start), within tol, and its index.
func (r *timedReader) at(t, tol time.Duration) (*gocv.Mat, int64, error) {
	for {
		if err := r.fill(); err != nil {
			return nil, 0, err
		}
		if !r.hasNext || r.curN >= 0 && r.nextT > t+tol {
			break
		}
		r.step()
	}
	if r.curN < 0 {
		return nil, 0, errors.New("no frame to compare")
	}
	return &r.cur, r.curN, nil
}

// RelatedStructure is the Result.Structure under which an output does not
// look made from its source. Measured at 320×180/240 on three real clips
// (vtest, Megamind, small.mp4), each against itself and the two others,
// with the ten styles at hand: outputs made from their source 0.39–0.89,
// unrelated pairs −0.12 to 0.26.
const RelatedStructure = 0.3

// measuredRelated is the lowest of those related pairs, for the message.
const measuredRelated = 0.4
