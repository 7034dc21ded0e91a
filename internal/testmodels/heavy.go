package testmodels

import (
	"encoding/binary"
	"math"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// SlowGraph writes an image model of a few hundred bytes that is slow to
// run: n convolutions with k×k kernels (3 channels in and out, padded to
// keep the size) whose weights, all 1/(3k²), a ConstantOfShape makes when
// the model loads. Each one costs 9·k² multiply-adds a pixel: at 96x64
// with k = 255, about 0.1–0.3 s on two cores. It stands for a crafted
// model that keeps a check busy for minutes.
func SlowGraph(n int, k int64) []byte {
	g := &onnxgraph.Builder{Opset: 13}
	var v []byte // TensorProto: float32 [1] = 1/(3k²)
	v = onnxgraph.AppendVarint(v, 1, 1)
	v = onnxgraph.AppendVarint(v, 2, onnxgraph.TensorFloat)
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1/float32(3*k*k)))
	v = onnxgraph.AppendBytes(v, 9, raw)
	shape := g.Int64s([]int64{4}, []int64{3, 3, k, k})
	w := g.Op("ConstantOfShape", []string{shape}, onnxgraph.TensorAttr("value", v))
	x := "input"
	for range n {
		x = g.Op("Conv", []string{x, w}, onnxgraph.IntsAttr("pads", k/2, k/2, k/2, k/2))
	}
	return g.Model("slow", "input", x, "output", "A slow image model, written by vidstyle for tests.", nil)
}

// ResizedGraph writes an image model whose output is its input resized by
// scale on both sides (Resize, nearest for scales of 1 and up, linear
// below): a model that paints another size than it is given, as
// super-resolution nets (×2, ×4) do. With nhwc, its input and output are
// [1,H,W,3].
func ResizedGraph(scale float32, nhwc ...bool) []byte {
	g := &onnxgraph.Builder{Opset: 13}
	mode := "nearest"
	if scale < 1 {
		mode = "linear"
	}
	scales := []float32{1, 1, scale, scale}
	if len(nhwc) > 0 && nhwc[0] {
		h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
		g.InDims = []onnxgraph.Dim{{Value: 1}, h, w, {Value: 3}}
		g.OutDims = []onnxgraph.Dim{{Value: 1}, {Param: "oh"}, {Param: "ow"}, {Value: 3}}
		scales = []float32{1, scale, scale, 1}
	}
	x := g.Op("Resize", []string{"input", "", g.Floats([]int64{4}, scales)}, onnxgraph.StringAttr("mode", mode))
	return g.Model("resized", "input", x, "output", "An image model that resizes, written by vidstyle for tests.", nil)
}

// FixedOutputGraph writes an image model whose output is out×out whatever
// its input (Resize to sizes): a graph that depends on a size of its own.
// With fixed above 0 its input declares fixed×fixed, as zoo models do.
func FixedOutputGraph(out, fixed int64) []byte {
	g := &onnxgraph.Builder{Opset: 13}
	if fixed > 0 {
		g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, {Value: fixed}, {Value: fixed}}
		g.OutDims = g.InDims
	}
	sizes := g.Int64s([]int64{4}, []int64{1, 3, out, out})
	x := g.Op("Resize", []string{"input", "", "", sizes}, onnxgraph.StringAttr("mode", "linear"))
	return g.Model("fixed-output", "input", x, "output", "An image model of one output size, written by vidstyle for tests.", nil)
}

// PooledGraph is a size-free image model that paints one pixel whatever
// its input (GlobalAveragePool), its output declared [1,3,1,1].
func PooledGraph() []byte {
	g := &onnxgraph.Builder{Opset: 13}
	g.OutDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, {Value: 1}, {Value: 1}}
	x := g.Op("GlobalAveragePool", []string{"input"})
	return g.Model("pooled", "input", x, "output", "An image model of one output pixel, written by vidstyle for tests.", nil)
}
