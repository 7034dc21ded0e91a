package vidstyle_test

import (
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle"
)

// TestSizeFor: the processing size of 560x320 frames from -size and
// -scale, and the sizes refused.
func TestSizeFor(t *testing.T) {
	cases := []struct {
		size       string // -size, read with ParseSize
		scale      float64
		w, h       int
		wantErrSub string
	}{
		{"", 0, 560, 320, ""},
		{"", 0.5, 280, 160, ""},
		{"320x180", 0, 320, 180, ""},
		{"17X33", 0, 17, 33, ""},
		{"", 0.02, 0, 0, "below the 16x16 minimum"},
		{"15x100", 0, 0, 0, "must be 16 to 16384"},
		{"0x0", 0, 0, 0, "must be 16 to 16384"},
		{"640", 0, 0, 0, "want WIDTHxHEIGHT"},
	}
	for _, c := range cases {
		sz := vidstyle.Size{Scale: c.scale}
		var err error
		if c.size != "" {
			sz, err = vidstyle.ParseSize(c.size)
		}
		w, h := 0, 0
		if err == nil {
			w, h, err = sz.For(560, 320)
		}
		if c.wantErrSub != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
				t.Errorf("size %q scale %v: err = %v, want %q", c.size, c.scale, err, c.wantErrSub)
			}
			continue
		}
		if err != nil || w != c.w || h != c.h {
			t.Errorf("size %q scale %v: %dx%d %v, want %dx%d", c.size, c.scale, w, h, err, c.w, c.h)
		}
	}
}
