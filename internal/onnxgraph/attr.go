package onnxgraph

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Attr is one encoded AttributeProto, for Builder.Op.
type Attr []byte

// IntAttr is an integer attribute.
func IntAttr(name string, v int64) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	b = AppendVarint(b, 3, uint64(v))
	return AppendVarint(b, 20, attrInt)
}

// IntsAttr is a list-of-integers attribute.
func IntsAttr(name string, vs ...int64) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	for _, v := range vs {
		b = AppendVarint(b, 8, uint64(v))
	}
	return AppendVarint(b, 20, attrInts)
}

// FloatAttr is a float attribute.
func FloatAttr(name string, v float32) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, math.Float32bits(v))
	return AppendVarint(b, 20, attrFloat)
}

// StringAttr is a string attribute.
func StringAttr(name, v string) Attr {
	var b []byte
	b = AppendString(b, 1, name)
	b = AppendString(b, 4, v)
	return AppendVarint(b, 20, attrString)
}
