package stream_test

import (
	"testing"

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
		{4000, 600, 1920, 1080, 1824, 272},  // a panorama: the width limits
		{640, 360, 1280, 720, 640, 360},     // fits: untouched
		{1216, 648, 1280, 720, 1216, 648},   // exactly the room there is
		{1920, 1080, 0, 0, 1920, 1080},      // no screen known
		{1921, 1081, 1280, 720, 1150, 648},  // odd sides come out even
	} {
		w, h := stream.FitScreen(c.w, c.h, c.sw, c.sh)
		if w != c.wantW || h != c.wantH {
			t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d, want %dx%d", c.w, c.h, c.sw, c.sh, w, h, c.wantW, c.wantH)
		}
		if w%2 != 0 || h%2 != 0 || w > max(c.w, 2) || h > max(c.h, 2) {
			t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: odd or larger", c.w, c.h, c.sw, c.sh, w, h)
		}
		if c.sw > 0 {
			if w > c.sw || h > c.sh {
				t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: larger than the screen", c.w, c.h, c.sw, c.sh, w, h)
			}
			if d := float64(w)/float64(h) - float64(c.w)/float64(c.h); d > 0.02*float64(c.w)/float64(c.h) || d < -0.02*float64(c.w)/float64(c.h) {
				t.Errorf("FitScreen(%dx%d on %dx%d) = %dx%d: aspect changed", c.w, c.h, c.sw, c.sh, w, h)
			}
		}
	}
}
