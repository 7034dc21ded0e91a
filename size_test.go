package vidstyle_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
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

// TestSizeTurnsToThePicturesOrientation: a landscape -size on a phone's
// portrait clip (stored 320x180 with a 90° rotation, shown 180x320) is
// taken as its portrait twin, with one line saying so, so the strokes
// are not painted squashed; a size of the picture's orientation is kept.
func TestSizeTurnsToThePicturesOrientation(t *testing.T) {
	dir := t.TempDir()
	flat := filepath.Join(dir, "flat.mp4")
	phone := filepath.Join(dir, "phone.mp4")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=0.2", "-c:v", "libx264", "-pix_fmt", "yuv420p", flat},
		{"-i", flat, "-c", "copy", "-metadata:s:v", "rotate=90", phone},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	for _, c := range []struct {
		in, want string
		turned   bool
	}{{phone, "96x160", true}, {flat, "160x96", false}} {
		var logs bytes.Buffer
		e := newEngine(t, vidstyle.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
		tr, err := e.Open(context.Background(), vidstyle.Job{In: c.in, Out: filepath.Join(dir, "o.mp4"), Model: "toon", Size: vidstyle.Size{Width: 160, Height: 96}})
		if err != nil {
			t.Fatal(err)
		}
		info := tr.Info()
		tr.Close()
		got := fmt.Sprintf("%dx%d", info.Width, info.Height)
		if got != c.want || strings.Contains(logs.String(), "turned to the picture's orientation") != c.turned {
			t.Errorf("%s (%dx%d): processing at %s, want %s (turned %v); log:\n%s", filepath.Base(c.in), info.Input.Width, info.Input.Height, got, c.want, c.turned, logs.String())
		}
	}
}
