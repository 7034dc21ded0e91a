package eval

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
)

// Files names the videos to compare: the source, the stylized output and,
// optionally, a reference output (Ref, "" for none), e.g. the same style
// without stabilisation.
type Files struct {
	In, Out, Ref string
	// Frames stops after this many frames (0: all).
	Frames int
}

// Run decodes the files with capture.Open (ffmpeg: frames upright, at
// their own times) and measures them frame by frame, pairing frames by
// index. A source of another size than the output is resized to it. Files
// of different lengths are compared over the shorter, with a warning.
func Run(ctx context.Context, files Files, cfg Config, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	paths := []string{files.In, files.Out}
	if files.Ref != "" {
		paths = append(paths, files.Ref)
	}
	var srcs []capture.Source
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	for _, p := range paths {
		s, err := capture.Open(p, log)
		if err != nil {
			return Result{}, fmt.Errorf("eval: %w", err)
		}
		srcs = append(srcs, s)
		if k := s.Props().Kind; k != capture.KindFile {
			what := "a " + k.String()
			if k == capture.KindImage {
				what = "an image"
			}
			return Result{}, fmt.Errorf("eval: %s is %s, not a video file", p, what)
		}
	}
	out := srcs[1].Props()
	for i, s := range srcs {
		// Frames are paired by index: at another rate the pairs are not
		// the same moments.
		if r := s.Props().Rate; i != 1 && r.Num > 0 && out.Rate.Num > 0 && r.FPS() != out.Rate.FPS() {
			log.Warn(fmt.Sprintf("eval: %s runs at %s fps and %s at %s: frames are paired by index, so they are not the same moments and the numbers mean little",
				paths[i], r, paths[1], out.Rate))
		}
	}
	for _, s := range srcs[2:] {
		if p := s.Props(); p.Width != out.Width || p.Height != out.Height {
			return Result{}, fmt.Errorf("eval: the reference %s is %dx%d, the output %dx%d", files.Ref, p.Width, p.Height, out.Width, out.Height)
		}
	}
	frames := make([]gocv.Mat, len(srcs))
	for i := range frames {
		frames[i] = gocv.NewMat()
		defer frames[i].Close()
	}
	resized := gocv.NewMat()
	defer resized.Close()
	ev := New(cfg)
	defer ev.Close()
	var ended []int
	for files.Frames == 0 || ev.n < files.Frames {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		ended = ended[:0]
		for i, s := range srcs {
			if _, err := s.Read(&frames[i]); errors.Is(err, io.EOF) {
				ended = append(ended, i)
			} else if err != nil {
				return Result{}, fmt.Errorf("eval: %s frame %d: %w", paths[i], ev.n, err)
			}
		}
		if len(ended) > 0 {
			// The source may run on past an output cut short (-frames);
			// outputs of different lengths, or a short source, are odd.
			if len(ended) != len(srcs) && (ended[0] == 0 || len(srcs) == 3 && len(ended) == 1) {
				log.Warn(fmt.Sprintf("eval: %s ended at frame %d before the other files: compared %d frames", paths[ended[0]], ev.n, ev.n))
			}
			break
		}
		in := frames[0]
		if in.Cols() != out.Width || in.Rows() != out.Height {
			gocv.Resize(in, &resized, image.Pt(out.Width, out.Height), 0, 0, gocv.InterpolationArea)
			in = resized
		}
		f := Frame{In: in, Out: frames[1]}
		if len(frames) > 2 {
			f.Ref = &frames[2]
		}
		if err := ev.Add(f); err != nil {
			return Result{}, fmt.Errorf("eval: frame %d: %w", ev.n, err)
		}
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

// RelatedStructure is the Result.Structure under which an output does not
// look made from its source. Measured at 320×180/240 on three real clips
// (vtest, Megamind, small.mp4), each against itself and the two others,
// with the ten styles at hand: outputs made from their source 0.39–0.89,
// unrelated pairs −0.12 to 0.26.
const RelatedStructure = 0.3

// measuredRelated is the lowest of those related pairs, for the message.
const measuredRelated = 0.4
