package stream

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/pipeline"
)

// TestEveryPictureType: each picture type vidstyle writes, as one picture
// and as a numbered sequence, decodes (by ffmpeg, not the encoder's
// library) to the frame given: exactly for the lossless types, as its
// grey for a .pgm (OpenCV's PGM encoder aborted the process on a colour
// frame), close for JPEG and JPEG 2000.
func TestEveryPictureType(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	frame := testmedia.Texture(t, 96, 64, 3, 7)
	defer frame.Close()
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(frame, &grey, gocv.ColorBGRToGray)
	decode := func(t *testing.T, path string, grey bool) gocv.Mat {
		t.Helper()
		pix, ch, typ := "bgr24", 3, gocv.MatTypeCV8UC3
		if grey {
			pix, ch, typ = "gray", 1, gocv.MatTypeCV8UC1
		}
		out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", pix, "-").Output()
		if err != nil || len(out) != 96*64*ch {
			t.Fatalf("ffmpeg decoding %s: %v (%d bytes)", path, err, len(out))
		}
		m, err := gocv.NewMatFromBytes(64, 96, typ, out)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, ext := range []string{".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".jp2", ".ras"} {
		t.Run(ext, func(t *testing.T) {
			if !PictureType("x" + ext) {
				t.Fatalf("not a picture type")
			}
			one := filepath.Join(dir, "one"+ext)
			w, err := CreateImage(one, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(w.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &frame}}), w.Close()); err != nil {
				t.Fatal(err)
			}
			seq, err := CreateSequence(SequenceConfig{Pattern: filepath.Join(dir, "seq_%02d"+ext), Width: 96, Height: 64, Rate: pipeline.Rate{Num: 25, Den: 1}, Start: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := seq.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Index: int64(i), PTS: time.Duration(i) * 40 * time.Millisecond}, Image: &pipeline.Ref[*gocv.Mat]{V: &frame}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := seq.Close(); err != nil {
				t.Fatal(err)
			}
			want := frame
			if ext == ".pgm" {
				want = grey
			}
			for _, path := range []string{one, filepath.Join(dir, "seq_01"+ext), filepath.Join(dir, "seq_02"+ext)} {
				got := decode(t, path, ext == ".pgm")
				switch d := testmedia.MeanAbsDiff(got, want); {
				case ext == ".jpg" || ext == ".jpeg" || ext == ".jpe" || ext == ".jfif" || ext == ".jp2":
					// Lossy (OpenCV's JPEG 2000 too); the frame is noise.
					if p := testmedia.PSNR(got, want); p < 25 {
						t.Errorf("%s: %.1f dB from the frame, want 25 or more", filepath.Base(path), p)
					}
				case d != 0:
					t.Errorf("%s: %.3f levels from the frame, want it exactly", filepath.Base(path), d)
				}
				got.Close()
			}
		})
	}
}
