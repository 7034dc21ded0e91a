package onnxgraph

// Dim is a tensor dimension: a number, or a symbol when Param is set, or
// unknown when neither is.
type Dim struct {
	Value int64
	Param string
}

// Value is a named tensor of one element type and shape: a graph input,
// output or value_info entry.
type Value struct {
	Name     string
	ElemType int32 // TensorProto.DataType
	Dims     []Dim
}

// ImageDims is [1,3,height,width].
func ImageDims() []Dim { return []Dim{{Value: 1}, {Value: 3}, {Param: "height"}, {Param: "width"}} }

// EncodeValue writes a ValueInfoProto for a tensor.
func EncodeValue(v Value) []byte {
	var shape []byte
	for _, d := range v.Dims {
		var e []byte
		switch {
		case d.Param != "":
			e = AppendString(e, 2, d.Param)
		case d.Value > 0:
			e = AppendVarint(e, 1, uint64(d.Value))
		}
		shape = AppendBytes(shape, 1, e)
	}
	var tensor []byte
	tensor = AppendVarint(tensor, 1, uint64(v.ElemType))
	tensor = AppendBytes(tensor, 2, shape)
	var typ []byte
	typ = AppendBytes(typ, 1, tensor)
	var b []byte
	b = AppendString(b, 1, v.Name)
	return AppendBytes(b, 2, typ)
}
