package stylize_test

import (
	"strings"
	"testing"

	"gocv.io/x/gocv"

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
}
