package stylize_test

import (
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// calibImage packs a BGR Mat, resized to w×h, as a calibration image.
func calibImage(t testing.TB, m gocv.Mat, w, h int) models.CalibImage {
	t.Helper()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(m, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	data, err := small.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	px := make([]float32, 3*w*h)
	stylize.Pack(px, w, h, data, w, h, int(small.Step()))
	return models.CalibImage{Width: w, Height: h, Pixels: px}
}

// videoFrames is every step-th frame of small.mp4 at w×h.
func videoFrames(t testing.TB, w, h, step int) []models.CalibImage {
	t.Helper()
	frames := testmedia.DecodeAll(t, testmedia.SmallMP4(t)) // closed at the test's end
	var out []models.CalibImage
	for i := 0; i < len(frames); i += step {
		out = append(out, calibImage(t, frames[i], w, h))
	}
	return out
}

// photos are the test photos in ../shared/testdata at w×h (none when the
// folder is absent).
func photos(t testing.TB, w, h int) []models.CalibImage {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", "*.jpg"))
	var out []models.CalibImage
	for _, f := range files {
		m := gocv.IMRead(f, gocv.IMReadColor)
		if m.Empty() {
			m.Close()
			t.Fatalf("cannot read %s", f)
		}
		out = append(out, calibImage(t, m, w, h))
		m.Close()
	}
	return out
}

// psnr compares two model outputs as the 8-bit pictures they become.
func psnr(a, b []float32) float64 {
	level := func(v float32) float64 { return math.Round(math.Min(255, math.Max(0, float64(v)))) }
	var se float64
	for i := range a {
		d := level(a[i]) - level(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

// compare runs two models on every image and returns the mean and worst
// PSNR of b against a, and the mean absolute difference in levels.
func compare(t testing.TB, a, b []byte, imgs []models.CalibImage) (mean, worst, mad float64) {
	t.Helper()
	ra, err := stylize.NewRunner(sharedRT, a, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := stylize.NewRunner(sharedRT, b, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	worst = math.Inf(1)
	var n float64
	for _, img := range imgs {
		shape := []int64{1, 3, int64(img.Height), int64(img.Width)}
		oa, _, err := ra.Run(shape, img.Pixels)
		if err != nil {
			t.Fatal(err)
		}
		ob, _, err := rb.Run(shape, img.Pixels)
		if err != nil {
			t.Fatal(err)
		}
		p := psnr(oa[0], ob[0])
		mean += math.Min(p, 99)
		worst = math.Min(worst, p)
		for i := range oa[0] {
			mad += math.Abs(float64(oa[0][i] - ob[0][i]))
			n++
		}
	}
	return mean / float64(len(imgs)), worst, mad / n
}

func nodeTypes(t testing.TB, data []byte) map[string]int {
	t.Helper()
	g, err := models.ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range g.Nodes {
		out[n.OpType]++
	}
	return out
}

// TestQuantizeShared quantizes udnie (skipped without ../shared/models)
// calibrated on frames of small.mp4 at 320x180 and checks: equalization
// alone moves the FP32 output by under half a level on average; the
// quantized model passes the same checks as any model (self-contained,
// image contract), has QDQ pairs and runs as integer convolutions in ONNX
// Runtime (its profile lists QLinearConv), records its precision and
// provenance, and its output on the test photos (at the calibration's
// size) is within the quality bar of the FP32 output: mean PSNR
// ≥ 38 dB, worst ≥ 30.
func TestQuantizeShared(t *testing.T) {
	if raceBuild {
		// 15 s without -race, 99 s with it, for a quantizer that runs on
		// one goroutine: scripts/test.sh's second pass (without -race)
		// runs it.
		t.Skip("not under -race: the quantizer's numbers, checked by scripts/test.sh's pass without -race")
	}
	m := sharedModel(t, "udnie")
	calib := videoFrames(t, 320, 180, 12)
	ev := stylize.Evaluator{Runtime: sharedRT}
	test := photos(t, 320, 180)
	if len(test) == 0 {
		t.Log("../shared/testdata absent: testing on the video frames")
		test = calib
	}

	eq, _, err := models.Quantize(m.ONNX, ev, models.QuantizeOptions{Images: calib, Source: "small.mp4", Name: "udnie", EqualizeOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	mean, worst, mad := compare(t, m.ONNX, eq, test)
	t.Logf("equalized fp32 vs fp32: PSNR mean %.1f worst %.1f dB, mean abs diff %.3f levels", mean, worst, mad)
	if mad >= 0.5 {
		t.Errorf("equalization alone moved the output by %.2f levels on average", mad)
	}

	q, rep, err := models.Quantize(m.ONNX, ev, models.QuantizeOptions{Images: calib, Source: "small.mp4", Name: "udnie"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report %+v", rep)
	if err := models.CheckSelfContained(q); err != nil {
		t.Fatal(err)
	}
	g, err := models.ParseGraph(q)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.CheckImage(); err != nil {
		t.Fatal(err)
	}
	if g.Precision() != "int8" {
		t.Errorf("precision %q", g.Precision())
	}
	for _, k := range []string{models.MetaQuantizedFrom, models.MetaQuantizedName, models.MetaCalibration, models.MetaQuantizer, models.MetaRewrite} {
		if v, ok := g.MetadataValue(k); !ok || v == "" {
			t.Errorf("metadata %s missing", k)
		}
	}
	types := nodeTypes(t, q)
	if types["QuantizeLinear"] < 2*rep.Quantized || rep.Quantized < 10 {
		t.Errorf("%d convs quantized, node types %v", rep.Quantized, types)
	}
	mean, worst, _ = compare(t, m.ONNX, q, test)
	t.Logf("int8 vs fp32 at 320x180: PSNR mean %.1f worst %.1f dB over %d images", mean, worst, len(test))
	if mean < 38 || worst < 30 {
		t.Errorf("int8 vs fp32: PSNR mean %.1f worst %.1f dB", mean, worst)
	}
	// The float end of the quantized graph gets the phase rewrite when it
	// is loaded (stylize.New runs FasterFP32), and it changes nothing.
	fast, done, err := models.FasterFP32(q)
	if err != nil || !slices.Contains(done, models.RewritePhaseLast) {
		t.Errorf("FasterFP32 of the quantized graph did %v, %v", done, err)
	} else {
		in := noiseImage(160, 96, 9)
		if d := maxAbsDiff(runModel(t, q, 160, 96, in), runModel(t, fast, 160, 96, in)); d > 1e-3 {
			t.Errorf("the phase rewrite moved the quantized graph's output by up to %g levels", d)
		}
	}

	// At run time the convolutions are integer ones.
	prefix := filepath.Join(t.TempDir(), "prof")
	s, err := stylize.New(sharedRT, stylize.Model{Name: "udnie.int8", ONNX: q}, stylize.Config{FrameWidth: 160, FrameHeight: 96, Device: stylize.DeviceCPU, ProfilePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 120, 200, 0), 96, 160, gocv.MatTypeCV8UC3)
	defer frame.Close()
	out := gocv.NewMat()
	defer out.Close()
	if err := stylizeOne(s, 0, &frame, &out); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := stylize.ReadProfile(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	integer := false
	for _, o := range ops {
		names = append(names, o.Op)
		integer = integer || strings.Contains(o.Op, "QLinearConv") || strings.Contains(o.Op, "ConvInteger")
	}
	if !integer {
		t.Errorf("no integer convolution at run time: %v", names)
	}
}

// TestQuantizeJohnsonGraph quantizes the project's own Johnson test graph
// (opset 13, up-sample + conv, reflection padding) and runs it, and the
// same graph in the model zoo's opset-9 shape (upgraded to opset 13
// first); a graph that is not a Johnson net, an opset-8 one (too old to
// upgrade), an already quantized one and no frames are refused with one
// clear line.
func TestQuantizeJohnsonGraph(t *testing.T) {
	ev := stylize.Evaluator{Runtime: sharedRT}
	calib := []models.CalibImage{{Width: 96, Height: 64, Pixels: noiseImage(96, 64, 1)}, {Width: 96, Height: 64, Pixels: noiseImage(96, 64, 2)}}
	j := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 5})
	q, rep, err := models.Quantize(j, ev, models.QuantizeOptions{Images: calib, Source: "noise", Name: "johnson"})
	if err != nil {
		t.Fatal(err)
	}
	// 16 convs: the first, the two strided ones and the last stay float.
	if rep.Quantized != 12 || len(rep.Float) != 4 || rep.InputScale == 0 {
		t.Errorf("report %+v", rep)
	}
	test := []models.CalibImage{{Width: 96, Height: 64, Pixels: noiseImage(96, 64, 9)}}
	mean, _, _ := compare(t, j, q, test)
	t.Logf("johnson test graph int8 vs fp32: %.1f dB", mean)
	if mean < 20 {
		t.Errorf("int8 vs fp32: %.1f dB", mean)
	}

	// The model zoo's shape (opset 9: Pad with attributes, Upsample) is
	// upgraded to opset 13 first, and quantizes the same way.
	j9 := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Seed: 5})
	q9, rep9, err := models.Quantize(j9, ev, models.QuantizeOptions{Images: calib, Source: "noise", Name: "johnson9"})
	if err != nil {
		t.Fatal(err)
	}
	g9, err := models.ParseGraph(q9)
	if err != nil {
		t.Fatal(err)
	}
	if rw, _ := g9.MetadataValue(models.MetaRewrite); g9.Opset != 13 || g9.Precision() != "int8" || !strings.HasPrefix(rw, "opset-9-to-13,") || rep9.Quantized != 12 {
		t.Errorf("opset 9: opset %d, precision %s, rewrites %q, report %+v", g9.Opset, g9.Precision(), rw, rep9)
	}
	mean9, _, _ := compare(t, j9, q9, test)
	t.Logf("johnson test graph at opset 9, int8 vs its fp32: %.1f dB", mean9)
	if mean9 < 20 {
		t.Errorf("opset 9 int8 vs fp32: %.1f dB", mean9)
	}

	for _, c := range []struct {
		name string
		data []byte
		imgs []models.CalibImage
		want string
	}{
		{"built-in toon", builtin(t, "toon").ONNX, calib, "not a Johnson-style"},
		{"opset 8", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 8}), calib, "the model is opset 8"},
		{"no frames", j, nil, "no calibration frames"},
		{"quantized already", q, calib, "already quantized"},
	} {
		_, _, err := models.Quantize(c.data, ev, models.QuantizeOptions{Images: c.imgs})
		if !errors.Is(err, models.ErrNotJohnson) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// boxFrames is every step-th frame of small.mp4, frame i scaled to the
// i-th of 320x180, 640x360 and 1280x720 in turn (sizes a multiple of 4):
// what vidstyle models quantize calibrates on.
func boxFrames(t testing.TB, step int) []models.CalibImage {
	t.Helper()
	frames := testmedia.DecodeAll(t, testmedia.SmallMP4(t)) // closed at the test's end
	boxes := []image.Point{{320, 180}, {640, 360}, {1280, 720}}
	var out []models.CalibImage
	for i := 0; i < len(frames); i += step {
		box := boxes[len(out)%len(boxes)]
		w, h := frames[i].Cols(), frames[i].Rows()
		f := min(float64(box.X)/float64(w), float64(box.Y)/float64(h))
		out = append(out, calibImage(t, frames[i], int(float64(w)*f)/4*4, int(float64(h)*f)/4*4))
	}
	return out
}

// int8Styles are the styles of $VIDSTYLE_INT8_STYLES, by default udnie,
// wave and scream.
func int8Styles() []string {
	if v := os.Getenv("VIDSTYLE_INT8_STYLES"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"udnie", "wave", "scream"}
}

// BenchmarkINT8 is the INT8 table of BENCHMARKS.md: for each style of
// $VIDSTYLE_INT8_STYLES (default udnie, wave and scream; skipped without
// ../shared/models), quantized as vidstyle models quantize does on every
// 10th frame of small.mp4 at the three calibration sizes, raw inference
// FP32 (the original, and rewritten by FasterFP32: what vidstyle runs)
// ÷ INT8 in
// interleaved rounds at 640x360 (and ms per frame at 320x180 and
// 1280x720), and the PSNR of INT8 against FP32 at 640x360 over the test
// photos and 12 frames of small.mp4 that calibration did not see.
func BenchmarkINT8(b *testing.B) {
	calib := boxFrames(b, 10)
	frames := testmedia.DecodeAll(b, testmedia.SmallMP4(b))
	test := photos(b, 640, 360)
	for i := 5; i < len(frames) && len(test) < 15; i += 13 {
		if i%10 != 0 {
			test = append(test, calibImage(b, frames[i], 640, 360))
		}
	}
	styles := int8Styles()
	ev := stylize.Evaluator{Runtime: sharedRT}
	for _, style := range styles {
		m := sharedModel(b, style)
		sub, _, err := models.FasterFP32(m.ONNX)
		if err != nil {
			b.Fatal(err)
		}
		q, _, err := models.Quantize(m.ONNX, ev, models.QuantizeOptions{Images: calib, Source: "small.mp4", Name: style})
		if err != nil {
			b.Fatal(err)
		}
		// As stylize.New runs it.
		if q, _, err = models.FasterFP32(q); err != nil {
			b.Fatal(err)
		}
		b.Run(style, func(b *testing.B) {
			for b.Loop() {
				med := interleaved(b, [][]byte{m.ONNX, sub, q}, 640, 360, 5)
				small := interleaved(b, [][]byte{m.ONNX, q}, 320, 180, 5)
				large := interleaved(b, [][]byte{m.ONNX, q}, 1280, 720, 3)
				mean, worst, _ := compare(b, m.ONNX, q, test)
				b.ReportMetric(med[0]*1e3, "ms/fp32")
				b.ReportMetric(med[1]*1e3, "ms/fp32faster")
				b.ReportMetric(med[2]*1e3, "ms/int8")
				b.ReportMetric(med[0]/med[2], "int8speedup")
				b.ReportMetric(med[1]/med[2], "int8speedup_vs_faster")
				b.ReportMetric(small[0]*1e3, "ms/fp32_320x180")
				b.ReportMetric(small[1]*1e3, "ms/int8_320x180")
				b.ReportMetric(large[0]*1e3, "ms/fp32_1280x720")
				b.ReportMetric(large[1]*1e3, "ms/int8_1280x720")
				b.ReportMetric(mean, "dB_mean")
				b.ReportMetric(worst, "dB_worst")
			}
		})
	}
}

// BenchmarkINT8Speed is the speed half of BenchmarkINT8 with more rounds:
// for each style of $VIDSTYLE_INT8_STYLES (default udnie, wave, scream),
// raw inference at 640x360 of FP32 (the original), FP32 rewritten by
// FasterFP32 (what vidstyle runs) and INT8, 9 interleaved rounds.
// Calibration does not change the speed, so it is short (small.mp4 at
// 320x184, every 20th frame).
func BenchmarkINT8Speed(b *testing.B) {
	calib := videoFrames(b, 320, 184, 20)
	styles := int8Styles()
	ev := stylize.Evaluator{Runtime: sharedRT}
	for _, style := range styles {
		m := sharedModel(b, style)
		q, _, err := models.Quantize(m.ONNX, ev, models.QuantizeOptions{Images: calib, Source: "small.mp4", Name: style})
		if err != nil {
			b.Fatal(err)
		}
		// As stylize.New runs it.
		if q, _, err = models.FasterFP32(q); err != nil {
			b.Fatal(err)
		}
		fast, _, err := models.FasterFP32(m.ONNX)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(style, func(b *testing.B) {
			for b.Loop() {
				med := interleaved(b, [][]byte{m.ONNX, fast, q}, 640, 360, 9)
				b.ReportMetric(med[0]*1e3, "ms/fp32")
				b.ReportMetric(med[1]*1e3, "ms/fp32faster")
				b.ReportMetric(med[2]*1e3, "ms/int8")
				b.ReportMetric(med[0]/med[2], "int8speedup")
				b.ReportMetric(med[1]/med[2], "int8speedup_vs_faster")
				b.ReportMetric(med[0]/med[1], "fasterspeedup")
			}
		})
	}
}
