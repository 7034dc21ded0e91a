package models

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	g := &graphBuilder{opset: o.Opset}
	r := rand.New(rand.NewPCG(o.Seed, 0x6a6f686e736f6e))
	h, w := Dim{Param: "height"}, Dim{Param: "width"}
	if o.Size > 0 {
		h, w = Dim{Value: o.Size}, Dim{Value: o.Size}
	}
	g.inDims = []Dim{{Value: 1}, {Value: 3}, h, w}
	if o.NHWC {
		g.inDims = []Dim{{Value: 1}, h, w, {Value: 3}}
	}
	g.outDims = g.inDims
	meta := map[string]string{"architecture": "johnson-upsample-conv", "weights": "random"}
	pad := func(x string, p int64) string {
		if p == 0 {
			return x
		}
		if o.Opset < 11 {
			return g.op("Pad", []string{x}, stringAttr("mode", "reflect"), intsAttr("pads", 0, 0, p, p, 0, 0, p, p))
		}
		return g.reflectPad(x, p)
	}
	conv := func(x string, cin, cout, k, stride int64) string {
		w := make([]float32, cout*cin*k*k)
		a := math.Sqrt(6 / float64(cin*k*k))
		for i := range w {
			w[i] = float32((r.Float64()*2 - 1) * a)
		}
		b := make([]float32, cout)
		return g.op("Conv", []string{pad(x, k/2), g.floats([]int64{cout, cin, k, k}, w), g.floats([]int64{cout}, b)},
			intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride))
	}
	norm := func(x string, c int64) string {
		scale, shift := make([]float32, c), make([]float32, c)
		for i := range scale {
			scale[i] = float32(0.5 + r.Float64())
			shift[i] = float32(r.Float64()*0.2 - 0.1)
		}
		return g.op("InstanceNormalization", []string{x, g.floats([]int64{c}, scale), g.floats([]int64{c}, shift)}, floatAttr("epsilon", 1e-5))
	}
	relu := func(x string) string { return g.op("Relu", []string{x}) }
	up := func(x string) string {
		scales := g.floats([]int64{4}, []float32{1, 1, 2, 2})
		if o.Opset < 10 {
			return g.op("Upsample", []string{x, scales}, stringAttr("mode", "nearest"))
		}
		roi := g.floats([]int64{0}, nil)
		return g.op("Resize", []string{x, roi, scales}, stringAttr("mode", "nearest"))
	}

	// Into the Johnson convention: NCHW, RGB, 0..255.
	swapRB := func(x string) string {
		return g.op("Conv", []string{x, g.floats([]int64{3, 3, 1, 1}, []float32{0, 0, 1, 0, 1, 0, 1, 0, 0})})
	}
	x := o.Input
	if o.NHWC {
		x = g.op("Transpose", []string{x}, intsAttr("perm", 0, 3, 1, 2))
	}
	if o.BGR {
		x = swapRB(x)
		meta["vidstyle.channels"] = "BGR"
	}
	switch o.Range {
	case "0..1":
		x = g.op("Mul", []string{x, g.scalar(255)})
		meta["vidstyle.range"] = o.Range
	case "-1..1":
		x = g.op("Mul", []string{g.op("Add", []string{x, g.scalar(1)}), g.scalar(127.5)})
		meta["vidstyle.range"] = o.Range
	}

	x = relu(norm(conv(x, 3, 32, 9, 1), 32))
	if o.Size > 0 { // a stale annotation of the kind exporters leave
		g.valueInfo = append(g.valueInfo, encodeValue(Value{Name: x, ElemType: tensorFloat,
			Dims: []Dim{{Value: 1}, {Value: 32}, {Value: o.Size}, {Value: o.Size}}}))
	}
	x = relu(norm(conv(x, 32, 64, 3, 2), 64))
	x = relu(norm(conv(x, 64, 128, 3, 2), 128))
	for range 5 {
		y := relu(norm(conv(x, 128, 128, 3, 1), 128))
		y = norm(conv(y, 128, 128, 3, 1), 128)
		x = g.op("Add", []string{x, y})
	}
	x = relu(norm(conv(up(x), 128, 64, 3, 1), 64))
	x = relu(norm(conv(up(x), 64, 32, 3, 1), 32))
	// The zoo's nets end in a plain conv; scale and shift it so that the
	// random output spreads around mid-grey instead of sitting on it.
	x = g.op("Add", []string{g.op("Mul", []string{conv(x, 32, 3, 9, 1), g.scalar(40)}), g.scalar(127.5)})

	// And back out of it.
	switch o.Range {
	case "0..1":
		x = g.op("Div", []string{x, g.scalar(255)})
	case "-1..1":
		x = g.op("Sub", []string{g.op("Div", []string{x, g.scalar(127.5)}), g.scalar(1)})
	}
	if o.BGR {
		x = swapRB(x)
	}
	if o.NHWC {
		x = g.op("Transpose", []string{x}, intsAttr("perm", 0, 2, 3, 1))
	}
	return g.model("johnson_upsample", o.Input, x, o.Output,
		"Johnson-architecture transform net (up-sample + conv) with random weights, written by vidstyle for tests and benchmarks.", meta)
}

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
	g := &graphBuilder{}
	h, w := Dim{Param: "height"}, Dim{Param: "width"}
	switch how {
	case BrokenRank:
		g.inDims = []Dim{{Value: 1}, {Value: 3}, h}
	case BrokenChannels:
		g.inDims = []Dim{{Value: 1}, {Value: 1}, h, w}
	case BrokenFloat16:
		g.inType = tensorHalf
	default:
		return nil, fmt.Errorf("BrokenGraph: unknown kind %q", how)
	}
	g.outDims = g.inDims
	out := g.op("Relu", []string{"input"})
	return g.model("broken-"+how, "input", out, "output", "", nil), nil
}
