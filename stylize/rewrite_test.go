package stylize_test

import (
	"fmt"

	"gocv.io/x/gocv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// sharedModelFiles lists ../shared/models/*.onnx, or skips.
func sharedModelFiles(t testing.TB) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", "*.onnx"))
	if len(files) == 0 {
		t.Skip("../shared/models not present: skipping the pretrained models")
	}
	return files
}

// noiseImage is a [1,3,h,w] tensor of pixel values 0..255 with some
// structure (a gradient plus noise), the same for a seed.
func noiseImage(w, h int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, 3*w*h)
	for c := range 3 {
		for y := range h {
			for x := range w {
				g := float64(x*255/w+y*255/h+c*60) / 2
				v[(c*h+y)*w+x] = float32(math.Mod(g+r.Float64()*60, 256))
			}
		}
	}
	return v
}

// sameOutput runs the original and the rewritten graph on one noise image
// at a size that is a multiple of 4 and one that is not, and fails when
// their outputs differ anywhere by more than 1e-3 levels.
func sameOutput(t *testing.T, name string, orig, rewritten []byte, seed uint64) {
	t.Helper()
	for _, sz := range [][2]int{{160, 96}, {101, 75}} {
		in := noiseImage(sz[0], sz[1], seed)
		d := maxAbsDiff(runModel(t, orig, sz[0], sz[1], in), runModel(t, rewritten, sz[0], sz[1], in))
		t.Logf("%s %dx%d: max abs diff %.2g", name, sz[0], sz[1], d)
		if d > 1e-3 {
			t.Errorf("%s %dx%d: max abs diff %g levels after the rewrite", name, sz[0], sz[1], d)
		}
	}
}

// runModel runs a model once on in ([1,3,h,w]) and returns its output.
func runModel(t testing.TB, model []byte, w, h int, in []float32) []float32 {
	t.Helper()
	r, err := stylize.NewRunner(sharedRT, model, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, _, err := r.Run([]int64{1, 3, int64(h), int64(w)}, in)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestLastConvRewritesAreExact: the padded-last-conv and the sub-pixel
// last-conv rewrites give the same output as the model they came from
// (float rounding aside: another kernel sums in another order) on every
// pretrained model and on the Johnson test graph at opset 9 (Slice with
// attributes) and 13 (with inputs), at a size that is a multiple of 4 and
// one that is not; and a second pass changes nothing.
func TestLastConvRewritesAreExact(t *testing.T) {
	type model = namedModel
	var ms []model
	for _, opset := range []int64{9, 13} {
		ms = append(ms, model{fmt.Sprint("johnson-opset", opset), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: opset, Seed: 3})})
	}
	for _, nm := range sharedModelsOrNone(t) {
		ms = append(ms, model(nm))
	}
	for _, rw := range []struct {
		name    string
		rewrite func([]byte) ([]byte, bool, error)
	}{
		{models.RewritePadLast, models.PadLastConv},
		{models.RewriteSubpixelLast, models.SubpixelLastConv},
	} {
		for _, m := range ms {
			out, changed, err := rw.rewrite(m.data)
			if rw.name == models.RewriteSubpixelLast && m.name == "johnson-opset9" {
				// Its Slice would need ends as an input (opset 10).
				if err != nil || changed {
					t.Errorf("%s %s: changed %v, %v", rw.name, m.name, changed, err)
				}
				continue
			}
			if err != nil || !changed {
				t.Fatalf("%s %s: changed %v, %v", rw.name, m.name, changed, err)
			}
			g, err := models.ParseGraph(out)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := g.MetadataValue(models.MetaRewrite); v != rw.name {
				t.Errorf("%s: %s = %q", m.name, models.MetaRewrite, v)
			}
			if _, again, err := rw.rewrite(out); err != nil || again {
				t.Errorf("%s %s: a second pass changed %v, %v", rw.name, m.name, again, err)
			}
			sameOutput(t, rw.name+" "+m.name, m.data, out, 7)
		}
	}
}

// lowResLastConv is a graph whose last conv runs at a quarter of the
// size (AveragePool 4×4, a 3×3 conv, Resize ×4 back): its output is odd
// whenever the size over 4 is.
func lowResLastConv() []byte {
	r := rand.New(rand.NewPCG(5, 9))
	w := make([]float32, 3*3*3*3)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.3)
	}
	g := &onnxgraph.Builder{}
	p := g.Op("AveragePool", []string{"input"}, onnxgraph.IntsAttr("kernel_shape", 4, 4), onnxgraph.IntsAttr("strides", 4, 4))
	c := g.Op("Conv", []string{p, g.Floats([]int64{3, 3, 3, 3}, w)}, onnxgraph.IntsAttr("pads", 1, 1, 1, 1))
	up := g.Op("Resize", []string{c, "", g.Floats([]int64{4}, []float32{1, 1, 4, 4})}, onnxgraph.StringAttr("mode", "nearest"))
	return g.Model("lowres", "input", g.Op("Relu", []string{up}), "output", "last conv at a quarter of the size", nil)
}

