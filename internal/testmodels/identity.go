package testmodels

import "github.com/vidstyle/vidstyle/internal/onnxgraph"

// IdentityGraph writes an image model that gives back its input: float32
// [1,3,height,width] RGB 0..255 in and out, height and width symbolic. The
// picture goes through a real operator (Mul by 1, then the writer's final
// Identity), so ONNX Runtime plans and runs it like any style. Tests that
// must know which source frame landed where, or that compare colours and
// alpha, run the binary with it: the output is the input as decoded.
func IdentityGraph() []byte {
	return identity("identity", "Identity image model (output = input), written by vidstyle for tests.", 0, 0)
}

// identity writes an image model whose output is its input (Mul by 1),
// of height and width fixed where above 0, symbolic otherwise.
func identity(name, doc string, height, width int64) []byte {
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
	return g.Model(name, "input1", x, "output1", doc, nil)
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
	return identity("half-fixed", "Identity image model with one fixed side, written by vidstyle for tests.", height, width)
}

// ClampedGraph is a model of 0..1 pixels that clamps them: its output is
// clip(input + 1, 0, 1), one flat 1 for any 0..255 picture.
func ClampedGraph() []byte {
	g := &onnxgraph.Builder{Opset: 13}
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	g.OutDims = g.InDims
	x := g.Op("Add", []string{"input1", g.Scalar(1)})
	x = g.Op("Clip", []string{x, g.Scalar(0), g.Scalar(1)})
	return g.Model("clamped", "input1", x, "output1", "A clamping 0..1 image model, written by vidstyle for tests.", nil)
}

// PassThroughGraph is a graph of no nodes whose output is its input (one
// value, both the graph's input and its output): a "model" that does
// nothing.
func PassThroughGraph() []byte {
	v := onnxgraph.EncodeValue(onnxgraph.Value{Name: "input", ElemType: onnxgraph.TensorFloat, Dims: onnxgraph.ImageDims()})
	var graph []byte
	graph = onnxgraph.AppendString(graph, 2, "pass-through")
	graph = onnxgraph.AppendBytes(graph, 11, v)
	graph = onnxgraph.AppendBytes(graph, 12, v)
	var m, opset []byte
	m = onnxgraph.AppendVarint(m, 1, onnxgraph.IRVersion)
	m = onnxgraph.AppendBytes(m, 7, graph)
	opset = onnxgraph.AppendVarint(opset, 2, uint64(onnxgraph.DefaultOpset))
	return onnxgraph.AppendBytes(m, 8, opset)
}
