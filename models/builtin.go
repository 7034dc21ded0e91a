package models

import (
	"math"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// Built-in styles are small ONNX graphs written by this package at run time.
// They are not neural networks: they are classic image filters (blur,
// posterize, Sobel edges) expressed as ONNX operators, so that vidstyle has a
// style that needs no download and runs through exactly the same ONNX Runtime
// path, contract and tensors as a trained Johnson network.

// Builtin is a style that ships inside the binary.
type Builtin struct {
	Name        string
	Description string
	build       func() []byte
}

// ONNX returns the style's serialized ONNX model.
func (b Builtin) ONNX() []byte { return b.build() }

// DefaultStyle is the style used when none is asked for.
const DefaultStyle = "toon"

// Builtins lists the built-in styles, the default first.
func Builtins() []Builtin {
	return []Builtin{
		{
			Name:        "toon",
			Description: "built-in cartoon look: Gaussian blur, 6-level posterize, Sobel ink lines (a filter graph, not a neural net)",
			build:       buildToon,
		},
		{
			Name:        "pencil",
			Description: "built-in pencil sketch: grey tone on warm paper with Sobel strokes (a filter graph, not a neural net)",
			build:       buildPencil,
		},
	}
}

// LookupBuiltin finds a built-in style by name.
func LookupBuiltin(name string) (Builtin, bool) {
	for _, b := range Builtins() {
		if b.Name == name {
			return b, true
		}
	}
	return Builtin{}, false
}

// Names of the graph's ends; the same as the ../shared models use.
const (
	builtinInput  = "input"
	builtinOutput = "output"
)

func gaussianKernel(size int, sigma float64) []float32 {
	k := make([]float32, size*size)
	c := float64(size-1) / 2
	var sum float64
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			v := math.Exp(-((float64(x)-c)*(float64(x)-c) + (float64(y)-c)*(float64(y)-c)) / (2 * sigma * sigma))
			k[y*size+x] = float32(v)
			sum += v
		}
	}
	for i := range k {
		k[i] = float32(float64(k[i]) / sum)
	}
	return k
}

// filterGraph adds the classic filters the built-in styles are made of to
// an ONNX graph.
type filterGraph struct{ *onnxgraph.Builder }

// blur applies a size×size Gaussian to each of the channels of x.
func (g filterGraph) blur(x string, channels, size int64, sigma float64) string {
	k := gaussianKernel(int(size), sigma)
	w := make([]float32, 0, int(channels)*len(k))
	for c := int64(0); c < channels; c++ {
		w = append(w, k...)
	}
	weights := g.Floats([]int64{channels, 1, size, size}, w)
	return g.Op("Conv", []string{g.ReflectPad(x, size/2), weights}, onnxgraph.IntAttr("group", channels))
}

// luma turns RGB into one grey channel (BT.601 weights).
func (g filterGraph) luma(x string) string {
	w := g.Floats([]int64{1, 3, 1, 1}, []float32{0.299, 0.587, 0.114})
	return g.Op("Conv", []string{x, w})
}

// edges returns the Sobel gradient magnitude of a one-channel image.
func (g filterGraph) edges(grey string) string {
	sobel := g.Floats([]int64{2, 1, 3, 3}, []float32{
		-1, 0, 1, -2, 0, 2, -1, 0, 1, // d/dx
		-1, -2, -1, 0, 0, 0, 1, 2, 1, // d/dy
	})
	grad := g.Op("Conv", []string{g.ReflectPad(grey, 1), sobel})
	sq := g.Op("Mul", []string{grad, grad})
	sum := g.Op("Conv", []string{sq, g.Floats([]int64{1, 2, 1, 1}, []float32{1, 1})})
	return g.Op("Sqrt", []string{sum})
}

func (g filterGraph) clip(x string, lo, hi float32) string {
	return g.Op("Clip", []string{x, g.Scalar(lo), g.Scalar(hi)})
}

// buildToon: smooth, posterize to 6 levels per channel, darken along edges.
func buildToon() []byte {
	g := filterGraph{&onnxgraph.Builder{}}
	const step = 256.0 / 6
	smooth := g.blur(builtinInput, 3, 5, 1.4)
	levels := g.Op("Floor", []string{g.Op("Div", []string{smooth, g.Scalar(step)})})
	poster := g.Op("Add", []string{g.Op("Mul", []string{levels, g.Scalar(step)}), g.Scalar(step / 2)})
	mag := g.edges(g.luma(smooth))
	// ink is 0 below a gradient of 40 and 1 above 140.
	ink := g.clip(g.Op("Div", []string{g.Op("Sub", []string{mag, g.Scalar(40)}), g.Scalar(100)}), 0, 1)
	keep := g.Op("Sub", []string{g.Scalar(1), g.Op("Mul", []string{ink, g.Scalar(0.85)})})
	out := g.clip(g.Op("Mul", []string{poster, keep}), 0, 255)
	return g.Model("vidstyle_toon", builtinInput, out, builtinOutput,
		"vidstyle built-in 'toon' style: Gaussian blur 5x5, posterize to 6 levels, Sobel ink lines. Not a neural network.",
		map[string]string{"style": "toon", "input_contract": "float32 [1,3,H,W] RGB 0..255", "output_contract": "float32 [1,3,H,W] RGB 0..255", "license": "same as vidstyle"})
}

// buildPencil: grey tone on warm paper, Sobel strokes.
func buildPencil() []byte {
	g := filterGraph{&onnxgraph.Builder{}}
	grey := g.blur(g.luma(builtinInput), 1, 7, 1.8)
	// Gradients under 24 (sensor noise, compression blocks) draw nothing.
	mag := g.Op("Relu", []string{g.Op("Sub", []string{g.edges(grey), g.Scalar(24)})})
	tone := g.Op("Add", []string{g.Op("Mul", []string{g.Op("Sub", []string{grey, g.Scalar(128)}), g.Scalar(0.15)}), g.Scalar(228)})
	stroke := g.clip(g.Op("Sub", []string{tone, g.Op("Mul", []string{mag, g.Scalar(0.9)})}), 0, 255)
	paper := g.Floats([]int64{3, 1, 1, 1}, []float32{1.0, 0.97, 0.9})
	out := g.clip(g.Op("Conv", []string{stroke, paper}), 0, 255)
	return g.Model("vidstyle_pencil", builtinInput, out, builtinOutput,
		"vidstyle built-in 'pencil' style: luma, Gaussian blur 7x7, Sobel strokes on warm paper. Not a neural network.",
		map[string]string{"style": "pencil", "input_contract": "float32 [1,3,H,W] RGB 0..255", "output_contract": "float32 [1,3,H,W] RGB 0..255", "license": "same as vidstyle"})
}
