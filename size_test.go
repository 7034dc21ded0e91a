package vidstyle_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/eval"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/media"
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

// TestImageSequenceFramerate: a numbered PNG sequence of 60 pictures is
// written at the rate Framerate gives (24 and 12, below ffmpeg's 25,
// where the packet-time check once fitted the rate back to 25; 29.97 as
// 30000/1001), with every picture once and the duration that rate makes;
// without it at ffmpeg's 25. A video
// given a frame rate is a usage error. Before, a sequence rendered at 24
// fps came out at 25, too fast.
func TestImageSequenceFramerate(t *testing.T) {
	dir := t.TempDir()
	seq := filepath.Join(dir, "frame_%04d.png")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-frames:v", "60", seq).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	for _, c := range []struct {
		rate string
		want media.Ratio
	}{{"24", media.Ratio{Num: 24, Den: 1}}, {"12", media.Ratio{Num: 12, Den: 1}}, {"29.97", media.Ratio{Num: 30000, Den: 1001}}, {"", media.Ratio{Num: 25, Den: 1}}} {
		out := filepath.Join(dir, "o"+strings.ReplaceAll(c.rate, ".", "_")+".mp4")
		res, err := e.Transcode(context.Background(), vidstyle.Job{In: seq, Out: out, Model: "toon", Framerate: c.rate})
		if err != nil {
			t.Fatalf("-framerate %q: %v", c.rate, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		info, err := media.Probe(ctx, "", out)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		v := info.Video()
		want := 60 / c.want.Float()
		if v.RFrameRate != c.want || res.Frames != 60 || res.FileFrames != 60 || math.Abs(v.Duration.Seconds()-want) > 0.01 {
			t.Errorf("-framerate %q: rate %v, %d frames (%d in the file), %v; want %v, 60, %.3f s", c.rate, v.RFrameRate, res.Frames, res.FileFrames, v.Duration, c.want, want)
		}
	}
	// vidstyle eval pairs the 12 fps output's frames with the sequence's
	// at that rate: each picture once; at ffmpeg's 25 a good half would
	// be paired twice over and the rest of the sequence never.
	for _, c := range []struct {
		rate   media.Ratio
		frames int
	}{{media.Ratio{Num: 12, Den: 1}, 60}, {media.Ratio{}, 0}} {
		r, err := eval.Run(context.Background(), eval.Files{In: seq, Out: filepath.Join(dir, "o12.mp4"), Framerate: c.rate}, eval.Config{NoFlow: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.frames > 0 && r.Frames != c.frames || c.frames == 0 && r.Frames == 60 {
			t.Errorf("eval at %v: %d frames compared", c.rate, r.Frames)
		}
	}
	_, err := e.Transcode(context.Background(), vidstyle.Job{In: testmedia.SmallMP4(t), Out: filepath.Join(dir, "v.mp4"), Framerate: "24"})
	if !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), "only a numbered image sequence (img_%04d.png) takes a frame rate; ") || !strings.HasSuffix(err.Error(), "is a video, with a rate of its own") {
		t.Errorf("a video with a frame rate: %v, want the usage error", err)
	}
	for s, want := range map[string][2]int{"24": {24, 1}, "23.976": {24000, 1001}, "59.94": {60000, 1001}, "12.5": {25, 2}, "30000/1001": {30000, 1001}, "30000:1001": {30000, 1001}, "0.001": {1, 1000}} {
		if n, d, ok := vidstyle.ParseRate(s); !ok || n != want[0] || d != want[1] {
			t.Errorf("ParseRate(%q) = %d/%d %v, want %d/%d", s, n, d, ok, want[0], want[1])
		}
	}
	for _, s := range []string{"0", "-5", "abc", "1/0", "0/5", "24fps", "NaN", "1e9", "0.0004", "1000000/1", "1/1000000"} {
		if _, _, ok := vidstyle.ParseRate(s); ok {
			t.Errorf("ParseRate(%q) is ok", s)
		}
	}
}
