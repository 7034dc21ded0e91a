package stylize_test

import (
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// smoothBGR is a w×h BGR picture of gradients, smooth enough that a
// linear half-size copy scaled back up is within a level or two of it.
func smoothBGR(t *testing.T, w, h int) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	px, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for y := range h {
		for x := range w {
			i := 3 * (y*w + x)
			px[i], px[i+1], px[i+2] = byte(40+150*x/w), byte(60+120*y/h), byte(200-100*(x+y)/(w+h))
		}
	}
	return m
}

// TestModelsThatPaintAnotherSize: a model whose output is not the size of
// its input (×2 and ×4 like a super-resolution net, ×0.5) is painted and
// its output scaled to the frame, on both slots, at a size the model's
// multiple pads (101x75) and with a processing size of its own. Before,
// ONNX Runtime refused the bound output tensor ("shape verification
// failed"). A ×16 output is refused in one line.
func TestModelsThatPaintAnotherSize(t *testing.T) {
	for _, c := range []struct {
		name       string
		scale      float32
		fw, fh     int
		pw, ph     int // processing size (0: the frame's)
		maxAbs     int // per channel, against the frame
		meanAbsMax float64
		nhwc       bool
	}{
		{"x2", 2, 96, 64, 0, 0, 0, 0, false},
		{"x4 padded", 4, 101, 75, 0, 0, 0, 0, false},
		{"x0.5", 0.5, 96, 64, 0, 0, 4, 0.5, false},
		{"x2 at a processing size", 2, 96, 64, 48, 32, 4, 0.5, false},
		{"x2 NHWC padded", 2, 101, 75, 0, 0, 0, 0, true},
		{"x0.5 NHWC", 0.5, 96, 64, 0, 0, 4, 0.5, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStylizer(t, stylize.Model{Name: "resized", ONNX: testmodels.ResizedGraph(c.scale, c.nhwc), Convention: models.Convention{NHWC: c.nhwc}},
				stylize.Config{FrameWidth: c.fw, FrameHeight: c.fh, Width: c.pw, Height: c.ph})
			frame := smoothBGR(t, c.fw, c.fh)
			defer frame.Close()
			out := gocv.NewMat()
			defer out.Close()
			for slot := range 2 {
				if err := stylizeOne(s, slot, &frame, &out); err != nil {
					t.Fatalf("slot %d: %v", slot, err)
				}
				if out.Cols() != c.fw || out.Rows() != c.fh {
					t.Fatalf("slot %d: %dx%d out, want %dx%d", slot, out.Cols(), out.Rows(), c.fw, c.fh)
				}
				a, _ := frame.DataPtrUint8()
				b, _ := out.DataPtrUint8()
				worst, sum := 0, 0
				for i := range a {
					d := int(a[i]) - int(b[i])
					d = max(d, -d)
					worst, sum = max(worst, d), sum+d
				}
				mean := float64(sum) / float64(len(a))
				t.Logf("slot %d: max abs diff %d, mean %.2f", slot, worst, mean)
				if worst > c.maxAbs || mean > c.meanAbsMax {
					t.Errorf("slot %d: max abs diff %d, mean %.2f against the frame (allowed %d, %.2f)", slot, worst, mean, c.maxAbs, c.meanAbsMax)
				}
			}
		})
	}
	s := newStylizer(t, stylize.Model{Name: "x16", ONNX: testmodels.ResizedGraph(16)}, stylize.Config{FrameWidth: 32, FrameHeight: 32})
	frame := smoothBGR(t, 32, 32)
	defer frame.Close()
	out := gocv.NewMat()
	defer out.Close()
	err := stylizeOne(s, 0, &frame, &out)
	want := "paints 512x512 from its 32x32 input: vidstyle takes an output of at most 8 times the input's side, 8192 a side and 36 megapixels"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("x16: %v, want one line with %q", err, want)
	}
	// ×1000 (a model of 80 bytes) is refused from ONNX Runtime's first
	// answer, before a run of its own size: that run asked for 230 GB and
	// failed, and its first, inner error was shown ("OrtValue shape
	// verification failed"), or, where the memory was there, took it.
	s = newStylizer(t, stylize.Model{Name: "x1000", ONNX: testmodels.ResizedGraph(1000)}, stylize.Config{FrameWidth: 160, FrameHeight: 120})
	big := smoothBGR(t, 160, 120)
	defer big.Close()
	err = stylizeOne(s, 0, &big, &out)
	want = "paints 160000x120000 from its 160x120 input: vidstyle takes an output of at most 8 times"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("x1000: %v, want %q", err, want)
	}
}

// TestModelsOfOneFixedSide: a model that fixes its height and leaves its
// width free (or the other way round) runs at that height, the width
// following the frame's shape. Before, the fixed side was ignored and
// ONNX Runtime refused every frame ("Got invalid dimensions for input").
func TestModelsOfOneFixedSide(t *testing.T) {
	for _, c := range []struct {
		name         string
		fixH, fixW   int64
		wantW, wantH int
	}{
		{"height 90", 90, 0, 120, 90},
		{"width 64", 0, 64, 64, 48},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStylizer(t, stylize.Model{Name: "half", ONNX: testmodels.HalfFixedGraph(c.fixH, c.fixW)}, stylize.Config{FrameWidth: 160, FrameHeight: 120})
			if w, h := s.Size(); w != c.wantW || h != c.wantH {
				t.Errorf("processing size %dx%d, want %dx%d", w, h, c.wantW, c.wantH)
			}
			frame := smoothBGR(t, 160, 120)
			defer frame.Close()
			out := gocv.NewMat()
			defer out.Close()
			for slot := range 2 {
				if err := stylizeOne(s, slot, &frame, &out); err != nil {
					t.Fatalf("slot %d: %v", slot, err)
				}
			}
			if out.Cols() != 160 || out.Rows() != 120 {
				t.Errorf("output %dx%d, want the frame's 160x120", out.Cols(), out.Rows())
			}
			if d := testmedia.MeanAbsDiff(frame, out); d > 3 {
				t.Errorf("the identity model's output is %.1f levels from its frame", d)
			}
		})
	}
}
