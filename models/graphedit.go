package models

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// editModel is a model decoded for rewriting: its nodes and initializers as
// values (weights in full, unlike Graph's), everything else as the fields it
// was read from, written back unchanged by encode.
type editModel struct {
	top       []field // ModelProto fields; the graph (7) is replaced by encode
	graphRest []field // GraphProto fields other than nodes, initializers and value_info
	nodes     []*editNode
	inits     map[string]*initTensor
	order     []string // initializer names in the order written
	opset     int64
	extraOut  []string // intermediate values added as graph outputs (calibration)
	meta      []KV     // metadata_props entries to append
	next      int      // for fresh names
}

// editNode is one NodeProto: what is rewritten is parsed, the attributes
// are kept as they were read (new ones appended encoded).
type editNode struct {
	Name, OpType, Domain string
	Inputs, Outputs      []string
	attrs                [][]byte
	parsed               map[string]Attr
}

// initTensor is one initializer: its values as little-endian bytes.
type initTensor struct {
	Name     string
	Dims     []int64
	DataType int32
	Raw      []byte
}

// Floats returns a float32 tensor's values (a copy).
func (t *initTensor) Floats() []float32 {
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out
}

// SetFloats replaces the values of a float32 tensor.
func (t *initTensor) SetFloats(v []float32) {
	t.DataType = onnxgraph.TensorFloat
	t.Raw = make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Raw[4*i:], math.Float32bits(x))
	}
}

// readEdit decodes a self-contained model for rewriting.
func readEdit(data []byte) (*editModel, error) {
	if _, err := ParseGraph(data); err != nil { // checks, self-containment included
		return nil, err
	}
	top, err := fields(data)
	if err != nil {
		return nil, err
	}
	m := &editModel{inits: map[string]*initTensor{}}
	for _, f := range top {
		switch {
		case f.num == 8 && f.typ == protowire.BytesType:
			if d, v, err := parseOpset(f.bytes); err == nil && (d == "" || d == "ai.onnx") {
				m.opset = v
			}
		case f.num == 7 && f.typ == protowire.BytesType:
			if err := m.readGraph(f.bytes); err != nil {
				return nil, err
			}
		}
		m.top = append(m.top, f)
	}
	return m, nil
}

func (m *editModel) readGraph(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		switch {
		case f.typ != protowire.BytesType:
			m.graphRest = append(m.graphRest, f)
		case f.num == 1:
			n, err := readEditNode(f.bytes)
			if err != nil {
				return err
			}
			m.nodes = append(m.nodes, n)
		case f.num == 5:
			t, err := readInit(f.bytes)
			if err != nil {
				return err
			}
			m.inits[t.Name] = t
			m.order = append(m.order, t.Name)
		case f.num == 13: // value_info: shapes the rewrite may change; dropped
		default:
			m.graphRest = append(m.graphRest, f)
		}
	}
	return nil
}

func readEditNode(b []byte) (*editNode, error) {
	p, err := parseNode(b)
	if err != nil {
		return nil, err
	}
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	n := &editNode{OpType: p.OpType, Domain: p.Domain, Inputs: p.Inputs, Outputs: p.Outputs, parsed: p.Attrs}
	for _, f := range fs {
		switch {
		case f.num == 3 && f.typ == protowire.BytesType:
			n.Name = string(f.bytes)
		case f.num == 5 && f.typ == protowire.BytesType:
			n.attrs = append(n.attrs, f.bytes)
		}
	}
	return n, nil
}

