package capture_test

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestPicturesOpenCVMisreads: pictures OpenCV 4.6 reads with wrong
// colours come out as ffmpeg (and browsers) show them: a PAM (OpenCV
// swapped its red and blue, and read its alpha layouts as garbage), with
// its alpha; a 16-bit BMP, whose white read as 248,252,248 (OpenCV's
// expansion; swscale's to planar RGB, which the decoder now avoids for
// 16-bit RGB, does the same); and 16-bit RGB video (MS Video 1).
func TestPicturesOpenCVMisreads(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='40+X*2'", "-frames:v", "1", src)
	// ffmpeg's own decoding, with its defaults (which repeat the high bits).
	reference := func(t *testing.T, path string, pix string, ch int) []byte {
		t.Helper()
		out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", pix, "-").Output()
		if err != nil || len(out) != 96*64*ch {
			t.Fatalf("ffmpeg decoding %s: %v", path, err)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		args  []string
		alpha bool
	}{
		{"rgb.pam", []string{"-pix_fmt", "rgb24"}, false},
		{"rgba.pam", []string{"-pix_fmt", "rgba"}, true},
		{"rgb565.bmp", []string{"-vf", "geq=r='255':g='255':b='X*2'", "-pix_fmt", "rgb565le"}, false},
		{"rgb555.bmp", []string{"-pix_fmt", "rgb555le"}, false},
		{"msvideo1.avi", []string{"-c:v", "msvideo1"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			ffmpeg(t, append(append([]string{"-i", src, "-frames:v", "1"}, c.args...), p)...)
			s, err := capture.Open(p, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			frame := gocv.NewMat()
			defer frame.Close()
			if _, err := s.Read(&frame); err != nil {
				t.Fatal(err)
			}
			want, err := gocv.NewMatFromBytes(64, 96, gocv.MatTypeCV8UC3, reference(t, p, "bgr24", 3))
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			if d := testmedia.MeanAbsDiff(frame, want); d > 0.05 {
				t.Errorf("%.2f levels from ffmpeg's picture", d)
			}
			var a *gocv.Mat
			if as, ok := s.(capture.AlphaSource); ok {
				a = as.Alpha()
			}
			if c.alpha != (a != nil) {
				t.Fatalf("an alpha plane: %v, want %v", a != nil, c.alpha)
			}
			if a != nil {
				out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", p, "-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
				got, _ := a.DataPtrUint8()
				if err != nil || string(out) != string(got) {
					t.Errorf("the alpha plane is not the file's (%v)", err)
				}
			}
		})
	}
}

// TestOneFrameGIFIsAPicture: a GIF of one picture (a logo, a sticker) is
// a still, with its transparent colour as its alpha, as ffmpeg writes it
// to a PNG; a GIF of two is a video. Before, the logo was "a video" that
// no picture output took.
func TestOneFrameGIFIsAPicture(t *testing.T) {
	dir := t.TempDir()
	logo, anim := filepath.Join(dir, "logo.gif"), filepath.Join(dir, "anim.gif")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:d=0.04,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,30),0,255)'",
		"-vf", "split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128", logo)
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:d=0.08:rate=25", anim)
	if !capture.IsStillImage(logo) || capture.IsStillImage(anim) {
		t.Fatalf("still: logo %v, two frames %v; want true, false", capture.IsStillImage(logo), capture.IsStillImage(anim))
	}
	s, err := capture.Open(logo, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k := s.Props().Kind; k != capture.KindImage {
		t.Fatalf("kind %v, want an image", k)
	}
	a := s.(capture.AlphaSource).Alpha()
	if a == nil {
		t.Fatal("no alpha plane: the transparent colour is lost")
	}
	if l, r := a.GetUCharAt(10, 5), a.GetUCharAt(10, 60); l != 0 || r != 255 {
		t.Errorf("alpha %d left of x=30 and %d right of it, want 0 and 255", l, r)
	}
	// For a video output (a GIF, an MP4) it is the one-frame video it was.
	v, err := capture.OpenWith(context.Background(), logo, capture.OpenOptions{GIFAsVideo: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if p := v.Props(); p.Kind != capture.KindFile || !capture.StillGIF(logo) || capture.StillGIF(anim) {
		t.Errorf("opened as a video: kind %v; StillGIF %v, %v: want a file, true, false", p.Kind, capture.StillGIF(logo), capture.StillGIF(anim))
	}
}