// TestSubpixelLastConvAtOddSizes: a last conv whose output is odd-sized
// (a quarter of 320x180 is 80x45) and one after reflection padding
// (pads 0, the input 8 larger) give the same output after the rewrite,
// run raw and through a Stylizer (which applies FasterFP32) against
// one with Exact set.
func TestSubpixelLastConvAtOddSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"quarter-size last conv", lowResLastConv()},
		{"johnson opset 13 (reflection pad, conv pads 0)", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 4})},
	} {
		out, changed, err := models.SubpixelLastConv(c.data)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", c.name, changed, err)
		}
		for _, sz := range [][2]int{{320, 180}, {100, 76}, {92, 52}} {
			in := noiseImage(sz[0], sz[1], 3)
			a, b := runModel(t, c.data, sz[0], sz[1], in), runModel(t, out, sz[0], sz[1], in)
			if d := maxAbsDiff(a, b); d > 1e-3 {
				t.Errorf("%s %dx%d: %d and %d values, max abs diff %g after the rewrite", c.name, sz[0], sz[1], len(a), len(b), d)
			}
		}
		frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 150, 220, 0), 180, 320, gocv.MatTypeCV8UC3)
		var outs [2]gocv.Mat
		for i, exact := range []bool{true, false} {
			s, err := stylize.New(sharedRT, stylize.Model{Name: c.name, ONNX: c.data}, stylize.Config{FrameWidth: 320, FrameHeight: 180, Device: stylize.DeviceCPU, Exact: exact})
			if err != nil {
				t.Fatal(err)
			}
			outs[i] = gocv.NewMat()
			if err := stylizeOne(s, 0, &frame, &outs[i]); err != nil {
				t.Fatalf("%s exact=%v: %v", c.name, exact, err)
			}
			s.Close()
		}
		diff := gocv.NewMat()
		gocv.AbsDiff(outs[0], outs[1], &diff)
		if mx := maxLevel(diff); mx > 1 {
			t.Errorf("%s: the Stylizer's output differs by up to %d levels from the exact graph's", c.name, mx)
		}
		diff.Close()
		frame.Close()
		outs[0].Close()
		outs[1].Close()
	}
}

// maxLevel is the largest value of an 8-bit Mat.
func maxLevel(m gocv.Mat) int {
	flat := m.Reshape(1, 0)
	defer flat.Close()
	_, mx, _, _ := gocv.MinMaxLoc(flat)
	return int(mx)
}

// convTransposeGraph is one ConvTranspose 3 → 3 channels with random
// weights and bias (then a ReLU, so the output is a picture's range).
func convTransposeGraph(k, stride int64, pads []int64, outPad int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 9))
	w := make([]float32, 3*3*k*k)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.3)
	}
	g := &onnxgraph.Builder{}
	y := g.Op("ConvTranspose", []string{"input", g.Floats([]int64{3, 3, k, k}, w), g.Floats([]int64{3}, []float32{1, -2, 3})},
		onnxgraph.IntsAttr("kernel_shape", k, k), onnxgraph.IntsAttr("strides", stride, stride),
		onnxgraph.IntsAttr("pads", pads...), onnxgraph.IntsAttr("output_padding", outPad, outPad))
	return g.Model("convtranspose", "input", g.Op("Relu", []string{y}), "output", "one transposed conv", nil)
}