func readInit(b []byte) (*initTensor, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	t := &initTensor{}
	var floats []float32
	var ints []int64
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			t.Dims = append(t.Dims, int64(f.v))
		case f.num == 1 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return nil, err
			}
			t.Dims = append(t.Dims, vs...)
		case f.num == 2 && f.typ == protowire.VarintType:
			t.DataType = int32(f.v)
		case f.num == 8 && f.typ == protowire.BytesType:
			t.Name = string(f.bytes)
		case f.num == 9 && f.typ == protowire.BytesType:
			t.Raw = append([]byte(nil), f.bytes...)
		case f.num == 4 && f.typ == protowire.Fixed32Type:
			floats = append(floats, math.Float32frombits(uint32(f.v)))
		case f.num == 4 && f.typ == protowire.BytesType:
			for i := 0; i+4 <= len(f.bytes); i += 4 {
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(f.bytes[i:])))
			}
		case f.num == 7 && f.typ == protowire.VarintType:
			ints = append(ints, int64(f.v))
		case f.num == 7 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return nil, err
			}
			ints = append(ints, vs...)
		}
	}
	switch {
	case t.Raw != nil:
	case t.DataType == onnxgraph.TensorFloat:
		t.SetFloats(floats)
	case t.DataType == onnxgraph.TensorInt64:
		t.Raw = make([]byte, 8*len(ints))
		for i, v := range ints {
			binary.LittleEndian.PutUint64(t.Raw[8*i:], uint64(v))
		}
	}
	count := int64(1)
	for _, d := range t.Dims {
		if d < 0 || d > 1<<40 || count > (1<<40)/max(d, 1) {
			return nil, fmt.Errorf("%w: initializer %q has dimensions %v", ErrNotONNX, t.Name, t.Dims)
		}
		count *= d
	}
	if size := elemSize(t.DataType); size > 0 && int64(len(t.Raw)) != count*size {
		return nil, fmt.Errorf("%w: initializer %q holds %d bytes for %d elements", ErrNotONNX, t.Name, len(t.Raw), count)
	}
	return t, nil
}

// elemSize is the bytes per element of the types a rewrite touches (0:
// another type).
func elemSize(dataType int32) int64 {
	switch dataType {
	case onnxgraph.TensorFloat, tensorInt32:
		return 4
	case onnxgraph.TensorInt64:
		return 8
	case tensorUint8, tensorInt8:
		return 1
	}
	return 0
}

// More TensorProto data types.
const (
	tensorUint8 = 2
	tensorInt8  = 3
	tensorInt32 = 6
)

// fresh returns a name no value has yet, from base.
func (m *editModel) fresh(base string) string {
	for {
		m.next++
		name := fmt.Sprintf("%s_vs%d", base, m.next)
		if _, taken := m.inits[name]; !taken && m.producer(name) < 0 {
			return name
		}
	}
}

// addInit adds an initializer under a fresh name made from base.
func (m *editModel) addInit(base string, dataType int32, dims []int64, raw []byte) string {
	name := m.fresh(base)
	m.inits[name] = &initTensor{Name: name, Dims: dims, DataType: dataType, Raw: raw}
	m.order = append(m.order, name)
	return name
}

// addFloats adds a float32 initializer.
func (m *editModel) addFloats(base string, dims []int64, v []float32) string {
	t := &initTensor{}
	t.SetFloats(v)
	return m.addInit(base, onnxgraph.TensorFloat, dims, t.Raw)
}

// addInt64s adds an int64 initializer.
func (m *editModel) addInt64s(base string, dims []int64, v []int64) string {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return m.addInit(base, onnxgraph.TensorInt64, dims, raw)
}

// producer is the index of the node that outputs name, or -1.
func (m *editModel) producer(name string) int {
	for i, n := range m.nodes {
		for _, o := range n.Outputs {
			if o == name {
				return i
			}
		}
	}
	return -1
}

