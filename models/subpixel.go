package models

import (
	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// RewriteSubpixelLast names the sub-pixel last-conv rewrite in MetaRewrite.
const RewriteSubpixelLast = "last-conv-subpixel"

// SubpixelLastConv rewrites a model whose last convolution has 3 output
// channels (a Johnson net's 9×9 conv to RGB) into the same function
// computed two by two pixels at a time: a stride-2 convolution with a
// kernel one tap larger (10×10) and 12 outputs, output channel
// (dy·2+dx)·3+o holding the pixels (2y+dy, 2x+dx) of colour o, followed by
// DepthToSpace (block 2, DCR), which puts them back in place. The weights
// of output (o, dy, dx) are the original kernel shifted by (dy, dx), with
// zeros in the tap it does not use. ONNX Runtime computes 3 output
// channels in blocks of 16, so the original conv does 13/16 of its work
// for nothing; 12 channels at a quarter of the positions waste 1/4
// (BENCHMARKS.md). An odd height or width comes out right: the conv
// covers one row and column more and a Slice cuts the output back to the
// conv's own output size. It reports whether it changed anything: a model
// without such a conv (3 outputs, stride 1, explicit pads, no dilation,
// no grouping, opset 10 or newer for the Slice), or one
// already rewritten, comes back as it was.
func SubpixelLastConv(data []byte) ([]byte, bool, error) {
	m, err := readEdit(data)
	if err != nil {
		return nil, false, err
	}
	if !m.subpixelLastConv() {
		return data, false, nil
	}
	m.addRewrite(data, RewriteSubpixelLast)
	return m.encode(), true, nil
}

func (m *editModel) subpixelLastConv() bool {
	i := m.lastConv()
	if i < 0 {
		return false
	}
	n := m.nodes[i]
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.parsed["group"].Int > 1 {
		return false
	}
	if ap := n.parsed["auto_pad"].String; ap != "" && ap != "NOTSET" {
		return false
	}
	ones := func(v []int64) bool {
		for _, x := range v {
			if x != 1 {
				return false
			}
		}
		return true
	}
	if !ones(n.parsed["strides"].Ints) || !ones(n.parsed["dilations"].Ints) {
		return false
	}
	w, ok := m.inits[n.Inputs[1]]
	if !ok || !w.isConvWeight() || w.Dims[0] != 3 {
		return false
	}
	cin, kh, kw := int(w.Dims[1]), int(w.Dims[2]), int(w.Dims[3])
	if ks := n.parsed["kernel_shape"].Ints; len(ks) != 0 && (len(ks) != 2 || ks[0] != int64(kh) || ks[1] != int64(kw)) {
		return false
	}
	pads := n.parsed["pads"].Ints
	if len(pads) == 0 {
		pads = []int64{0, 0, 0, 0}
	}
	// An opset whose Slice takes its ends as an input: the output is cut
	// back to the conv's own output size, so that an odd size comes out
	// right.
	if len(pads) != 4 || m.opset < 10 {
		return false
	}
	var bias []float32
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b, ok := m.inits[n.Inputs[2]]
		if !ok || b.DataType != onnxgraph.TensorFloat || len(b.Raw) != 12 {
			return false
		}
		bias = b.Floats()
	}
	wv := w.Floats()
	nh, nw := kh+1, kw+1
	nwv := make([]float32, 12*cin*nh*nw)
	for dy := range 2 {
		for dx := range 2 {
			for o := range 3 {
				k := (dy*2+dx)*3 + o
				for c := range cin {
					src := wv[(o*cin+c)*kh*kw:]
					dst := nwv[(k*cin+c)*nh*nw:]
					for y := range kh {
						copy(dst[(y+dy)*nw+dx:(y+dy)*nw+dx+kw], src[y*kw:(y+1)*kw])
					}
				}
			}
		}
	}
	inputs := []string{n.Inputs[0], m.addFloats(w.Name+"_subpixel", []int64{12, int64(cin), int64(nh), int64(nw)}, nwv)}
	if bias != nil {
		nb := make([]float32, 12)
		for k := range nb {
			nb[k] = bias[k%3]
		}
		inputs = append(inputs, m.addFloats(n.Inputs[2]+"_subpixel", []int64{12}, nb))
	}
	// One more row and column of zeros at the end: the stride-2 conv then
	// covers ceil(H/2) rows (for an even H the extra ones are never read).
	np := []int64{pads[0], pads[1], pads[2] + 1, pads[3] + 1}
	out := n.Outputs[0]
	depth, space := m.fresh(out+"_subpixel"), m.fresh(out+"_subpixel_full")
	conv := newNode("Conv", n.Name, inputs, []string{depth},
		onnxgraph.IntsAttr("kernel_shape", int64(nh), int64(nw)),
		onnxgraph.IntsAttr("strides", 2, 2),
		onnxgraph.IntsAttr("pads", np...),
		onnxgraph.IntsAttr("dilations", 1, 1),
		onnxgraph.IntAttr("group", 1))
	conv.parsed = map[string]Attr{"kernel_shape": {Ints: []int64{int64(nh), int64(nw)}}, "strides": {Ints: []int64{2, 2}}, "pads": {Ints: np}}
	m.nodes[i] = conv
	// The original output size: the input's, plus pads − k + 1.
	shape, inHW, hw := m.fresh(out+"_subpixel_shape"), m.fresh(out+"_subpixel_inhw"), m.fresh(out+"_subpixel_hw")
	two := m.addInt64s("subpixel_2", []int64{1}, []int64{2})
	four := m.addInt64s("subpixel_4", []int64{1}, []int64{4})
	grow := m.addInt64s("subpixel_grow", []int64{2}, []int64{pads[0] + pads[2] - int64(kh) + 1, pads[1] + pads[3] - int64(kw) + 1})
	zeros := m.addInt64s("subpixel_00", []int64{2}, []int64{0, 0})
	axes := m.addInt64s("subpixel_axes", []int64{2}, []int64{2, 3})
	for j, nn := range []*editNode{
		newNode("DepthToSpace", "", []string{depth}, []string{space}, onnxgraph.IntAttr("blocksize", 2)),
		newNode("Shape", "", []string{n.Inputs[0]}, []string{shape}),
		newNode("Slice", "", []string{shape, two, four}, []string{inHW}),
		newNode("Add", "", []string{inHW, grow}, []string{hw}),
		newNode("Slice", "", []string{space, zeros, hw, axes}, []string{out}),
	} {
		m.insert(i+1+j, nn)
	}
	return true
}

