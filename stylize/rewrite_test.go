package stylize_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

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

// TestPadLastConvIsExact: the padded-last-conv rewrite gives the same
// output as the model it came from (float rounding aside: another kernel
// sums in another order) on every pretrained model and on the Johnson test
// graph at opset 9 (Slice with attributes) and 13 (with inputs), at a size
// that is a multiple of 4 and one that is not; and a second pass changes
// nothing.
func TestPadLastConvIsExact(t *testing.T) {
	type model struct {
		name string
		data []byte
	}
	var ms []model
	for _, opset := range []int64{9, 13} {
		ms = append(ms, model{fmt.Sprint("johnson-opset", opset), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: opset, Seed: 3})})
	}
	_, file, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", "*.onnx"))
	if len(files) == 0 {
		t.Log("../shared/models not present: checking the test graphs only")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, model{filepath.Base(f), data})
	}
	for _, m := range ms {
		padded, changed, err := models.PadLastConv(m.data)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", m.name, changed, err)
		}
		g, err := models.ParseGraph(padded)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := g.MetadataValue(models.MetaRewrite); v != models.RewritePadLast {
			t.Errorf("%s: %s = %q", m.name, models.MetaRewrite, v)
		}
		if _, again, err := models.PadLastConv(padded); err != nil || again {
			t.Errorf("%s: a second pass changed %v, %v", m.name, again, err)
		}
		for _, sz := range [][2]int{{160, 96}, {101, 75}} {
			in := noiseImage(sz[0], sz[1], 7)
			d := maxAbsDiff(runModel(t, m.data, sz[0], sz[1], in), runModel(t, padded, sz[0], sz[1], in))
			t.Logf("%s %dx%d: max abs diff %.2g", m.name, sz[0], sz[1], d)
			if d > 1e-3 {
				t.Errorf("%s %dx%d: max abs diff %g levels after the rewrite", m.name, sz[0], sz[1], d)
			}
		}
	}
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

// BenchmarkPadLastConv measures the padded-last-conv rewrite against the
// original, raw inference at 640x360, interleaved (udnie, or the Johnson
// test graph without ../shared/models): speedup is original ÷ rewritten.
func BenchmarkPadLastConv(b *testing.B) {
	m := sharedModel(b, "udnie")
	padded, _, err := models.PadLastConv(m.ONNX)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		med := interleaved(b, [][]byte{m.ONNX, padded}, 640, 360, 7)
		b.ReportMetric(med[0]*1e3, "ms/fp32")
		b.ReportMetric(med[1]*1e3, "ms/padded")
		b.ReportMetric(med[0]/med[1], "speedup")
	}
}
