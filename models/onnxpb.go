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

	tensorFloat = 1 // TensorProto.DataType FLOAT
	tensorInt64 = 7 // TensorProto.DataType INT64

	attrFloat  = 1 // AttributeProto.AttributeType
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// graphBuilder writes an ONNX ModelProto with nothing but protowire: the
// built-in styles are small, fixed graphs, so a full protobuf code generator
// is not needed. Each helper returns the name of the value it produces.
type graphBuilder struct {
	nodes        [][]byte
	initializers [][]byte
	next         int
}

// attr is one encoded AttributeProto.
type attr []byte

func intAttr(name string, v int64) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(v))
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, attrInt)
}

func intsAttr(name string, vs ...int64) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	for _, v := range vs {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, attrInts)
}

func floatAttr(name string, v float32) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, math.Float32bits(v))
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, attrFloat)
}

func stringAttr(name, v string) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, v)
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, attrString)
}

// op adds a node with one output and returns the output's name.
func (g *graphBuilder) op(opType string, inputs []string, attrs ...attr) string {
	g.next++
	out := fmt.Sprintf("%s_%d", opType, g.next)
	var b []byte
	for _, in := range inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, out)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, out)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, opType)
	for _, a := range attrs {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, a)
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
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, dataType)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	g.initializers = append(g.initializers, b)
	return name
}

// imageValueInfo describes a float32 [1,3,H,W] tensor with symbolic H and W.
func imageValueInfo(name string) []byte {
	dim := func(b []byte, value int64, param string) []byte {
		var d []byte
		if param != "" {
			d = protowire.AppendTag(d, 2, protowire.BytesType)
			d = protowire.AppendString(d, param)
		} else {
			d = protowire.AppendTag(d, 1, protowire.VarintType)
			d = protowire.AppendVarint(d, uint64(value))
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendBytes(b, d)
	}
	var shape []byte
	shape = dim(shape, 1, "")
	shape = dim(shape, 3, "")
	shape = dim(shape, 0, "height")
	shape = dim(shape, 0, "width")
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, tensorFloat)
	tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tensor)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}

// model encodes the graph as a ModelProto whose input is named in and whose
// output is the value result, renamed to out by a final Identity node.
func (g *graphBuilder) model(graphName, in, result, out, doc string, meta map[string]string) []byte {
	var graph []byte
	nodes := append([][]byte(nil), g.nodes...)
	var id []byte
	id = protowire.AppendTag(id, 1, protowire.BytesType)
	id = protowire.AppendString(id, result)
	id = protowire.AppendTag(id, 2, protowire.BytesType)
	id = protowire.AppendString(id, out)
	id = protowire.AppendTag(id, 4, protowire.BytesType)
	id = protowire.AppendString(id, "Identity")
	nodes = append(nodes, id)
	for _, n := range nodes {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, n)
	}
	graph = protowire.AppendTag(graph, 2, protowire.BytesType)
	graph = protowire.AppendString(graph, graphName)
	for _, t := range g.initializers {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType)
		graph = protowire.AppendBytes(graph, t)
	}
	graph = protowire.AppendTag(graph, 11, protowire.BytesType)
	graph = protowire.AppendBytes(graph, imageValueInfo(in))
	graph = protowire.AppendTag(graph, 12, protowire.BytesType)
	graph = protowire.AppendBytes(graph, imageValueInfo(out))

	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType)
	m = protowire.AppendVarint(m, onnxIRVersion)
	m = protowire.AppendTag(m, 2, protowire.BytesType)
	m = protowire.AppendString(m, "vidstyle")
	m = protowire.AppendTag(m, 6, protowire.BytesType)
	m = protowire.AppendString(m, doc)
	m = protowire.AppendTag(m, 7, protowire.BytesType)
	m = protowire.AppendBytes(m, graph)
	var opset []byte
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, onnxOpset)
	m = protowire.AppendTag(m, 8, protowire.BytesType)
	m = protowire.AppendBytes(m, opset)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, meta[k])
		m = protowire.AppendTag(m, 14, protowire.BytesType)
		m = protowire.AppendBytes(m, e)
	}
	return m
}
