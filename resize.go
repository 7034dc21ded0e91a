package vidstyle

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/stylize"
)

// ParseResize reads an output size (Job.Resize): "WxH"; "W" or "Wx", the
// height from the picture's shape; "xH", the width from it; or a fraction
// of the input's size, "0.5".
func ParseResize(s string) (Size, error) {
	orig := s
	bad := usagef("-resize %q: want WIDTHxHEIGHT (640x360), a width (640) or a height (x360), the other side from the picture's shape, or a fraction (0.5)", s)
	if !strings.ContainsAny(s, "xX") {
		if _, err := strconv.Atoi(s); err == nil {
			s += "x"
		} else if f, err := strconv.ParseFloat(s, 64); err == nil {
			if !(f > 0 && f <= 8) {
				return Size{}, usagef("-resize %s: a fraction must be above 0 and at most 8", s)
			}
			return Size{Scale: f}, nil
		} else {
			return Size{}, bad
		}
	}
	ws, hs, _ := strings.Cut(strings.ToLower(s), "x")
	side := func(v string) (int, error) {
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, bad
		}
		if n < stylize.MinSize || n > 16384 {
			hint := ""
			if n > 0 && n <= 8 && !strings.ContainsAny(orig, "xX") {
				hint = fmt.Sprintf(" (%d times the size is %d.0)", n, n)
			}
			return 0, usagef("-resize %s: each side must be %d to 16384%s", orig, stylize.MinSize, hint)
		}
		return n, nil
	}
	w, err := side(ws)
	if err != nil {
		return Size{}, err
	}
	h, err := side(hs)
	if err != nil {
		return Size{}, err
	}
	if w == 0 && h == 0 {
		return Size{}, bad
	}
	return Size{Width: w, Height: h}, nil
}

// resized is src at the output size r asks for (zero: src itself), its
// pixels made square first, so that a side given alone keeps the shape
// the picture is shown at; a side worked out is rounded to even.
// say logs the size (not at a live source's reopening).
func (e *Engine) resized(src capture.Source, r Size, say bool) (capture.Source, error) {
	if r == (Size{}) {
		return src, nil
	}
	p := src.Props()
	w, h := capture.DisplaySize(p)
	square := w == p.Width
	even := func(v float64) int { return max(2, int(math.Round(v/2))*2) }
	switch {
	case r.Scale > 0:
		w, h = even(float64(w)*r.Scale), even(float64(h)*r.Scale)
	case r.Width > 0 && r.Height > 0:
		w, h = r.Width, r.Height
	case r.Width > 0:
		w, h = r.Width, even(float64(r.Width)*float64(h)/float64(w))
	default:
		w, h = even(float64(r.Height)*float64(w)/float64(h)), r.Height
	}
	if w < stylize.MinSize || h < stylize.MinSize || w > 16384 || h > 16384 {
		return nil, usagef("-resize: the %dx%d input would be %dx%d: each side must be %d to 16384", p.Width, p.Height, w, h, stylize.MinSize)
	}
	if w == p.Width && h == p.Height && square {
		return src, nil // square pixels at that size already
	}
	if say {
		e.log.Info(fmt.Sprintf("resize: the %dx%d input is stylized and written at %dx%d", p.Width, p.Height, w, h))
	}
	return capture.Resize(capture.SquarePixels(src), w, h), nil
}
