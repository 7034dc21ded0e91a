package stream_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
)

// TestFitScreen: a picture larger than the screen is scaled down to fit
// it, its aspect kept within a pixel and its sides even; one that fits,
// or a screen that is not known, leaves it at its own size.
func TestFitScreen(t *testing.T) {
	for _, c := range []struct {
		w, h, sw, sh, wantW, wantH int
	}{
		{1920, 1080, 1280, 720, 1152, 648},  // 1080p on a 720p screen: the height limits
		{3840, 2160, 1920, 1080, 1728, 972}, // 4K on 1080p
		{1080, 1920, 1920, 1080, 546, 972},  // a portrait phone on a landscape screen
		{4000, 600, 1920, 1080, 1824, 274},  // a panorama: the width limits
		{640, 360, 1280, 720, 640, 360},     // fits: untouched
		{1216, 648, 1280, 720, 1216, 648},   // exactly the room there is
		{1920, 1080, 0, 0, 1920, 1080},      // no screen known
		{1921, 1081, 1280, 720, 1152, 648},  // odd sides come out even
		{662, 1176, 1280, 720, 364, 648},    // rounded, not cut: 647.99 is 648
		{4000, 1, 1920, 1080, 1824, 1},      // never above the picture's own side
	} {
		w, h := stream.FitScreen(c.w, c.h, c.sw, c.sh)
		if w != c.wantW || h != c.wantH {
			t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d, want %dx%d", c.w, c.h, c.sw, c.sh, w, h, c.wantW, c.wantH)
		}
		if (w%2 != 0 && w != c.w) || (h%2 != 0 && h != c.h) || w > c.w || h > c.h {
			t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: odd or larger", c.w, c.h, c.sw, c.sh, w, h)
		}
		if c.sw > 0 && h > 10 { // a side of a pixel or two has no aspect to keep
			if w > c.sw || h > c.sh {
				t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: larger than the screen", c.w, c.h, c.sw, c.sh, w, h)
			}
			if d := float64(w)/float64(h) - float64(c.w)/float64(c.h); d > 0.02*float64(c.w)/float64(c.h) || d < -0.02*float64(c.w)/float64(c.h) {
				t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: aspect changed", c.w, c.h, c.sw, c.sh, w, h)
			}
		}
	}
}

// TestOutputRate: a GIF is written at most at 50 fps (its delays are
// hundredths, and browsers slow those under two to ten): faster rates are
// halved until they fit; every other type keeps its rate.
func TestOutputRate(t *testing.T) {
	for _, c := range []struct {
		path     string
		in, want pipeline.Rate
	}{
		{"a.gif", pipeline.Rate{Num: 60, Den: 1}, pipeline.Rate{Num: 30, Den: 1}},
		{"a.GIF", pipeline.Rate{Num: 60000, Den: 1001}, pipeline.Rate{Num: 30000, Den: 1001}},
		{"a.gif", pipeline.Rate{Num: 120, Den: 1}, pipeline.Rate{Num: 30, Den: 1}},
		{"a.gif", pipeline.Rate{Num: 50, Den: 1}, pipeline.Rate{Num: 50, Den: 1}},
		{"a.gif", pipeline.Rate{Num: 25, Den: 1}, pipeline.Rate{Num: 25, Den: 1}},
		{"a.gif", pipeline.Rate{Num: 101, Den: 1}, pipeline.Rate{Num: 101, Den: 4}},
		{"a.mp4", pipeline.Rate{Num: 60, Den: 1}, pipeline.Rate{Num: 60, Den: 1}},
		{"a.gif", pipeline.Rate{}, pipeline.Rate{}},
	} {
		if got := stream.OutputRate(c.path, c.in); got != c.want {
			t.Errorf("OutputRate(%s, %v) = %v, want %v", c.path, c.in, got, c.want)
		}
	}
}
