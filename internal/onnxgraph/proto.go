// Package onnxgraph writes ONNX models with protowire alone: vidstyle's own
// graphs (the built-in styles, the test models) are small and fixed, so a
// full protobuf code generator is not needed. It holds the ONNX numbers
// (onnx/onnx.proto, IR version 7) that the model reader shares.
package onnxgraph

import "google.golang.org/protobuf/encoding/protowire"

// IRVersion and DefaultOpset are what a Builder writes unless told
// otherwise.
const (
	IRVersion    = 7
	DefaultOpset = 13
)

// Element types (TensorProto.DataType).
const (
	TensorFloat   = 1
	TensorInt64   = 7
	TensorFloat16 = 10
)

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// AppendString appends one length-delimited string field (tag and value)
// to b.
func AppendString(b []byte, field protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, field, protowire.BytesType), v)
}

// AppendBytes appends one length-delimited field (tag and value) to b.
func AppendBytes(b []byte, field protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, field, protowire.BytesType), v)
}

// AppendVarint appends one varint field (tag and value) to b.
func AppendVarint(b []byte, field protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, field, protowire.VarintType), v)
}