// consumers lists the nodes that read name.
func (m *editModel) consumers(name string) []int {
	var out []int
	for i, n := range m.nodes {
		for _, in := range n.Inputs {
			if in == name {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// isGraphOutput reports whether name is one of the graph's outputs.
func (m *editModel) isGraphOutput(name string) bool {
	for _, f := range m.graphRest {
		if f.num == 12 && f.typ == protowire.BytesType {
			if v, err := parseValueInfo(f.bytes); err == nil && v.Name == name {
				return true
			}
		}
	}
	return false
}

// insert puts a node in the list at index i.
func (m *editModel) insert(i int, n *editNode) {
	m.nodes = append(m.nodes, nil)
	copy(m.nodes[i+1:], m.nodes[i:])
	m.nodes[i] = n
}

// encode writes the model back.
func (m *editModel) encode() []byte {
	used := map[string]bool{}
	for _, n := range m.nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	var graph []byte
	for _, n := range m.nodes {
		graph = onnxgraph.AppendBytes(graph, 1, n.encode())
	}
	for _, name := range m.order {
		t, ok := m.inits[name]
		if !ok || !used[name] {
			continue // replaced or no longer read
		}
		graph = onnxgraph.AppendBytes(graph, 5, t.encode())
	}
	for _, f := range m.graphRest {
		if f.num == 11 && f.typ == protowire.BytesType { // an unused initializer listed as an input
			if v, err := parseValueInfo(f.bytes); err == nil {
				if _, isInit := m.inits[v.Name]; !isInit && !used[v.Name] && m.isOldInit(v.Name) {
					continue
				}
			}
		}
		graph = appendField(graph, f)
	}
	for _, name := range m.extraOut {
		graph = onnxgraph.AppendBytes(graph, 12, untypedShapeValue(name))
	}
	var out []byte
	for _, f := range m.top {
		switch {
		case f.num == 7 && f.typ == protowire.BytesType:
			out = onnxgraph.AppendBytes(out, 7, graph)
		case f.num == 8 && f.typ == protowire.BytesType:
			d, _, err := parseOpset(f.bytes)
			if err == nil && (d == "" || d == "ai.onnx") {
				var o []byte
				if d != "" {
					o = onnxgraph.AppendString(o, 1, d)
				}
				o = onnxgraph.AppendVarint(o, 2, uint64(m.opset))
				out = onnxgraph.AppendBytes(out, 8, o)
				continue
			}
			out = appendField(out, f)
		default:
			out = appendField(out, f)
		}
	}
	for _, kv := range m.meta {
		var e []byte
		e = onnxgraph.AppendString(e, 1, kv.Key)
		e = onnxgraph.AppendString(e, 2, kv.Value)
		out = onnxgraph.AppendBytes(out, 14, e)
	}
	return out
}

// isOldInit reports whether name was an initializer that a rewrite
// removed (a graph input that is neither read nor an initializer now).
func (m *editModel) isOldInit(name string) bool {
	for _, n := range m.order {
		if n == name {
			return true
		}
	}
	return false
}

// untypedShapeValue is a float32 ValueInfoProto with no shape, for an
// intermediate value made a graph output.
func untypedShapeValue(name string) []byte {
	var tensor []byte
	tensor = onnxgraph.AppendVarint(tensor, 1, onnxgraph.TensorFloat)
	var typ []byte
	typ = onnxgraph.AppendBytes(typ, 1, tensor)
	var b []byte
	b = onnxgraph.AppendString(b, 1, name)
	return onnxgraph.AppendBytes(b, 2, typ)
}

func (n *editNode) encode() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = onnxgraph.AppendString(b, 1, in)
	}
	for _, o := range n.Outputs {
		b = onnxgraph.AppendString(b, 2, o)
	}
	if n.Name != "" {
		b = onnxgraph.AppendString(b, 3, n.Name)
	}
	b = onnxgraph.AppendString(b, 4, n.OpType)
	for _, a := range n.attrs {
		b = onnxgraph.AppendBytes(b, 5, a)
	}
	if n.Domain != "" {
		b = onnxgraph.AppendString(b, 7, n.Domain)
	}
	return b
}

func (t *initTensor) encode() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = onnxgraph.AppendVarint(b, 1, uint64(d))
	}
	b = onnxgraph.AppendVarint(b, 2, uint64(t.DataType))
	b = onnxgraph.AppendString(b, 8, t.Name)
	return onnxgraph.AppendBytes(b, 9, t.Raw)
}

// newNode makes a node; attrs are encoded attributes (onnxgraph.IntAttr …).
func newNode(op string, name string, inputs, outputs []string, attrs ...onnxgraph.Attr) *editNode {
	n := &editNode{Name: name, OpType: op, Inputs: inputs, Outputs: outputs}
	for _, a := range attrs {
		n.attrs = append(n.attrs, a)
	}
	return n
}
