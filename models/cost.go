package models

import (
	"fmt"
	"slices"
)

// Cost is a model's arithmetic, counted from its graph.
type Cost struct {
	// MACsPerPixel is multiply-adds per output pixel in the convolutions.
	MACsPerPixel float64
	// Layers counts the convolutions counted.
	Layers int
	// Unknown lists what the count could not follow (a resize to a fixed
	// size, say); the figure is then a lower bound.
	Unknown []string
}

// FLOPsPerPixel is two FLOPs per multiply-add.
func (c Cost) FLOPsPerPixel() float64 { return 2 * c.MACsPerPixel }

// GFLOPs is the cost of one w×h frame in GFLOP.
func (c Cost) GFLOPs(w, h int) float64 { return c.FLOPsPerPixel() * float64(w*h) / 1e9 }

// scale is a tensor's size relative to the graph input, per axis.
type scale struct{ y, x float64 }

// Cost counts the convolutions' multiply-adds per output pixel by following
// each tensor's size relative to the image input through the graph: a conv
// costs its output pixels × k² × C_in/group × C_out, a transposed conv its
// input pixels × k² × C_in × C_out/group; strides, up-sampling, pooling
// and DepthToSpace/SpaceToDepth change the size, other operators keep it.
func (g *Graph) Cost() (Cost, error) {
	if len(g.Inputs) != 1 {
		return Cost{}, fmt.Errorf("cost: needs one image input, has %d", len(g.Inputs))
	}
	sizes := map[string]scale{g.Inputs[0].Name: {1, 1}}
	var c Cost
	var macs float64
	for _, n := range g.Nodes {
		in, known := scale{}, false
		for _, name := range n.Inputs {
			if s, ok := sizes[name]; ok {
				in, known = s, true
				break
			}
		}
		if !known {
			continue // weights and shape arithmetic
		}
		out := in
		strides := func() (float64, float64) {
			s := n.Attrs["strides"].Ints
			if len(s) == 2 && s[0] > 0 && s[1] > 0 {
				return float64(s[0]), float64(s[1])
			}
			return 1, 1
		}
		switch n.OpType {
		case "Conv", "ConvTranspose":
			w, ok := g.weight(n)
			if !ok {
				c.Unknown = append(c.Unknown, n.OpType+" without a known weight shape")
				break
			}
			k := float64(w[2] * w[3])
			sy, sx := strides()
			if n.OpType == "Conv" {
				out = scale{in.y / sy, in.x / sx}
				macs += out.y * out.x * k * float64(w[1]) * float64(w[0])
			} else {
				out = scale{in.y * sy, in.x * sx}
				macs += in.y * in.x * k * float64(w[0]) * float64(w[1])
			}
			c.Layers++
		case "DepthToSpace", "SpaceToDepth":
			b := float64(n.Attrs["blocksize"].Int)
			if b < 1 {
				b = 1
			}
			if n.OpType == "SpaceToDepth" {
				b = 1 / b
			}
			out = scale{in.y * b, in.x * b}
		case "MaxPool", "AveragePool":
			sy, sx := strides()
			out = scale{in.y / sy, in.x / sx}
		case "Upsample", "Resize":
			f, ok := g.resizeScales(n)
			if !ok {
				c.Unknown = append(c.Unknown, n.OpType+" to a fixed size")
				break
			}
			out = scale{in.y * f[0], in.x * f[1]}
		}
		for _, o := range n.Outputs {
			sizes[o] = out
		}
	}
	if len(g.Outputs) != 1 {
		return Cost{}, fmt.Errorf("cost: needs one output, has %d", len(g.Outputs))
	}
	out, ok := sizes[g.Outputs[0].Name]
	if !ok || out.x <= 0 || out.y <= 0 {
		return Cost{}, fmt.Errorf("cost: cannot follow the image to the output")
	}
	c.MACsPerPixel = macs / (out.x * out.y)
	slices.Sort(c.Unknown)
	c.Unknown = slices.Compact(c.Unknown)
	return c, nil
}

// weight returns a conv node's 4-D weight shape.
func (g *Graph) weight(n Node) ([]int64, bool) {
	if len(n.Inputs) < 2 {
		return nil, false
	}
	name := n.Inputs[1]
	for _, p := range g.Nodes { // a quantized weight: DequantizeLinear of an int8 initializer
		if p.OpType == "DequantizeLinear" && len(p.Outputs) == 1 && p.Outputs[0] == name && len(p.Inputs) > 0 {
			name = p.Inputs[0]
			break
		}
	}
	t, ok := g.Tensors[name]
	if !ok || len(t.Dims) != 4 {
		return nil, false
	}
	return t.Dims, true
}

// resizeScales returns the H and W factors of an Upsample or Resize node.
func (g *Graph) resizeScales(n Node) ([2]float64, bool) {
	if a, ok := n.Attrs["scales"]; ok && len(a.Floats) == 4 { // Upsample-7
		return [2]float64{float64(a.Floats[2]), float64(a.Floats[3])}, true
	}
	idx := 1 // Upsample-9, Resize-10
	if n.OpType == "Resize" && len(n.Inputs) >= 3 && n.Inputs[2] != "" {
		idx = 2 // Resize-11+: X, roi, scales, sizes
	}
	if len(n.Inputs) <= idx {
		return [2]float64{}, false
	}
	t, ok := g.Tensors[n.Inputs[idx]]
	if !ok || len(t.Floats) != 4 {
		return [2]float64{}, false
	}
	return [2]float64{t.Floats[2], t.Floats[3]}, true
}
