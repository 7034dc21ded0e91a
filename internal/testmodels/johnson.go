// Package testmodels writes ONNX models for tests and benchmarks: a
// Johnson-architecture transform net with random weights and graphs that
// break the image contract. It is imported by tests only.
package testmodels

import (
	"math"
	"math/rand/v2"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// JohnsonOptions shapes a graph made by JohnsonGraph.
type JohnsonOptions struct {
	// Input and Output name the graph's ends (default "input1" and
	// "output1", the ONNX model zoo's names).
	Input, Output string
	// Opset is 9 (the zoo's: Pad with attributes, Upsample) or 11 and up
	// (Pad with inputs, Resize). Default 9.
	Opset int64
	// Size fixes the input and output to Size×Size and records the fixed
	// shapes of intermediate values, as the zoo's exporter did; 0 leaves
	// height and width symbolic.
	Size int64
	// Seed picks the random weights.
	Seed uint64
	// NHWC, BGR and Range make the graph take and give its pixels in
	// another convention (recorded in its metadata where the shape does not
	// tell): it converts to the Johnson convention at its input and back at
	// its output, so for one seed every variant paints the same picture.
	NHWC  bool
	BGR   bool
	Range string // "", "0..255", "0..1" or "-1..1"
}

// JohnsonGraph writes a Johnson-architecture transform net in the
// up-sample-then-convolve form of pytorch/examples and the ONNX model zoo
// (reflection padding, 5 residual blocks, instance norm) with random
// weights. It has the real networks' shape and cost (≈ 154 k multiply-adds
// per pixel) but paints nothing useful: it exists to test import, size
// rewriting, cost counting and speed without downloading a model.
func JohnsonGraph(o JohnsonOptions) []byte {
	if o.Input == "" {
		o.Input = "input1"
	}
	if o.Output == "" {
		o.Output = "output1"
	}
	if o.Opset == 0 {
		o.Opset = 9
	}
	g := &onnxgraph.Builder{Opset: o.Opset}
	r := rand.New(rand.NewPCG(o.Seed, 0x6a6f686e736f6e))
	h, w := onnxgraph.Dim{Param: "height"}, onnxgraph.Dim{Param: "width"}
	if o.Size > 0 {
		h, w = onnxgraph.Dim{Value: o.Size}, onnxgraph.Dim{Value: o.Size}
	}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	if o.NHWC {
		g.InDims = []onnxgraph.Dim{{Value: 1}, h, w, {Value: 3}}
	}
	g.OutDims = g.InDims
	meta := map[string]string{"architecture": "johnson-upsample-conv", "weights": "random"}
	pad := func(x string, p int64) string {
		if p == 0 {
			return x
		}
		if o.Opset < 11 {
			return g.Op("Pad", []string{x}, onnxgraph.StringAttr("mode", "reflect"), onnxgraph.IntsAttr("pads", 0, 0, p, p, 0, 0, p, p))
		}
		return g.ReflectPad(x, p)
	}
	conv := func(x string, cin, cout, k, stride int64) string {
		w := make([]float32, cout*cin*k*k)
		a := math.Sqrt(6 / float64(cin*k*k))
		for i := range w {
			w[i] = float32((r.Float64()*2 - 1) * a)
		}
		b := make([]float32, cout)
		return g.Op("Conv", []string{pad(x, k/2), g.Floats([]int64{cout, cin, k, k}, w), g.Floats([]int64{cout}, b)},
			onnxgraph.IntsAttr("kernel_shape", k, k), onnxgraph.IntsAttr("strides", stride, stride))
	}
	norm := func(x string, c int64) string {
		scale, shift := make([]float32, c), make([]float32, c)
		for i := range scale {
			scale[i] = float32(0.5 + r.Float64())
			shift[i] = float32(r.Float64()*0.2 - 0.1)
		}
		return g.Op("InstanceNormalization", []string{x, g.Floats([]int64{c}, scale), g.Floats([]int64{c}, shift)}, onnxgraph.FloatAttr("epsilon", 1e-5))
	}
	relu := func(x string) string { return g.Op("Relu", []string{x}) }
	up := func(x string) string {
		scales := g.Floats([]int64{4}, []float32{1, 1, 2, 2})
		if o.Opset < 10 {
			return g.Op("Upsample", []string{x, scales}, onnxgraph.StringAttr("mode", "nearest"))
		}
		roi := g.Floats([]int64{0}, nil)
		return g.Op("Resize", []string{x, roi, scales}, onnxgraph.StringAttr("mode", "nearest"))
	}

	// Into the Johnson convention: NCHW, RGB, 0..255.
	swapRB := func(x string) string {
		return g.Op("Conv", []string{x, g.Floats([]int64{3, 3, 1, 1}, []float32{0, 0, 1, 0, 1, 0, 1, 0, 0})})
	}
	x := o.Input
	if o.NHWC {
		x = g.Op("Transpose", []string{x}, onnxgraph.IntsAttr("perm", 0, 3, 1, 2))
	}
	if o.BGR {
		x = swapRB(x)
		meta["vidstyle.channels"] = "BGR"
	}
	switch o.Range {
	case "0..1":
		x = g.Op("Mul", []string{x, g.Scalar(255)})
		meta["vidstyle.range"] = o.Range
	case "-1..1":
		x = g.Op("Mul", []string{g.Op("Add", []string{x, g.Scalar(1)}), g.Scalar(127.5)})
		meta["vidstyle.range"] = o.Range
	}

	x = relu(norm(conv(x, 3, 32, 9, 1), 32))
	if o.Size > 0 { // a stale annotation of the kind exporters leave
		g.Annotate(onnxgraph.Value{Name: x, ElemType: onnxgraph.TensorFloat,
			Dims: []onnxgraph.Dim{{Value: 1}, {Value: 32}, {Value: o.Size}, {Value: o.Size}}})
	}
	x = relu(norm(conv(x, 32, 64, 3, 2), 64))
	x = relu(norm(conv(x, 64, 128, 3, 2), 128))
	for range 5 {
		y := relu(norm(conv(x, 128, 128, 3, 1), 128))
		y = norm(conv(y, 128, 128, 3, 1), 128)
		x = g.Op("Add", []string{x, y})
	}
	x = relu(norm(conv(up(x), 128, 64, 3, 1), 64))
	x = relu(norm(conv(up(x), 64, 32, 3, 1), 32))
	// The zoo's nets end in a plain conv; scale and shift it so that the
	// random output spreads around mid-grey instead of sitting on it.
	x = g.Op("Add", []string{g.Op("Mul", []string{conv(x, 32, 3, 9, 1), g.Scalar(40)}), g.Scalar(127.5)})

	// And back out of it.
	switch o.Range {
	case "0..1":
		x = g.Op("Div", []string{x, g.Scalar(255)})
	case "-1..1":
		x = g.Op("Sub", []string{g.Op("Div", []string{x, g.Scalar(127.5)}), g.Scalar(1)})
	}
	if o.BGR {
		x = swapRB(x)
	}
	if o.NHWC {
		x = g.Op("Transpose", []string{x}, onnxgraph.IntsAttr("perm", 0, 2, 3, 1))
	}
	return g.Model("johnson_upsample", o.Input, x, o.Output,
		"Johnson-architecture transform net (up-sample + conv) with random weights, written by vidstyle for tests and benchmarks.", meta)
}