// RewriteSubpixelUp names the sub-pixel transposed-conv rewrite in
// MetaRewrite.
const RewriteSubpixelUp = "convtranspose-subpixel"

// SubpixelConvTranspose rewrites every ConvTranspose with stride s (the
// same across and down, s ≥ 2), no dilation, no grouping and explicit
// pads into the same function as an ordinary convolution followed by
// DepthToSpace (block s, DCR): output pixel (s·y+dy, s·x+dx) of channel o
// is input channel (dy·s+dx)·C+o of the convolution at (y, x), whose
// kernel holds the taps of the transposed one that reach that pixel (a
// 3×3 stride-2 kernel becomes 2×2 with 4× the outputs). ONNX Runtime runs
// a transposed conv as a GEMM and col2im; the ordinary conv gets its
// blocked kernels, and an integer one when quantized. It reports whether
// it changed anything.
func SubpixelConvTranspose(data []byte) ([]byte, bool, error) {
	m, err := readEdit(data)
	if err != nil {
		return nil, false, err
	}
	changed := false
	for i := 0; i < len(m.nodes); i++ {
		if m.nodes[i].OpType == "ConvTranspose" && m.nodes[i].Domain == "" && m.subpixelConvTranspose(i) {
			changed = true
			i++ // the DepthToSpace
		}
	}
	if !changed {
		return data, false, nil
	}
	m.addRewrite(data, RewriteSubpixelUp)
	return m.encode(), true, nil
}

