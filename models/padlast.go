package models

import (
	"fmt"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// MetaRewrite is the metadata_props key that lists the exact rewrites
// vidstyle made to a model, comma-separated.
const MetaRewrite = "vidstyle.rewrite"

// RewritePadLast names the padded-last-conv rewrite in MetaRewrite.
const RewritePadLast = "last-conv-padded-to-4"

// PadLastConv rewrites a model whose last convolution has 3 output
// channels (a Johnson net's 9×9 conv to RGB) so that it computes 4, the
// fourth with zero weights, and a Slice keeps the first 3. The function is
// the same; ONNX Runtime then runs that conv with its blocked NCHWc
// kernels instead of the plain ones a 3-channel output falls back to
// (BENCHMARKS.md: about 1.17× on the whole frame). It reports whether it
// changed anything: a model without such a conv, or one already
// rewritten, comes back as it was.
func PadLastConv(data []byte) ([]byte, bool, error) {
	m, err := readEdit(data)
	if err != nil {
		return nil, false, err
	}
	changed, err := m.padLastConv()
	if err != nil || !changed {
		return data, false, err
	}
	m.addRewrite(data, RewritePadLast)
	return m.encode(), true, nil
}

// addRewrite records a rewrite in MetaRewrite (appended to what the model
// already lists, whose entry is then dropped).
func (m *editModel) addRewrite(orig []byte, what string) {
	g, err := ParseGraph(orig)
	if err == nil {
		if prev, ok := g.MetadataValue(MetaRewrite); ok && prev != "" {
			what = prev + "," + what
			m.dropMeta(MetaRewrite)
		}
	}
	m.meta = append(m.meta, KV{MetaRewrite, what})
}

// dropMeta removes a metadata_props key the model has.
func (m *editModel) dropMeta(key string) {
	kept := m.top[:0]
	for _, f := range m.top {
		if f.num == 14 {
			if kv, err := parseKV(f.bytes); err == nil && kv.Key == key {
				continue
			}
		}
		kept = append(kept, f)
	}
	m.top = kept
	meta := m.meta[:0]
	for _, kv := range m.meta {
		if kv.Key != key {
			meta = append(meta, kv)
		}
	}
	m.meta = meta
}

// lastConv is the index of the last Conv node, or -1.
func (m *editModel) lastConv() int {
	for i := len(m.nodes) - 1; i >= 0; i-- {
		if m.nodes[i].OpType == "Conv" && m.nodes[i].Domain == "" {
			return i
		}
	}
	return -1
}

func (m *editModel) padLastConv() (bool, error) {
	i := m.lastConv()
	if i < 0 {
		return false, nil
	}
	n := m.nodes[i]
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.parsed["group"].Int > 1 {
		return false, nil
	}
	w, ok := m.inits[n.Inputs[1]]
	if !ok || w.DataType != onnxgraph.TensorFloat || len(w.Dims) != 4 || w.Dims[0] != 3 {
		return false, nil
	}
	per := len(w.Raw) / 3 // bytes per output channel
	raw := append(append([]byte(nil), w.Raw...), make([]byte, per)...)
	dims := append([]int64{4}, w.Dims[1:]...)
	inputs := []string{n.Inputs[0], m.addInit(w.Name+"_pad4", onnxgraph.TensorFloat, dims, raw)}
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		b, ok := m.inits[n.Inputs[2]]
		if !ok || b.DataType != onnxgraph.TensorFloat || len(b.Raw) != 12 {
			return false, nil
		}
		inputs = append(inputs, m.addInit(b.Name+"_pad4", onnxgraph.TensorFloat, []int64{4}, append(append([]byte(nil), b.Raw...), 0, 0, 0, 0)))
	}
	out := n.Outputs[0]
	padded := m.fresh(out + "_pad4")
	n.Inputs, n.Outputs = inputs, []string{padded}
	var slice *editNode
	if m.opset < 10 {
		slice = newNode("Slice", "", []string{padded}, []string{out},
			onnxgraph.IntsAttr("starts", 0), onnxgraph.IntsAttr("ends", 3), onnxgraph.IntsAttr("axes", 1))
	} else {
		starts := m.addInt64s("pad4_starts", []int64{1}, []int64{0})
		ends := m.addInt64s("pad4_ends", []int64{1}, []int64{3})
		axes := m.addInt64s("pad4_axes", []int64{1}, []int64{1})
		slice = newNode("Slice", "", []string{padded, starts, ends, axes}, []string{out})
	}
	m.insert(i+1, slice)
	if len(m.consumers(out)) == 0 && !m.isGraphOutput(out) {
		return false, fmt.Errorf("pad last conv: %s is read by nothing", out)
	}
	return true, nil
}
