package models

import (
	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// RewritePhaseLast names the rewrite that runs the last up-sampling stage
// and the last conv without the full-size DepthToSpace between them.
const RewritePhaseLast = "last-conv-phase"

// PhaseLastConv rewrites the end of a net made by SubpixelConvTranspose
// and SubpixelLastConv, where
//
//	up-conv → DepthToSpace(2) → InstanceNormalization → Relu → stride-2 conv
//
// builds the largest tensor of the net (32 channels at the full size) only
// for the stride-2 conv to read it back two by two pixels at a time. The
// same function, without that tensor: the up-conv's outputs are put in
// the order c·4 + phase instead of phase·C + c (its weights and bias
// reordered), so that a Reshape to [1, C, 4h, w] lays each channel's four
// phases end to end and the InstanceNormalization sees every pixel of the
// channel as before; a Reshape back gives the phases as 4C channels at
// the half size, and the stride-2 conv becomes a stride-1 conv over them
// (a tap (u, v) of the old kernel reads phase ((u−pt) mod 2, (v−pl) mod 2)
// at offset (⌊(u−pt)/2⌋, ⌊(v−pl)/2⌋); a 10×10 kernel becomes 5×5 with 4×
// the input channels, the same work). Reshape costs no copy in ONNX
// Runtime, so the DepthToSpace of the full-size tensor is what is saved
// (BENCHMARKS.md). It reports whether it changed anything: a model
// without that chain, or with any of its tensors read elsewhere, comes
// back as it was.
func PhaseLastConv(data []byte) ([]byte, bool, error) {
	m, err := readEdit(data)
	if err != nil {
		return nil, false, err
	}
	if !m.phaseLastConv() {
		return data, false, nil
	}
	m.addRewrite(data, RewritePhaseLast)
	return m.encode(), true, nil
}

// only returns the index of the one node that reads name, when name is
// not a graph output, or -1.
func (m *editModel) only(name string) int {
	cs := m.consumers(name)
	if len(cs) != 1 || m.isGraphOutput(name) {
		return -1
	}
	return cs[0]
}

// plainConv reports whether n is a Conv with a float 4-D weight of its
// own, explicit pads, no dilation and no grouping, and returns its weight
// and bias (nil when none).
func (m *editModel) plainConv(n *editNode) (w, b *initTensor, ok bool) {
	if n.OpType != "Conv" || n.Domain != "" || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.parsed["group"].Int > 1 {
		return nil, nil, false
	}
	if ap := n.parsed["auto_pad"].String; ap != "" && ap != "NOTSET" {
		return nil, nil, false
	}
	for _, d := range n.parsed["dilations"].Ints {
		if d != 1 {
			return nil, nil, false
		}
	}
	w, ok = m.inits[n.Inputs[1]]
	if !ok || !w.isConvWeight() || len(m.consumers(n.Inputs[1])) != 1 {
		return nil, nil, false
	}
	if ks := n.parsed["kernel_shape"].Ints; len(ks) != 0 && (len(ks) != 2 || ks[0] != w.Dims[2] || ks[1] != w.Dims[3]) {
		return nil, nil, false
	}
	if p := n.parsed["pads"].Ints; len(p) != 0 && len(p) != 4 {
		return nil, nil, false
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b, ok = m.inits[n.Inputs[2]]
		if !ok || b.DataType != onnxgraph.TensorFloat || int64(len(b.Raw)) != 4*w.Dims[0] || len(m.consumers(n.Inputs[2])) != 1 {
			return nil, nil, false
		}
	}
	return w, b, true
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (m *editModel) phaseLastConv() bool {
	li := m.lastConv()
	if li < 0 || m.opset < 5 { // Reshape with a shape input
		return false
	}
	last := m.nodes[li]
	lw, _, ok := m.plainConv(last) // its bias is per output channel: unchanged
	if !ok {
		return false
	}
	st := last.parsed["strides"].Ints
	if len(st) != 2 || st[0] != 2 || st[1] != 2 {
		return false
	}
	// Back from the last conv: Relu, InstanceNormalization, DepthToSpace,
	// the up-conv, each read only by the next (the Relu's output also by
	// Shape nodes, below).
	back := func(name, op string) (int, bool) {
		i := m.producer(name)
		if i < 0 || m.only(name) < 0 || m.nodes[i].OpType != op || m.nodes[i].Domain != "" || len(m.nodes[i].Outputs) != 1 {
			return -1, false
		}
		return i, true
	}
	// SubpixelLastConv reads the shape of the conv's input to cut its
	// output back: such Shape nodes are given the same shape, made from
	// the up-conv's output, [1, 4C, h, w] · [1, 0, 2, 2] + [0, C, 0, 0].
	x := last.Inputs[0]
	ri := m.producer(x)
	if ri < 0 || m.isGraphOutput(x) || m.nodes[ri].OpType != "Relu" || m.nodes[ri].Domain != "" || len(m.nodes[ri].Outputs) != 1 {
		return false
	}
	var shapes []int
	for _, ci := range m.consumers(x) {
		switch n := m.nodes[ci]; {
		case ci == li:
		case n.OpType == "Shape" && n.Domain == "" && len(n.attrs) == 0 && len(n.Inputs) == 1 && len(n.Outputs) == 1:
			shapes = append(shapes, ci)
		default:
			return false
		}
	}
	ni, ok := back(m.nodes[ri].Inputs[0], "InstanceNormalization")
	if !ok {
		return false
	}
	norm := m.nodes[ni]
	di, ok := back(norm.Inputs[0], "DepthToSpace")
	if !ok {
		return false
	}
	d2s := m.nodes[di]
	if d2s.parsed["blocksize"].Int != 2 || (d2s.parsed["mode"].String != "" && d2s.parsed["mode"].String != "DCR") {
		return false
	}
	ui, ok := back(d2s.Inputs[0], "Conv")
	if !ok {
		return false
	}
	up := m.nodes[ui]
	uw, ub, ok := m.plainConv(up)
	if !ok {
		return false
	}
	c := int(lw.Dims[1])
	if uw.Dims[0] != int64(4*c) || len(norm.Inputs) < 3 {
		return false
	}
	for _, p := range norm.Inputs[1:3] {
		if t, ok := m.inits[p]; !ok || t.DataType != onnxgraph.TensorFloat || len(t.Raw) != 4*c {
			return false
		}
	}
	// The last conv's new kernel and pads, per axis: taps u − pb of the
	// full-size rows become offsets ⌊(u − pb)/2⌋ of the half-size rows.
	k := [2]int{int(lw.Dims[2]), int(lw.Dims[3])}
	pads := last.parsed["pads"].Ints
	if len(pads) == 0 {
		pads = []int64{0, 0, 0, 0}
	}
	var amin, size, pb, pe [2]int
	for ax := range 2 {
		b, e := int(pads[ax]), int(pads[ax+2])
		if b < 0 || e < 0 {
			return false
		}
		amin[ax] = floorDiv(-b, 2)
		size[ax] = floorDiv(k[ax]-1-b, 2) - amin[ax] + 1
		// The stride-2 conv gives ⌊(2h + b + e − k)/2⌋ + 1 = h + grow rows;
		// the stride-1 one h + pb + pe − size + 1.
		grow := floorDiv(b+e-k[ax], 2) + 1
		pb[ax] = -amin[ax]
		pe[ax] = grow - pb[ax] + size[ax] - 1
		if pe[ax] < 0 {
			return false
		}
	}

	// The up-conv's outputs in the order c·4 + phase.
	per := len(uw.Raw) / (4 * c)
	raw := make([]byte, len(uw.Raw))
	for ph := range 4 {
		for ch := range c {
			copy(raw[(ch*4+ph)*per:(ch*4+ph+1)*per], uw.Raw[(ph*c+ch)*per:(ph*c+ch+1)*per])
		}
	}
	uw.Raw = raw
	if ub != nil {
		braw := make([]byte, len(ub.Raw))
		for ph := range 4 {
			for ch := range c {
				copy(braw[(ch*4+ph)*4:(ch*4+ph+1)*4], ub.Raw[(ph*c+ch)*4:(ph*c+ch+1)*4])
			}
		}
		ub.Raw = braw
	}

	// The last conv over the phases.
	out := int(lw.Dims[0])
	wv := lw.Floats()
	nwv := make([]float32, out*4*c*size[0]*size[1])
	for o := range out {
		for ch := range c {
			for u := range k[0] {
				ry := u - int(pads[0])
				ay := floorDiv(ry, 2)
				py := ry - 2*ay
				for v := range k[1] {
					rx := v - int(pads[1])
					axx := floorDiv(rx, 2)
					px := rx - 2*axx
					in := ch*4 + py*2 + px
					nwv[((o*4*c+in)*size[0]+ay-amin[0])*size[1]+axx-amin[1]] = wv[((o*c+ch)*k[0]+u)*k[1]+v]
				}
			}
		}
	}
	lw.Dims = []int64{int64(out), int64(4 * c), int64(size[0]), int64(size[1])}
	lw.SetFloats(nwv)

	normIn, normOut := m.fresh(norm.Inputs[0]+"_phases"), m.fresh(norm.Outputs[0]+"_phases")
	back2, relu := m.fresh(norm.Outputs[0]+"_phases4"), m.fresh(last.Inputs[0]+"_phases")
	toRows := m.addInt64s("phase_rows", []int64{4}, []int64{0, int64(c), -1, 0})
	toPhases := m.addInt64s("phase_chans", []int64{4}, []int64{0, int64(4 * c), -1, 0})
	m.nodes[di] = newNode("Reshape", d2s.Name, []string{d2s.Inputs[0], toRows}, []string{normIn})
	norm.Inputs[0] = normIn
	norm.Outputs[0] = normOut
	relu0 := m.nodes[ri]
	m.nodes[ri] = newNode("Reshape", "", []string{normOut, toPhases}, []string{back2})
	m.insert(ri+1, newNode("Relu", relu0.Name, []string{back2}, []string{relu}))
	li++ // after the insert
	last = m.nodes[li]
	pv := []int64{int64(pb[0]), int64(pb[1]), int64(pe[0]), int64(pe[1])}
	conv := newNode("Conv", last.Name, append([]string{relu}, last.Inputs[1:]...), last.Outputs,
		onnxgraph.IntsAttr("kernel_shape", int64(size[0]), int64(size[1])),
		onnxgraph.IntsAttr("strides", 1, 1),
		onnxgraph.IntsAttr("pads", pv...),
		onnxgraph.IntsAttr("dilations", 1, 1),
		onnxgraph.IntAttr("group", 1))
	conv.parsed = map[string]Attr{"kernel_shape": {Ints: []int64{int64(size[0]), int64(size[1])}}, "strides": {Ints: []int64{1, 1}}, "pads": {Ints: pv}}
	m.nodes[li] = conv
	if len(shapes) > 0 {
		mul := m.addInt64s("phase_shape_mul", []int64{4}, []int64{1, 0, 2, 2})
		add := m.addInt64s("phase_shape_add", []int64{4}, []int64{0, int64(c), 0, 0})
		for j := len(shapes) - 1; j >= 0; j-- { // from the last: each adds two nodes after itself
			si := shapes[j]
			if si > ri {
				si++ // after the insert
			}
			sh := m.nodes[si]
			raw, scaled := m.fresh(sh.Outputs[0]+"_phases"), m.fresh(sh.Outputs[0]+"_phases2")
			out := sh.Outputs[0]
			m.nodes[si] = newNode("Shape", sh.Name, []string{d2s.Inputs[0]}, []string{raw})
			m.insert(si+1, newNode("Mul", "", []string{raw, mul}, []string{scaled}))
			m.insert(si+2, newNode("Add", "", []string{scaled, add}, []string{out}))
		}
	}
	return true
}