// TestSubpixelConvTransposeIsExact: rewriting each ConvTranspose as a
// conv and DepthToSpace gives the same output on the pretrained models
// (TensorFlow's SAME padding: 3×3, stride 2, pads 0 0 1 1) and on single
// transposed convs with PyTorch's padding (pads 1, output_padding 1), a
// 4×4 kernel, stride 3 and asymmetric pads, at two sizes; a second pass
// changes nothing; a dilated one is left alone.
func TestSubpixelConvTransposeIsExact(t *testing.T) {
	type model = namedModel
	ms := []model{
		{"3x3 s2 tf-same", convTransposeGraph(3, 2, []int64{0, 0, 1, 1}, 0, 1)},
		{"3x3 s2 pytorch", convTransposeGraph(3, 2, []int64{1, 1, 1, 1}, 1, 2)},
		{"4x4 s2 pads 1", convTransposeGraph(4, 2, []int64{1, 1, 1, 1}, 0, 3)},
		{"5x5 s3 pads 1 0 1 2", convTransposeGraph(5, 3, []int64{1, 0, 1, 2}, 0, 4)},
	}
	for _, nm := range sharedModelsOrNone(t) {
		ms = append(ms, model(nm))
	}
	for _, m := range ms {
		out, changed, err := models.SubpixelConvTranspose(m.data)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", m.name, changed, err)
		}
		types := nodeTypes(t, out)
		if types["ConvTranspose"] != 0 || types["DepthToSpace"] == 0 {
			t.Errorf("%s: node types %v", m.name, types)
		}
		if _, again, err := models.SubpixelConvTranspose(out); err != nil || again {
			t.Errorf("%s: a second pass changed %v, %v", m.name, again, err)
		}
		sameOutput(t, m.name, m.data, out, 7)
	}
	g := &onnxgraph.Builder{}
	w := make([]float32, 3*3*3*3)
	dilated := g.Model("dilated", "input", g.Op("ConvTranspose", []string{"input", g.Floats([]int64{3, 3, 3, 3}, w)},
		onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("dilations", 2, 2)), "output", "", nil)
	if _, changed, err := models.SubpixelConvTranspose(dilated); err != nil || changed {
		t.Errorf("dilated: changed %v, %v", changed, err)
	}
}

// namedModel is a model's bytes and a name for messages.
type namedModel struct {
	name string
	data []byte
}

// sharedModelsOrNone reads ../shared/models/*.onnx, none (with a log
// line) when the folder is absent.
func sharedModelsOrNone(t *testing.T) []namedModel {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", "*.onnx"))
	if len(files) == 0 {
		t.Log("../shared/models not present: checking the test graphs only")
	}
	var out []namedModel
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedModel{filepath.Base(f), data})
	}
	return out
}

// interleaved times each model's raw inference at w×h over rounds
// rounds, in turn within each round (so that a shared machine's load
// falls on all alike), and returns the median seconds per frame of each.
func interleaved(tb testing.TB, graphs [][]byte, w, h, rounds int) []float64 {
	tb.Helper()
	in := noiseImage(w, h, 1)
	shape := []int64{1, 3, int64(h), int64(w)}
	var rs []*stylize.Runner
	for _, g := range graphs {
		r, err := stylize.NewRunner(sharedRT, g, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		defer r.Close()
		if _, _, err := r.Run(shape, in); err != nil { // warm up
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	times := make([][]float64, len(rs))
	for range rounds {
		for i, r := range rs {
			start := time.Now()
			if _, _, err := r.Run(shape, in); err != nil {
				tb.Fatal(err)
			}
			times[i] = append(times[i], time.Since(start).Seconds())
		}
	}
	med := make([]float64, len(rs))
	for i, ts := range times {
		slices.Sort(ts)
		med[i] = ts[len(ts)/2]
	}
	return med
}

// BenchmarkLastConvRewrites measures the padded-last-conv rewrite, the
// sub-pixel last-conv rewrite, that and the sub-pixel transposed convs
// ("both"), and FasterFP32 (both and the phase rewrite: what stylize.New
// runs) against the original udnie, raw inference at 640x360,
// interleaved: each speedup is original ÷ rewritten, the phase speedup
// both ÷ FasterFP32.
func BenchmarkLastConvRewrites(b *testing.B) {
	m := sharedModel(b, "udnie")
	padded, _, err := models.PadLastConv(m.ONNX)
	if err != nil {
		b.Fatal(err)
	}
	sub, _, err := models.SubpixelLastConv(m.ONNX)
	if err != nil {
		b.Fatal(err)
	}
	both, _, err := models.SubpixelConvTranspose(sub)
	if err != nil {
		b.Fatal(err)
	}
	faster, _, err := models.FasterFP32(m.ONNX)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		med := interleaved(b, [][]byte{m.ONNX, padded, sub, both, faster}, 640, 360, 7)
		b.ReportMetric(med[0]*1e3, "ms/fp32")
		b.ReportMetric(med[1]*1e3, "ms/padded")
		b.ReportMetric(med[2]*1e3, "ms/subpixel")
		b.ReportMetric(med[3]*1e3, "ms/subpixel_both")
		b.ReportMetric(med[4]*1e3, "ms/faster")
		b.ReportMetric(med[0]/med[1], "padspeedup")
		b.ReportMetric(med[0]/med[2], "subpixelspeedup")
		b.ReportMetric(med[0]/med[3], "bothspeedup")
		b.ReportMetric(med[3]/med[4], "phasespeedup")
		b.ReportMetric(med[0]/med[4], "fasterspeedup")
	}
}

// upTailGraph is the end of a Johnson net with random weights: a stride-2
// conv down (3 → 2c channels), a transposed conv up (2c → c, 3×3, stride
// 2, the given pads and output padding, with a bias), InstanceNormalization,
// ReLU and a 9×9 conv to 3 channels with pads 4 and a bias.
func upTailGraph(c int64, pads []int64, outPad int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	rnd := func(n int64, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * s)
		}
		return v
	}
	g := &onnxgraph.Builder{}
	down := g.Op("Conv", []string{"input", g.Floats([]int64{2 * c, 3, 3, 3}, rnd(2*c*27, 0.02))},
		onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 1, 1, 1, 1))
	up := g.Op("ConvTranspose", []string{down, g.Floats([]int64{2 * c, c, 3, 3}, rnd(2*c*c*9, 0.3)), g.Floats([]int64{c}, rnd(c, 1))},
		onnxgraph.IntsAttr("kernel_shape", 3, 3), onnxgraph.IntsAttr("strides", 2, 2),
		onnxgraph.IntsAttr("pads", pads...), onnxgraph.IntsAttr("output_padding", outPad, outPad))
	norm := g.Op("InstanceNormalization", []string{up, g.Floats([]int64{c}, rnd(c, 1)), g.Floats([]int64{c}, rnd(c, 1))},
		onnxgraph.FloatAttr("epsilon", 1e-3))
	last := g.Op("Conv", []string{g.Op("Relu", []string{norm}), g.Floats([]int64{3, c, 9, 9}, rnd(3*c*81, 0.1)), g.Floats([]int64{3}, []float32{100, 120, 140})},
		onnxgraph.IntsAttr("pads", 4, 4, 4, 4))
	return g.Model("uptail", "input", last, "output", "the up-sampling end of a Johnson net", nil)
}

