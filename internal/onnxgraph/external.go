package onnxgraph

import "strconv"

// TensorProto.DataLocation values.
const (
	DataDefault  = 0
	DataExternal = 1
)

// ExternalTensor writes a float32 TensorProto named name whose bytes are
// not in the model but in the file at location (length bytes from the
// start): data_location EXTERNAL and the external_data entries
// "location", "offset" and "length", as exporters write models over 2 GB.
// vidstyle refuses such tensors; tests use this to make hostile models.
func ExternalTensor(name string, dims []int64, location string, length int64) []byte {
	var b []byte
	for _, d := range dims {
		b = AppendVarint(b, 1, uint64(d))
	}
	b = AppendVarint(b, 2, TensorFloat)
	b = AppendString(b, 8, name)
	for _, kv := range [][2]string{{"location", location}, {"offset", "0"}, {"length", strconv.FormatInt(length, 10)}} {
		var e []byte
		e = AppendString(e, 1, kv[0])
		e = AppendString(e, 2, kv[1])
		b = AppendBytes(b, 13, e)
	}
	return AppendVarint(b, 14, DataExternal)
}

// ExternalFloats adds a float32 initializer of the given shape whose
// values ONNX Runtime would read from the file at location (see
// ExternalTensor).
func (g *Builder) ExternalFloats(dims []int64, location string) string {
	g.next++
	name := "external_" + strconv.Itoa(g.next)
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	g.initializers = append(g.initializers, ExternalTensor(name, dims, location, 4*n))
	return name
}

// AttributeProto.AttributeType values for tensors and graphs.
const (
	attrTensor = 4
	attrGraph  = 5
)

// TensorAttr is a tensor attribute (a Constant node's "value"); t is an
// encoded TensorProto.
func TensorAttr(name string, t []byte) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	b = AppendBytes(b, 5, t)
	return AppendVarint(b, 20, attrTensor)
}

// GraphAttr is a graph attribute (an If node's "then_branch"); graph is an
// encoded GraphProto.
func GraphAttr(name string, graph []byte) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	b = AppendBytes(b, 6, graph)
	return AppendVarint(b, 20, attrGraph)
}
