package main_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
)

// TestResize: -resize sets the output's size. A width alone takes the
// height from the shape the picture is shown at (an anamorphic PAL clip,
// 720x576 at 16:15, is 768x576 on screen: 640 wide is 640x480, square
// pixels), every frame and the sound kept; a fraction halves a photo,
// its transparency with it; a live HLS stream goes out at the size asked.
func TestResize(t *testing.T) {
	model := identityModel(t, t.TempDir())
	t.Run("anamorphic video, a width", func(t *testing.T) {
		dir := t.TempDir()
		in := rm.IndexedClip(t, dir, rm.Opts{Name: "pal.mp4", W: 720, H: 576, Rate: "25", Frames: 20, Audio: true, Args: []string{"-vf", "setsar=16/15"}})
		out := filepath.Join(dir, "out.mp4")
		code, log := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model, "-resize", "640")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, log)
		}
		if !strings.Contains(log, "resize: the 720x576 input is stylized and written at 640x480") {
			t.Errorf("the log does not say the size:\n%s", log)
		}
		info := rm.Probe(t, out)
		v := info.Video(t)
		if v.Width != 640 || v.Height != 480 || (v.SAR != "" && v.SAR != "1:1") {
			t.Errorf("output %dx%d SAR %q, want 640x480 of square pixels", v.Width, v.Height, v.SAR)
		}
		if got, want := rm.Indices(rm.ReadIndices(t, out)), rm.Indices(rm.ReadIndices(t, in)); !slices.Equal(got, want) {
			t.Errorf("output shows %v, want %v", got, want)
		}
		if len(info.OfType("audio")) != 1 {
			t.Errorf("the sound is not kept: %s", info.Kinds())
		}
	})
	t.Run("anamorphic video, its own stored size", func(t *testing.T) {
		// 240x180 at 4:3 is 320x180 on screen: -resize 240x180 is
		// 240x180 of square pixels, the picture squeezed as asked.
		dir := t.TempDir()
		in := rm.IndexedClip(t, dir, rm.Opts{Name: "sq.mp4", W: 240, H: 180, Frames: 5, Args: []string{"-vf", "setsar=4/3"}})
		out := filepath.Join(dir, "out.mp4")
		if code, log := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model, "-resize", "240x180"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, log)
		}
		if v := rm.Probe(t, out).Video(t); v.Width != 240 || v.Height != 180 || (v.SAR != "" && v.SAR != "1:1") {
			t.Errorf("output %dx%d SAR %q, want 240x180 of square pixels", v.Width, v.Height, v.SAR)
		}
	})
	t.Run("photo with alpha, a fraction", func(t *testing.T) {
		dir := t.TempDir()
		in := rm.AlphaPNG(t, dir, 240, 136)
		out := filepath.Join(dir, "half.png")
		code, log := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model, "-resize", "0.5")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, log)
		}
		half := filepath.Join(dir, "ref.png")
		rm.FFmpeg(t, "-i", in, "-vf", "scale=120:68:flags=area", half)
		a, _ := rm.ReadPNG(t, half)
		b, hasAlpha := rm.ReadPNG(t, out)
		if !hasAlpha || b.Bounds() != a.Bounds() {
			t.Fatalf("output %v (alpha %v), want %v with alpha", b.Bounds(), hasAlpha, a.Bounds())
		}
		off := 0
		for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
			for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
				if levelDiff(a.NRGBAAt(x, y).A, b.NRGBAAt(x, y).A) > 8 {
					off++
				}
			}
		}
		if off > a.Rect.Dx()*a.Rect.Dy()/50 {
			t.Errorf("%d of %d pixels have an alpha more than 8 levels from the input's scaled", off, a.Rect.Dx()*a.Rect.Dy())
		}
	})
	t.Run("live HLS, a height", func(t *testing.T) {
		dir := t.TempDir()
		in := rm.IndexedClip(t, dir, rm.Opts{Frames: 25})
		hls := filepath.Join(dir, "s.m3u8")
		code, log := vidstyle(t, dir, []string{"DISPLAY="}, "-in", in, "-out", hls, "-model", model, "-resize", "x90", "-temporal", "0")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, log)
		}
		if v := rm.Probe(t, hls).Video(t); v.Width != 160 || v.Height != 90 {
			t.Errorf("HLS %dx%d, want 160x90", v.Width, v.Height)
		}
	})
	t.Run("refused", func(t *testing.T) {
		code, log := vidstyle(t, t.TempDir(), nil, "-in", "x.mp4", "-out", "o.mp4", "-resize", "wide")
		if code != 2 || !strings.Contains(log, `-resize "wide": want WIDTHxHEIGHT`) {
			t.Errorf("exit %d, want 2 and the forms -resize takes:\n%s", code, log)
		}
	})
}
