package models

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX protobuf field numbers and enum values (onnx/onnx.proto, IR version 7).
const (
	onnxIRVersion = 7
	onnxOpset     = 13

	tensorFloat = 1  // TensorProto.DataType FLOAT
	tensorHalf  = 10 // TensorProto.DataType FLOAT16
	tensorInt64 = 7  // TensorProto.DataType INT64

	attrFloat  = 1 // AttributeProto.AttributeType
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// Field writers: each appends one field (tag and value) to b.
func putString(b []byte, field protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, field, protowire.BytesType), v)
}

func putBytes(b []byte, field protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, field, protowire.BytesType), v)
}

func putVarint(b []byte, field protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, field, protowire.VarintType), v)
}

// graphBuilder writes an ONNX ModelProto with nothing but protowire: the
// built-in styles are small, fixed graphs, so a full protobuf code generator
// is not needed. Each helper returns the name of the value it produces.
type graphBuilder struct {
	nodes        [][]byte
	initializers [][]byte
	valueInfo    [][]byte
	next         int
	// opset is the ai.onnx opset (default 13); inDims and outDims the
	// image shapes (default [1,3,height,width]).
	opset           int64
	inDims, outDims []Dim
	inType          int32    // element type of the input (default float32)
	extraInputs     []string // more graph inputs, for tests of bad models
}

// attr is one encoded AttributeProto.
type attr []byte

func intAttr(name string, v int64) attr {
	var b []byte
	b = putString(b, 1, name)
	b = putVarint(b, 3, uint64(v))
	return putVarint(b, 20, attrInt)
}

func intsAttr(name string, vs ...int64) attr {
	var b []byte
	b = putString(b, 1, name)
	for _, v := range vs {
		b = putVarint(b, 8, uint64(v))
	}
	return putVarint(b, 20, attrInts)
}

func floatAttr(name string, v float32) attr {
	var b []byte
	b = putString(b, 1, name)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, math.Float32bits(v))
	return putVarint(b, 20, attrFloat)
}

func stringAttr(name, v string) attr {
	var b []byte
	b = putString(b, 1, name)
	b = putString(b, 4, v)
	return putVarint(b, 20, attrString)
}

// op adds a node with one output and returns the output's name.
func (g *graphBuilder) op(opType string, inputs []string, attrs ...attr) string {
	g.next++
	out := fmt.Sprintf("%s_%d", opType, g.next)
	var b []byte
	for _, in := range inputs {
		b = putString(b, 1, in)
	}
	b = putString(b, 2, out)
	b = putString(b, 3, out)
	b = putString(b, 4, opType)
	for _, a := range attrs {
		b = putBytes(b, 5, a)
	}
	g.nodes = append(g.nodes, b)
	return out
}

// floats adds a float32 initializer of the given shape.
func (g *graphBuilder) floats(dims []int64, vals []float32) string {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return g.initializer(tensorFloat, dims, raw)
}

// scalar adds a float32 scalar initializer.
func (g *graphBuilder) scalar(v float32) string {
	return g.floats(nil, []float32{v})
}

// int64s adds an int64 initializer of the given shape.
func (g *graphBuilder) int64s(dims []int64, vals []int64) string {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return g.initializer(tensorInt64, dims, raw)
}

func (g *graphBuilder) initializer(dataType uint64, dims []int64, raw []byte) string {
	g.next++
	name := fmt.Sprintf("const_%d", g.next)
	var b []byte
	for _, d := range dims {
		b = putVarint(b, 1, uint64(d))
	}
	b = putVarint(b, 2, dataType)
	b = putString(b, 8, name)
	b = putBytes(b, 9, raw)
	g.initializers = append(g.initializers, b)
	return name
}

// encodeValue writes a ValueInfoProto for a tensor.
func encodeValue(v Value) []byte {
	var shape []byte
	for _, d := range v.Dims {
		var e []byte
		switch {
		case d.Param != "":
			e = putString(e, 2, d.Param)
		case d.Value > 0:
			e = putVarint(e, 1, uint64(d.Value))
		}
		shape = putBytes(shape, 1, e)
	}
	var tensor []byte
	tensor = putVarint(tensor, 1, uint64(v.ElemType))
	tensor = putBytes(tensor, 2, shape)
	var typ []byte
	typ = putBytes(typ, 1, tensor)
	var b []byte
	b = putString(b, 1, v.Name)
	return putBytes(b, 2, typ)
}

// imageDims is [1,3,height,width].
func imageDims() []Dim { return []Dim{{Value: 1}, {Value: 3}, {Param: "height"}, {Param: "width"}} }

// model encodes the graph as a ModelProto whose input is named in and whose
// output is the value result, renamed to out by a final Identity node.
func (g *graphBuilder) model(graphName, in, result, out, doc string, meta map[string]string) []byte {
	var graph []byte
	nodes := append([][]byte(nil), g.nodes...)
	var id []byte
	id = putString(id, 1, result)
	id = putString(id, 2, out)
	id = putString(id, 4, "Identity")
	nodes = append(nodes, id)
	for _, n := range nodes {
		graph = putBytes(graph, 1, n)
	}
	graph = putString(graph, 2, graphName)
	for _, t := range g.initializers {
		graph = putBytes(graph, 5, t)
	}
	inDims, outDims := g.inDims, g.outDims
	if inDims == nil {
		inDims = imageDims()
	}
	if outDims == nil {
		outDims = imageDims()
	}
	inType := g.inType
	if inType == 0 {
		inType = tensorFloat
	}
	graph = putBytes(graph, 11, encodeValue(Value{Name: in, ElemType: inType, Dims: inDims}))
	for _, x := range g.extraInputs {
		graph = putBytes(graph, 11, encodeValue(Value{Name: x, ElemType: tensorFloat, Dims: imageDims()}))
	}
	graph = putBytes(graph, 12, encodeValue(Value{Name: out, ElemType: inType, Dims: outDims}))
	for _, v := range g.valueInfo {
		graph = putBytes(graph, 13, v)
	}

	var m []byte
	m = putVarint(m, 1, onnxIRVersion)
	m = putString(m, 2, "vidstyle")
	m = putString(m, 6, doc)
	m = putBytes(m, 7, graph)
	var opset []byte
	version := g.opset
	if version == 0 {
		version = onnxOpset
	}
	opset = putVarint(opset, 2, uint64(version))
	m = putBytes(m, 8, opset)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = putString(e, 1, k)
		e = putString(e, 2, meta[k])
		m = putBytes(m, 14, e)
	}
	return m
}
