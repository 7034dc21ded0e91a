package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// ErrNotONNX means the bytes are not a readable ONNX model.
var ErrNotONNX = errors.New("not an ONNX model")

// Graph is what vidstyle reads from an ONNX model: enough to check the image
// contract, show it to a person, count its cost and rewrite its input size.
// It is decoded with protowire alone; unknown fields are skipped.
type Graph struct {
	IRVersion int64
	Opset     int64 // of the default (ai.onnx) domain
	Producer  string
	Doc       string
	Inputs    []Value // graph inputs that are not initializers
	Outputs   []Value
	Metadata  []KV
	Nodes     []Node
	// Tensors holds the initializers and Constant outputs by name: their
	// shapes always, their values when small (≤ 64 elements).
	Tensors map[string]Tensor
}

// KV is one metadata_props entry.
type KV struct{ Key, Value string }

// Value is a graph input or output.
type Value struct {
	Name     string
	ElemType int32 // TensorProto.DataType: 1 float, 10 float16, …
	Dims     []Dim
}

// Dim is a tensor dimension: a number, or a symbol when Param is set, or
// unknown when neither is.
type Dim struct {
	Value int64
	Param string
}

func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value > 0:
		return fmt.Sprint(d.Value)
	}
	return "?"
}

// Node is one operator.
type Node struct {
	OpType, Domain string
	Inputs         []string
	Outputs        []string
	Attrs          map[string]Attr
}

// Attr is a node attribute (only the kinds vidstyle reads).
type Attr struct {
	Int    int64
	Ints   []int64
	Float  float32
	Floats []float32
	String string
	Tensor *Tensor
}

// Tensor is an initializer or constant.
type Tensor struct {
	Dims     []int64
	DataType int32
	Floats   []float64 // set for small float and int tensors
}

// ElemTypeName names an ONNX element type.
func ElemTypeName(t int32) string {
	names := map[int32]string{1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64",
		9: "bool", 10: "float16", 11: "float64", 16: "bfloat16"}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// field is one decoded protobuf field.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64 // varint, fixed32, fixed64
	bytes []byte // bytes type
}

// fields decodes one protobuf message into its fields, in order.
func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrNotONNX, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrNotONNX, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

// ParseGraph reads an ONNX model. It refuses one that is not
// self-contained (CheckSelfContained), so every path that reads a model
// through it refuses external data too.
func ParseGraph(data []byte) (*Graph, error) {
	top, err := fields(data)
	if err != nil {
		return nil, err
	}
	g := &Graph{Tensors: map[string]Tensor{}}
	var graph []byte
	for _, f := range top {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			g.IRVersion = int64(f.v)
		case f.num == 2 && f.typ == protowire.BytesType:
			g.Producer = string(f.bytes)
		case f.num == 6 && f.typ == protowire.BytesType:
			g.Doc = string(f.bytes)
		case f.num == 7 && f.typ == protowire.BytesType:
			graph = f.bytes
		case f.num == 8 && f.typ == protowire.BytesType:
			domain, version, err := parseOpset(f.bytes)
			if err != nil {
				return nil, err
			}
			if domain == "" || domain == "ai.onnx" {
				g.Opset = version
			}
		case f.num == 14 && f.typ == protowire.BytesType:
			kv, err := parseKV(f.bytes)
			if err != nil {
				return nil, err
			}
			g.Metadata = append(g.Metadata, kv)
		}
	}
	if g.IRVersion <= 0 || graph == nil {
		return nil, fmt.Errorf("%w: no IR version or no graph", ErrNotONNX)
	}
	// First: a model too big to read is refused before it is read.
	if err := CheckSelfContained(data); err != nil {
		return nil, err
	}
	if err := g.parseGraph(graph); err != nil {
		return nil, err
	}
	return g, nil
}

func parseOpset(b []byte) (string, int64, error) {
	fs, err := fields(b)
	if err != nil {
		return "", 0, err
	}
	var domain string
	var version int64
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			domain = string(f.bytes)
		case f.num == 2 && f.typ == protowire.VarintType:
			version = int64(f.v)
		}
	}
	return domain, version, nil
}

func parseKV(b []byte) (KV, error) {
	fs, err := fields(b)
	if err != nil {
		return KV{}, err
	}
	var kv KV
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			kv.Key = string(f.bytes)
		case 2:
			kv.Value = string(f.bytes)
		}
	}
	return kv, nil
}

func (g *Graph) parseGraph(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	var inputs []Value
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			n, err := parseNode(f.bytes)
			if err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
			if n.OpType == "Constant" && len(n.Outputs) == 1 {
				if a, ok := n.Attrs["value"]; ok && a.Tensor != nil {
					g.Tensors[n.Outputs[0]] = *a.Tensor
				}
			}
		case 5:
			name, t, err := parseTensor(f.bytes)
			if err != nil {
				return err
			}
			g.Tensors[name] = t
		case 11, 12:
			v, err := parseValueInfo(f.bytes)
			if err != nil {
				return err
			}
			if f.num == 11 {
				inputs = append(inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		}
	}
	// Old exporters list initializers among the inputs too.
	for _, in := range inputs {
		if _, isWeight := g.Tensors[in.Name]; !isWeight {
			g.Inputs = append(g.Inputs, in)
		}
	}
	return nil
}

func parseNode(b []byte) (Node, error) {
	fs, err := fields(b)
	if err != nil {
		return Node{}, err
	}
	n := Node{Attrs: map[string]Attr{}}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			n.Inputs = append(n.Inputs, string(f.bytes))
		case 2:
			n.Outputs = append(n.Outputs, string(f.bytes))
		case 4:
			n.OpType = string(f.bytes)
		case 7:
			n.Domain = string(f.bytes)
		case 5:
			name, a, err := parseAttr(f.bytes)
			if err != nil {
				return Node{}, err
			}
			n.Attrs[name] = a
		}
	}
	return n, nil
}

