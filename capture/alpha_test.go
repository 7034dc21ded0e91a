package capture_test

import (
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
)

// TestTransparencyOfAPictureOnlyFFmpegReads: a Targa and a QOI with
// alpha (formats OpenCV lacks, decoded by ffmpeg) carry their alpha
// plane, as a PNG does; an opaque one carries none.
func TestTransparencyOfAPictureOnlyFFmpegReads(t *testing.T) {
	dir := t.TempDir()
	const w, h = 64, 48
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(4 * x), G: uint8(5 * y), B: 90, A: uint8(x * 255 / (w - 1))})
		}
	}
	src := filepath.Join(dir, "a.png")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct {
		name   string
		args   []string
		opaque bool
	}{
		{"a.tga", []string{"-c:v", "targa"}, false},
		{"a.qoi", []string{"-c:v", "qoi"}, false},
		{"opaque.tga", []string{"-c:v", "targa", "-pix_fmt", "bgr24"}, true},
	} {
		p := filepath.Join(dir, c.name)
		ffmpeg(t, append(append([]string{"-i", src}, c.args...), p)...)
		s, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		as, ok := s.(capture.AlphaSource)
		if !ok {
			s.Close()
			t.Fatalf("%s: %T is no AlphaSource", c.name, s)
		}
		a := as.Alpha()
		switch {
		case c.opaque && a != nil:
			t.Errorf("%s: opaque, yet an alpha plane", c.name)
		case !c.opaque && a == nil:
			t.Errorf("%s: no alpha plane", c.name)
		case !c.opaque:
			if a.Cols() != w || a.Rows() != h {
				t.Errorf("%s: alpha %dx%d, want %dx%d", c.name, a.Cols(), a.Rows(), w, h)
				break
			}
			for _, x := range []int{0, 20, 40, w - 1} {
				if got, want := a.GetUCharAt(10, x), uint8(x*255/(w-1)); int(got)-int(want) > 1 || int(want)-int(got) > 1 {
					t.Errorf("%s: alpha at x=%d is %d, want %d", c.name, x, got, want)
				}
			}
		}
		s.Close()
	}
	// Resized, the picture and its alpha are scaled together.
	s, err := capture.Open(filepath.Join(dir, "a.tga"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := capture.Resize(s, w/2, h/2)
	defer r.Close()
	a := r.(capture.AlphaSource).Alpha()
	if a == nil || a.Cols() != w/2 || a.Rows() != h/2 {
		t.Fatalf("resized alpha %v, want %dx%d", a, w/2, h/2)
	}
	if got, want := a.GetUCharAt(5, w/4), uint8((w/2)*255/(w-1)); int(got)-int(want) > 6 || int(want)-int(got) > 6 {
		t.Errorf("resized alpha at the middle %d, want about %d", got, want)
	}
	m := gocv.NewMat()
	defer m.Close()
	if _, err := r.Read(&m); err != nil || m.Cols() != w/2 || m.Rows() != h/2 {
		t.Fatalf("resized frame %dx%d (%v), want %dx%d", m.Cols(), m.Rows(), err, w/2, h/2)
	}
}
