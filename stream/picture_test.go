package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
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

// tiffTags reads the tags of a little-endian TIFF's first page: each
// tag's first value (SHORT or LONG, held in the entry).
func tiffTags(t *testing.T, b []byte) map[uint16]uint32 {
	t.Helper()
	if len(b) < 8 || string(b[:4]) != "II*\x00" {
		t.Fatalf("not a little-endian TIFF: % x", b[:min(8, len(b))])
	}
	le := binary.LittleEndian
	ifd := int(le.Uint32(b[4:]))
	n := int(le.Uint16(b[ifd:]))
	tags := map[uint16]uint32{}
	for i := range n {
		e := b[ifd+2+12*i:]
		v := le.Uint32(e[8:])
		if le.Uint16(e[2:]) == 3 {
			v = uint32(le.Uint16(e[8:]))
		}
		tags[le.Uint16(e)] = v
	}
	return tags
}

// TestTIFFSaysItsFourthSampleIsAlpha: a TIFF with transparency, as one
// picture or a sequence's, says its fourth sample is unassociated alpha
// (ExtraSamples = 2; OpenCV's encoder left it unsaid, which readers may
// take as no transparency), and reads back (by ffmpeg) with every byte.
func TestTIFFSaysItsFourthSampleIsAlpha(t *testing.T) {
	dir := t.TempDir()
	bgr, a := testmedia.Texture(t, 96, 64, 3, 3), testmedia.Texture(t, 96, 64, 1, 4)
	defer bgr.Close()
	defer a.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	bgrPlanes := gocv.Split(bgr)
	gocv.Merge(append(bgrPlanes, a), &frame)
	for i := range bgrPlanes {
		bgrPlanes[i].Close()
	}
	seq, err := CreateSequence(SequenceConfig{Pattern: filepath.Join(dir, "s_%d.tif"), Width: 96, Height: 64, Rate: pipeline.Rate{Num: 25, Den: 1}, Start: 1, Alpha: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(seq.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &frame}}), seq.Close()); err != nil {
		t.Fatal(err)
	}
	colour := gocv.NewMat()
	defer colour.Close()
	gocv.CvtColor(frame, &colour, gocv.ColorBGRAToBGR)
	planes := gocv.Split(frame)
	defer func() {
		for i := range planes {
			planes[i].Close()
		}
	}()
	one := filepath.Join(dir, "one.tiff")
	w, err := CreateImage(one, &planes[3], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(w.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &colour}}), w.Close()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{one, filepath.Join(dir, "s_1.tif")} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tags := tiffTags(t, b)
		if tags[277] != 4 || tags[338] != 2 {
			t.Errorf("%s: SamplesPerPixel %d, ExtraSamples %d: want 4 and 2 (unassociated alpha)", filepath.Base(path), tags[277], tags[338])
		}
		// ffmpeg's reader: OpenCV's (libtiff's RGBA) premultiplies.
		out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt", "bgra", "-").Output()
		want, _ := frame.DataPtrUint8()
		if err != nil || !bytes.Equal(out, want) {
			t.Errorf("%s: reads back otherwise (%v)", filepath.Base(path), err)
		}
	}
}

// TestPictureWrittenAfterAbort: a frame that reaches a picture output
// after Abort (a Transcoder closed from another goroutine while the frame
// was being painted) is refused with an error; Write merged it into the
// transparency buffer Abort had freed (a crash), and raced Abort for the
// temporary file.
func TestPictureWrittenAfterAbort(t *testing.T) {
	dir := t.TempDir()
	alpha := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8U)
	defer alpha.Close()
	w, err := CreateImage(filepath.Join(dir, "o.png"), &alpha, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer frame.Close()
	w.Abort()
	if err := w.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &frame}}); !errors.Is(err, ErrOutput) {
		t.Errorf("a frame after Abort: %v, want ErrOutput", err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) > 0 {
		t.Errorf("left %v", names)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, ".*")); len(names) > 0 {
		t.Errorf("left %v", names)
	}
}