func (m *editModel) subpixelConvTranspose(i int) bool {
	n := m.nodes[i]
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.parsed["group"].Int > 1 || len(n.parsed["output_shape"].Ints) != 0 {
		return false
	}
	if ap := n.parsed["auto_pad"].String; ap != "" && ap != "NOTSET" {
		return false
	}
	for _, d := range n.parsed["dilations"].Ints {
		if d != 1 {
			return false
		}
	}
	st := n.parsed["strides"].Ints
	if len(st) != 2 || st[0] != st[1] || st[0] < 2 {
		return false
	}
	s := int(st[0])
	w, ok := m.inits[n.Inputs[1]]
	if !ok || !w.isConvWeight() {
		return false
	}
	cin, cout, kh, kw := int(w.Dims[0]), int(w.Dims[1]), int(w.Dims[2]), int(w.Dims[3])
	pads := n.parsed["pads"].Ints
	if len(pads) == 0 {
		pads = []int64{0, 0, 0, 0}
	}
	op := n.parsed["output_padding"].Ints
	if len(op) == 0 {
		op = []int64{0, 0}
	}
	if len(pads) != 4 || len(op) != 2 {
		return false
	}
	// Per axis: the taps t = (i − d − pb)/s that output phase d reads
	// (input row y − t), the new kernel's size and pads.
	type axis struct {
		k, size, pb, pe int
		tmax            int
	}
	plan := func(k int, pb, pe, opad int64) (axis, bool) {
		tmin, tmax := 1<<30, -1<<30
		for d := range s {
			for i := range k {
				if (i-d-int(pb))%s == 0 {
					t := (i - d - int(pb)) / s
					tmin, tmax = min(tmin, t), max(tmax, t)
				}
			}
		}
		// Output size s·(H−1) + opad + k − pb − pe must be s·(H + c).
		dd := int(opad) + k - int(pb) - int(pe)
		if tmin > tmax || dd%s != 0 || tmax < 0 {
			return axis{}, false
		}
		size := tmax - tmin + 1
		a := axis{k: k, size: size, pb: tmax, tmax: tmax}
		a.pe = dd/s - 1 - a.pb + size - 1
		return a, a.pe >= 0
	}
	ay, ok1 := plan(kh, pads[0], pads[2], op[0])
	ax, ok2 := plan(kw, pads[1], pads[3], op[1])
	if !ok1 || !ok2 {
		return false
	}
	wv := w.Floats()
	nout := s * s * cout
	nwv := make([]float32, nout*cin*ay.size*ax.size)
	for dy := range s {
		for dx := range s {
			for o := range cout {
				k := (dy*s+dx)*cout + o
				for c := range cin {
					for i := range kh {
						if (i-dy-int(pads[0]))%s != 0 {
							continue
						}
						u := ay.tmax - (i-dy-int(pads[0]))/s
						for j := range kw {
							if (j-dx-int(pads[1]))%s != 0 {
								continue
							}
							v := ax.tmax - (j-dx-int(pads[1]))/s
							nwv[((k*cin+c)*ay.size+u)*ax.size+v] = wv[((c*cout+o)*kh+i)*kw+j]
						}
					}
				}
			}
		}
	}
	inputs := []string{n.Inputs[0], m.addFloats(w.Name+"_subpixel", []int64{int64(nout), int64(cin), int64(ay.size), int64(ax.size)}, nwv)}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b, ok := m.inits[n.Inputs[2]]
		if !ok || b.DataType != onnxgraph.TensorFloat || len(b.Raw) != 4*cout {
			return false
		}
		bv := b.Floats()
		nb := make([]float32, nout)
		for k := range nb {
			nb[k] = bv[k%cout]
		}
		inputs = append(inputs, m.addFloats(n.Inputs[2]+"_subpixel", []int64{int64(nout)}, nb))
	}
	out := n.Outputs[0]
	depth := m.fresh(out + "_subpixel")
	pv := []int64{int64(ay.pb), int64(ax.pb), int64(ay.pe), int64(ax.pe)}
	conv := newNode("Conv", n.Name, inputs, []string{depth},
		onnxgraph.IntsAttr("kernel_shape", int64(ay.size), int64(ax.size)),
		onnxgraph.IntsAttr("strides", 1, 1),
		onnxgraph.IntsAttr("pads", pv...),
		onnxgraph.IntsAttr("dilations", 1, 1),
		onnxgraph.IntAttr("group", 1))
	conv.parsed = map[string]Attr{"kernel_shape": {Ints: []int64{int64(ay.size), int64(ax.size)}}, "strides": {Ints: []int64{1, 1}}, "pads": {Ints: pv}}
	m.nodes[i] = conv
	m.insert(i+1, newNode("DepthToSpace", "", []string{depth}, []string{out}, onnxgraph.IntAttr("blocksize", int64(s))))
	return true
}

// FasterFP32 applies the exact rewrites that make a float model faster on
// the CPU (BENCHMARKS.md): every ConvTranspose (SubpixelConvTranspose),
// the last 3-channel conv (SubpixelLastConv) and then the full-size
// tensor between the two (PhaseLastConv). A model with subgraphs (If,
// Loop, Scan) is left as it is. It returns the rewrites it made.
func FasterFP32(data []byte) ([]byte, []string, error) {
	g, err := ParseGraph(data)
	if err != nil {
		return data, nil, err
	}
	for _, n := range g.Nodes {
		if n.OpType == "If" || n.OpType == "Loop" || n.OpType == "Scan" {
			return data, nil, nil
		}
	}
	var done []string
	out, changed, err := SubpixelConvTranspose(data)
	if err != nil {
		return data, nil, err
	}
	if changed {
		done = append(done, RewriteSubpixelUp)
	}
	next, changed, err := SubpixelLastConv(out)
	if err != nil {
		return data, nil, err
	}
	if changed {
		out = next
		done = append(done, RewriteSubpixelLast)
	}
	next, changed, err = PhaseLastConv(out)
	if err != nil {
		return data, nil, err
	}
	if changed {
		out = next
		done = append(done, RewritePhaseLast)
	}
	return out, done, nil
}

// isConvWeight reports whether t is a float32 4-D weight whose every
// dimension is in 1..65536 and whose data holds them all: what a rewrite
// may index without checking again (a hostile model's dimensions can
// multiply past int64 to a size its data matches).
func (t *initTensor) isConvWeight() bool {
	if t.DataType != onnxgraph.TensorFloat || len(t.Dims) != 4 {
		return false
	}
	n := int64(1)
	for _, d := range t.Dims {
		if d < 1 || d > 1<<16 {
			return false
		}
		n *= d
		if n > 1<<31 {
			return false
		}
	}
	return int64(len(t.Raw)) == 4*n
}