// TestPhaseLastConvIsExact: running the last conv over the phases of the
// last up-sampling stage (PhaseLastConv, after the sub-pixel rewrites, as
// FasterFP32 does it) gives the same output as the model it came from, on
// every pretrained model and on up-sampling ends with TensorFlow and
// PyTorch padding and biases, at a size that is a multiple of 4 and one
// that is not. The full-size DepthToSpace is gone, a second pass changes
// nothing, and a chain whose tensor is read elsewhere is left alone.
func TestPhaseLastConvIsExact(t *testing.T) {
	ms := []namedModel{
		{"tf-same tail", upTailGraph(8, []int64{0, 0, 1, 1}, 0, 1)},
		{"pytorch tail", upTailGraph(16, []int64{1, 1, 1, 1}, 1, 2)},
	}
	ms = append(ms, sharedModelsOrNone(t)...)
	for _, m := range ms {
		out, done, err := models.FasterFP32(m.data)
		if err != nil || !slices.Contains(done, models.RewritePhaseLast) {
			t.Fatalf("%s: FasterFP32 did %v, %v", m.name, done, err)
		}
		sub, _, err := models.SubpixelConvTranspose(m.data)
		if err != nil {
			t.Fatal(err)
		}
		if sub, _, err = models.SubpixelLastConv(sub); err != nil {
			t.Fatal(err)
		}
		// Two DepthToSpace: the first up-sampling and the last conv's
		// twelve channels; the second up-sampling's is gone.
		if a, b := nodeTypes(t, sub)["DepthToSpace"], nodeTypes(t, out)["DepthToSpace"]; b != a-1 {
			t.Errorf("%s: %d DepthToSpace after the phase rewrite, %d before", m.name, b, a)
		}
		if _, again, err := models.PhaseLastConv(out); err != nil || again {
			t.Errorf("%s: a second pass changed %v, %v", m.name, again, err)
		}
		sameOutput(t, m.name, m.data, out, 5)
	}
	// The normalized tensor also read by another node: left alone.
	g := &onnxgraph.Builder{}
	w := make([]float32, 4*3*3*3)
	up := g.Op("ConvTranspose", []string{"input", g.Floats([]int64{3, 4, 3, 3}, w)},
		onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 0, 0, 1, 1))
	norm := g.Op("InstanceNormalization", []string{up, g.Floats([]int64{4}, []float32{1, 1, 1, 1}), g.Floats([]int64{4}, make([]float32, 4))})
	relu := g.Op("Relu", []string{norm})
	last := g.Op("Conv", []string{relu, g.Floats([]int64{3, 4, 9, 9}, make([]float32, 3*4*81))}, onnxgraph.IntsAttr("pads", 4, 4, 4, 4))
	shared := g.Model("shared", "input", g.Op("Add", []string{last, g.Op("ReduceMean", []string{norm})}), "output", "", nil)
	sub, _, err := models.SubpixelConvTranspose(shared)
	if err != nil {
		t.Fatal(err)
	}
	if sub, _, err = models.SubpixelLastConv(sub); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := models.PhaseLastConv(sub); err != nil || changed {
		t.Errorf("a normalized tensor read twice: changed %v, %v", changed, err)
	}
}
