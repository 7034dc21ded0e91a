package models

import (
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
	if o.Size > 0 {
		fixed := []Dim{{Value: 1}, {Value: 3}, {Value: o.Size}, {Value: o.Size}}
		g.inDims, g.outDims = fixed, fixed
	}
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

	x := relu(norm(conv(o.Input, 3, 32, 9, 1), 32))
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
	// The zoo's nets end in a plain conv; add 127.5 so that the random
	// output sits around mid-grey.
	x = g.op("Add", []string{conv(x, 32, 3, 9, 1), g.scalar(127.5)})
	return g.model("johnson_upsample", o.Input, x, o.Output,
		"Johnson-architecture transform net (up-sample + conv) with random weights, written by vidstyle for tests and benchmarks.",
		map[string]string{"architecture": "johnson-upsample-conv", "weights": "random"})
}
