package stylize_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
)

// opsetSink is an opset-9 graph of every operator UpgradeOpset rewrites,
// on an 8×8 input, summed into one [1,3,24,24] output: Upsample ×3
// nearest (where floor and round differ) and linear, Dropout, Pad in
// constant mode with a non-zero value and in edge mode, Clip with min and
// max, Split and Concat, ReduceSum, Squeeze and Unsqueeze with axes,
// Slice with attributes and Softmax over the last axis.
func opsetSink() []byte {
	g := &onnxgraph.Builder{Opset: 9}
	x := "input"
	s := onnxgraph.StringAttr
	ints := onnxgraph.IntsAttr
	scales := g.Floats([]int64{4}, []float32{1, 1, 3, 3})
	a := g.Op("Upsample", []string{x, scales}, s("mode", "nearest"))
	b := g.Op("Upsample", []string{x, scales}, s("mode", "linear"))
	d := g.Op("Dropout", []string{x}, onnxgraph.FloatAttr("ratio", 0.3))
	c := g.Op("Pad", []string{d}, s("mode", "constant"), onnxgraph.FloatAttr("value", 1.5), ints("pads", 0, 0, 7, 9, 0, 0, 9, 7))
	e := g.Op("Clip", []string{a}, onnxgraph.FloatAttr("min", 40), onnxgraph.FloatAttr("max", 200))
	sp := g.OpN("Split", []string{b}, 2, onnxgraph.IntAttr("axis", 3), ints("split", 10, 14))
	f := g.Op("Concat", []string{sp[1], sp[0]}, onnxgraph.IntAttr("axis", 3))
	r := g.Op("ReduceSum", []string{a}, ints("axes", 2, 3), onnxgraph.IntAttr("keepdims", 1))
	r = g.Op("Unsqueeze", []string{g.Op("Squeeze", []string{r}, ints("axes", 2, 3))}, ints("axes", 2, 3))
	r = g.Op("Mul", []string{r, g.Scalar(1e-3)})
	sl := g.Op("Slice", []string{b}, ints("starts", 2), ints("ends", 24), ints("axes", 3))
	h := g.Op("Pad", []string{sl}, s("mode", "edge"), ints("pads", 0, 0, 0, 0, 0, 0, 0, 2))
	sm := g.Op("Mul", []string{g.Op("Softmax", []string{e}, onnxgraph.IntAttr("axis", -1)), g.Scalar(100)})
	sum := a
	for _, v := range []string{b, c, e, f, r, h, sm} {
		sum = g.Op("Add", []string{sum, v})
	}
	return g.Model("sink", x, sum, "output", "every operator UpgradeOpset rewrites", nil)
}

// resize10 is an opset-10 graph of one Resize-10.
func resize10(mode string, scale float32) []byte {
	g := &onnxgraph.Builder{Opset: 10}
	out := g.Op("Resize", []string{"input", g.Floats([]int64{4}, []float32{1, 1, scale, scale})}, onnxgraph.StringAttr("mode", mode))
	return g.Model("resize10", "input", out, "output", "", nil)
}

// TestUpgradeOpsetIsExact: in ONNX Runtime, a graph upgraded to opset 13
// gives the output of the graph it came from: the Johnson test graph in
// the model zoo's shape (opset 9, with and without fixed shapes) at two
// sizes, a graph of every operator the upgrade rewrites, and Resize-10
// graphs (nearest up and down, linear).
func TestUpgradeOpsetIsExact(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		w, h int
		tol  float64
	}{
		{"johnson opset 9 160x96", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Seed: 4}), 160, 96, 1e-3},
		{"johnson opset 9 101x75", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Seed: 4}), 101, 75, 1e-3},
		{"johnson opset 9 fixed 64x64", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Size: 64, Seed: 4}), 64, 64, 1e-3},
		{"every rewritten op", opsetSink(), 8, 8, 1e-4},
		{"resize10 nearest x3", resize10("nearest", 3), 8, 8, 0},
		{"resize10 nearest x0.75", resize10("nearest", 0.75), 12, 12, 0},
		{"resize10 linear x3", resize10("linear", 3), 8, 8, 1e-4},
	} {
		up, changed, err := models.UpgradeOpset(c.data)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", c.name, changed, err)
		}
		in := noiseImage(c.w, c.h, 11)
		want, got := runModel(t, c.data, c.w, c.h, in), runModel(t, up, c.w, c.h, in)
		d := maxAbsDiff(want, got)
		t.Logf("%s: %d values, max abs diff %.2g", c.name, len(want), d)
		if d > c.tol {
			t.Errorf("%s: max abs diff %g after the upgrade (allowed %g)", c.name, d, c.tol)
		}
	}
}
