package capture_test

import (
	"errors"
	"image"
	"log/slog"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// TestSquarePixelsShowsTheDisplayShape: a 480x240 picture squeezed into
// 360x240 pixels of aspect 4:3 (as anamorphic DV and broadcast files
// store it) comes out of SquarePixels at 480x240 again, close to the
// picture it was made from and far from the squeezed pixels simply read;
// a file of square pixels is left as it is, and a looped squeezed file
// still rewinds.
func TestSquarePixelsShowsTheDisplayShape(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.mkv")
	squeezed := filepath.Join(dir, "squeezed.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=480x240:rate=25", "-frames:v", "4", "-c:v", "ffv1", "-pix_fmt", "yuv444p", orig)
	ffmpeg(t, "-i", orig, "-vf", "scale=360:240:flags=lanczos,setsar=4/3", "-c:v", "ffv1", "-pix_fmt", "yuv444p", squeezed)
	log := slog.New(slog.DiscardHandler)

	plain, err := capture.Open(orig, log)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got := capture.SquarePixels(plain); got != plain {
		t.Errorf("square pixels (SAR %v): SquarePixels wrapped the source", plain.Props().SAR)
	}

	src, err := capture.Open(squeezed, log)
	if err != nil {
		t.Fatal(err)
	}
	if p := src.Props(); p.Width != 360 || p.Height != 240 || p.SAR != (media.Ratio{Num: 4, Den: 3}) {
		src.Close()
		t.Fatalf("squeezed file: %dx%d SAR %v, want 360x240 SAR 4:3", p.Width, p.Height, p.SAR)
	}
	sq := capture.SquarePixels(src)
	defer sq.Close()
	if p := sq.Props(); p.Width != 480 || p.Height != 240 || p.SAR != (media.Ratio{Num: 1, Den: 1}) {
		t.Fatalf("SquarePixels: %dx%d SAR %v, want 480x240 SAR 1:1", p.Width, p.Height, p.SAR)
	}
	want := firstFrameByFFmpeg(t, orig, 480, 240)
	defer want.Close()
	got := gocv.NewMat()
	defer got.Close()
	if _, err := sq.Read(&got); err != nil {
		t.Fatal(err)
	}
	if got.Cols() != 480 || got.Rows() != 240 {
		t.Fatalf("frame %dx%d, want 480x240", got.Cols(), got.Rows())
	}
	// The squeezed pixels put back in place without scaling (the left 360
	// columns) are what a viewer would see without the fix: far off.
	raw := firstFrameByFFmpeg(t, squeezed, 360, 240)
	defer raw.Close()
	unfixed := gocv.NewMatWithSize(240, 480, gocv.MatTypeCV8UC3)
	defer unfixed.Close()
	left := unfixed.Region(image.Rect(0, 0, 360, 240))
	raw.CopyTo(&left)
	left.Close()
	good, bad := testmedia.PSNR(got, want), testmedia.PSNR(unfixed, want)
	t.Logf("PSNR against the original: %.1f dB scaled, %.1f dB as stored", good, bad)
	if good < 25 || good < bad+10 {
		t.Errorf("scaled frame at %.1f dB from the original (as stored: %.1f dB), want >= 25 dB and 10 dB better", good, bad)
	}

	// Loop rewinds through the decorator: the 3 frames left, then 5 more
	// from the start (without a rewind it would end after 3).
	if n := len(readAll(t, capture.Limit(capture.Loop(sq, nil), 8))); n != 8 {
		t.Errorf("looped squeezed file gave %d frames after the first, want 8", n)
	}
}

// TestSquarePixelsLeavesImplausibleAspects: no aspect, 1:1, and aspects
// beyond 4:1 (broken headers) keep the stored pixels.
func TestSquarePixelsLeavesImplausibleAspects(t *testing.T) {
	for _, sar := range []media.Ratio{{}, {Num: 1, Den: 1}, {Num: 9, Den: 2}, {Num: 1, Den: 5}, {Num: 0, Den: 1}, {Num: 1, Den: 1000}} {
		src := &propsOnly{p: capture.Props{Name: "x", Width: 640, Height: 480, SAR: sar}}
		if got := capture.SquarePixels(src); got != capture.Source(src) {
			t.Errorf("SAR %v: wrapped (%dx%d)", sar, got.Props().Width, got.Props().Height)
		}
	}
	src := &propsOnly{p: capture.Props{Name: "x", Width: 720, Height: 576, SAR: media.Ratio{Num: 64, Den: 45}}}
	sq := capture.SquarePixels(src)
	defer sq.Close()
	if p := sq.Props(); p.Width != 1024 || p.Height != 576 {
		t.Errorf("720x576 at 64:45 (PAL 16:9): shown %dx%d, want 1024x576", p.Width, p.Height)
	}
}

// propsOnly is a source that is never read: only its Props matter here.
type propsOnly struct{ p capture.Props }

func (s *propsOnly) Props() capture.Props { return s.p }
func (s *propsOnly) Read(*gocv.Mat) (pipeline.Timing, error) {
	return pipeline.Timing{}, errors.New("not read")
}
func (s *propsOnly) Close() error { return nil }