func parseAttr(b []byte) (string, Attr, error) {
	fs, err := fields(b)
	if err != nil {
		return "", Attr{}, err
	}
	var name string
	var a Attr
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			name = string(f.bytes)
		case f.num == 2 && f.typ == protowire.Fixed32Type:
			a.Float = math.Float32frombits(uint32(f.v))
		case f.num == 3 && f.typ == protowire.VarintType:
			a.Int = int64(f.v)
		case f.num == 4 && f.typ == protowire.BytesType:
			a.String = string(f.bytes)
		case f.num == 5 && f.typ == protowire.BytesType:
			_, t, err := parseTensor(f.bytes)
			if err != nil {
				return "", Attr{}, err
			}
			a.Tensor = &t
		case f.num == 7 && f.typ == protowire.Fixed32Type:
			a.Floats = append(a.Floats, math.Float32frombits(uint32(f.v)))
		case f.num == 7 && f.typ == protowire.BytesType: // packed
			for i := 0; i+4 <= len(f.bytes); i += 4 {
				a.Floats = append(a.Floats, math.Float32frombits(binary.LittleEndian.Uint32(f.bytes[i:])))
			}
		case f.num == 8 && f.typ == protowire.VarintType:
			a.Ints = append(a.Ints, int64(f.v))
		case f.num == 8 && f.typ == protowire.BytesType: // packed
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return "", Attr{}, err
			}
			a.Ints = append(a.Ints, vs...)
		}
	}
	return name, a, nil
}

func packedVarints(b []byte) ([]int64, error) {
	var out []int64
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrNotONNX, protowire.ParseError(n))
		}
		out = append(out, int64(v))
		b = b[n:]
	}
	return out, nil
}

// smallTensor is the most elements whose values parseTensor keeps.
const smallTensor = 64

func parseTensor(b []byte) (string, Tensor, error) {
	fs, err := fields(b)
	if err != nil {
		return "", Tensor{}, err
	}
	var name string
	var t Tensor
	var raw []byte
	var floats []float64
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			t.Dims = append(t.Dims, int64(f.v))
		case f.num == 1 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return "", Tensor{}, err
			}
			t.Dims = append(t.Dims, vs...)
		case f.num == 2 && f.typ == protowire.VarintType:
			t.DataType = int32(f.v)
		case f.num == 8 && f.typ == protowire.BytesType:
			name = string(f.bytes)
		case f.num == 9 && f.typ == protowire.BytesType:
			raw = f.bytes
		case f.num == 4 && f.typ == protowire.Fixed32Type: // float_data, unpacked
			floats = append(floats, float64(math.Float32frombits(uint32(f.v))))
		case f.num == 4 && f.typ == protowire.BytesType: // float_data, packed
			for i := 0; i+4 <= len(f.bytes) && len(floats) <= smallTensor; i += 4 {
				floats = append(floats, float64(math.Float32frombits(binary.LittleEndian.Uint32(f.bytes[i:]))))
			}
		case f.num == 7 && f.typ == protowire.VarintType: // int64_data
			floats = append(floats, float64(int64(f.v)))
		case f.num == 7 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return "", Tensor{}, err
			}
			for _, v := range vs {
				floats = append(floats, float64(v))
			}
		}
	}
	count := int64(1)
	for _, d := range t.Dims {
		count *= max(d, 0)
	}
	switch {
	case count > smallTensor:
	case floats != nil:
		t.Floats = floats
	case raw != nil && t.DataType == onnxgraph.TensorFloat && len(raw) >= int(4*count):
		for i := range count {
			t.Floats = append(t.Floats, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))))
		}
	case raw != nil && t.DataType == onnxgraph.TensorInt64 && len(raw) >= int(8*count):
		for i := range count {
			t.Floats = append(t.Floats, float64(int64(binary.LittleEndian.Uint64(raw[8*i:]))))
		}
	}
	return name, t, nil
}

func parseValueInfo(b []byte) (Value, error) {
	fs, err := fields(b)
	if err != nil {
		return Value{}, err
	}
	var v Value
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			v.Name = string(f.bytes)
		case 2: // TypeProto
			tfs, err := fields(f.bytes)
			if err != nil {
				return Value{}, err
			}
			for _, tf := range tfs {
				if tf.num != 1 || tf.typ != protowire.BytesType { // tensor_type
					continue
				}
				if err := v.parseTensorType(tf.bytes); err != nil {
					return Value{}, err
				}
			}
		}
	}
	return v, nil
}

func (v *Value) parseTensorType(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			v.ElemType = int32(f.v)
		case f.num == 2 && f.typ == protowire.BytesType: // TensorShapeProto
			dims, err := fields(f.bytes)
			if err != nil {
				return err
			}
			v.Dims = []Dim{}
			for _, d := range dims {
				if d.num != 1 || d.typ != protowire.BytesType {
					continue
				}
				dfs, err := fields(d.bytes)
				if err != nil {
					return err
				}
				var dim Dim
				for _, df := range dfs {
					switch {
					case df.num == 1 && df.typ == protowire.VarintType:
						dim.Value = int64(df.v)
					case df.num == 2 && df.typ == protowire.BytesType:
						dim.Param = string(df.bytes)
					}
				}
				v.Dims = append(v.Dims, dim)
			}
		}
	}
	return nil
}

// MetadataValue returns a metadata_props value.
func (g *Graph) MetadataValue(key string) (string, bool) {
	for _, kv := range g.Metadata {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}
