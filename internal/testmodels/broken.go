package testmodels

import (
	"fmt"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// Broken image contracts that BrokenGraph can write.
const (
	BrokenRank     = "rank"     // input [1,3,H] instead of [1,3,H,W]
	BrokenChannels = "channels" // input [1,1,H,W]: one channel
	BrokenFloat16  = "float16"  // float16 input and output only
)

// BrokenGraph writes a one-operator graph (Relu) whose image input breaks
// the contract as named (BrokenRank, BrokenChannels, BrokenFloat16). It
// exists so that tests can hand such models to the real binary.
func BrokenGraph(how string) ([]byte, error) {
	g := &onnxgraph.Builder{}
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	switch how {
	case BrokenRank:
		g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h}
	case BrokenChannels:
		g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 1}, h, w}
	case BrokenFloat16:
		g.InType = onnxgraph.TensorFloat16
	default:
		return nil, fmt.Errorf("BrokenGraph: unknown kind %q", how)
	}
	g.OutDims = g.InDims
	out := g.Op("Relu", []string{"input"})
	return g.Model("broken-"+how, "input", out, "output", "", nil), nil
}

// ExternalDataGraph writes an image model (a 1×1 convolution) whose
// weights, float32 [3,3,1,1], keep their 36 bytes in the file at location
// (ONNX external data). ONNX Runtime 1.24, given the model as bytes,
// resolves a relative location from the working directory: with
// "../../../../etc/passwd" the "style" mixes the first bytes of that file
// into every pixel. vidstyle must refuse it on every load path; tests hand
// it to each.
func ExternalDataGraph(location string) []byte {
	g := &onnxgraph.Builder{}
	w := g.ExternalFloats([]int64{3, 3, 1, 1}, location)
	return g.Model("external-data", "input", g.Op("Conv", []string{"input", w}), "output", "", nil)
}
