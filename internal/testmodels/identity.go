package testmodels

import "github.com/vidstyle/vidstyle/internal/onnxgraph"

// IdentityGraph writes an image model that gives back its input: float32
// [1,3,height,width] RGB 0..255 in and out, height and width symbolic. The
// picture goes through a real operator (Mul by 1, then the writer's final
// Identity), so ONNX Runtime plans and runs it like any style. Tests that
// must know which source frame landed where, or that compare colours and
// alpha, run the binary with it: the output is the input as decoded.
func IdentityGraph() []byte {
	g := &onnxgraph.Builder{Opset: 13}
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	g.OutDims = g.InDims
	x := g.Op("Mul", []string{"input1", g.Scalar(1)})
	return g.Model("identity", "input1", x, "output1",
		"Identity image model (output = input), written by vidstyle for tests.", nil)
}

// ScaledGraph is an image model whose output is its input times k: with
// k NaN, a model whose weights are broken.
func ScaledGraph(k float32) []byte {
	g := &onnxgraph.Builder{Opset: 13}
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	g.OutDims = g.InDims
	x := g.Op("Mul", []string{"input1", g.Scalar(k)})
	return g.Model("scaled", "input1", x, "output1", "Image model output = input × k, written by vidstyle for tests.", nil)
}

// HalfFixedGraph is IdentityGraph with one side fixed: its height when
// height is above 0, else its width (a model exported with one dynamic
// axis).
func HalfFixedGraph(height, width int64) []byte {
	g := &onnxgraph.Builder{Opset: 13}
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	if height > 0 {
		h = onnxgraph.Dim{Value: height}
	}
	if width > 0 {
		w = onnxgraph.Dim{Value: width}
	}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	g.OutDims = g.InDims
	x := g.Op("Mul", []string{"input1", g.Scalar(1)})
	return g.Model("half-fixed", "input1", x, "output1", "Identity image model with one fixed side, written by vidstyle for tests.", nil)
}
