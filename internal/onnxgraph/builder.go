package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Builder writes one ONNX ModelProto with a single image input and output.
// Each method that adds to the graph returns the name of the value it
// produces, so that a graph reads as nested calls. The zero Builder writes
// opset DefaultOpset with float32 [1,3,height,width] at both ends.
type Builder struct {
	// Opset is the ai.onnx opset (default DefaultOpset).
	Opset int64
	// InDims and OutDims are the shapes of the input and output (default
	// ImageDims()).
	InDims, OutDims []Dim
	// InType is the element type of the input and output (default
	// TensorFloat).
	InType int32
	// ExtraInputs are more graph inputs, float32 [1,3,height,width], for
	// tests of bad models.
	ExtraInputs []string

	nodes        [][]byte
	initializers [][]byte
	valueInfo    [][]byte
	next         int
}

// Op adds a node with one output and returns the output's name.
func (g *Builder) Op(opType string, inputs []string, attrs ...Attr) string {
	g.next++
	out := fmt.Sprintf("%s_%d", opType, g.next)
	g.node(opType, out, inputs, []string{out}, attrs)
	return out
}

// OpN adds a node with n outputs and returns their names.
func (g *Builder) OpN(opType string, inputs []string, n int, attrs ...Attr) []string {
	g.next++
	name := fmt.Sprintf("%s_%d", opType, g.next)
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_%d", name, i)
	}
	g.node(opType, name, inputs, outs, attrs)
	return outs
}

// node encodes one NodeProto.
func (g *Builder) node(opType, name string, inputs, outputs []string, attrs []Attr) {
	var b []byte
	for _, in := range inputs {
		b = AppendString(b, 1, in)
	}
	for _, o := range outputs {
		b = AppendString(b, 2, o)
	}
	b = AppendString(b, 3, name)
	b = AppendString(b, 4, opType)
	for _, a := range attrs {
		b = AppendBytes(b, 5, a)
	}
	g.nodes = append(g.nodes, b)
}

// Floats adds a float32 initializer of the given shape.
func (g *Builder) Floats(dims []int64, vals []float32) string {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return g.initializer(TensorFloat, dims, raw)
}

// Scalar adds a float32 scalar initializer.
func (g *Builder) Scalar(v float32) string {
	return g.Floats(nil, []float32{v})
}

// Int64s adds an int64 initializer of the given shape.
func (g *Builder) Int64s(dims []int64, vals []int64) string {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return g.initializer(TensorInt64, dims, raw)
}

func (g *Builder) initializer(dataType uint64, dims []int64, raw []byte) string {
	g.next++
	name := fmt.Sprintf("const_%d", g.next)
	var b []byte
	for _, d := range dims {
		b = AppendVarint(b, 1, uint64(d))
	}
	b = AppendVarint(b, 2, dataType)
	b = AppendString(b, 8, name)
	b = AppendBytes(b, 9, raw)
	g.initializers = append(g.initializers, b)
	return name
}

// ReflectPad pads H and W of an NCHW value by p on each side, mirroring the
// edge (Pad with a pads input: opset 11 and up).
func (g *Builder) ReflectPad(x string, p int64) string {
	pads := g.Int64s([]int64{8}, []int64{0, 0, p, p, 0, 0, p, p})
	return g.Op("Pad", []string{x, pads}, StringAttr("mode", "reflect"))
}

// Annotate records the type and shape of an intermediate value
// (value_info), as exporters do.
func (g *Builder) Annotate(v Value) {
	g.valueInfo = append(g.valueInfo, EncodeValue(v))
}

// Model encodes the graph as a ModelProto whose input is named in and whose
// output is the value result, renamed to out by a final Identity node. Its
// metadata_props are meta, sorted by key.
func (g *Builder) Model(graphName, in, result, out, doc string, meta map[string]string) []byte {
	var graph []byte
	nodes := append([][]byte(nil), g.nodes...)
	var id []byte
	id = AppendString(id, 1, result)
	id = AppendString(id, 2, out)
	id = AppendString(id, 4, "Identity")
	nodes = append(nodes, id)
	for _, n := range nodes {
		graph = AppendBytes(graph, 1, n)
	}
	graph = AppendString(graph, 2, graphName)
	for _, t := range g.initializers {
		graph = AppendBytes(graph, 5, t)
	}
	inDims, outDims := g.InDims, g.OutDims
	if inDims == nil {
		inDims = ImageDims()
	}
	if outDims == nil {
		outDims = ImageDims()
	}
	inType := g.InType
	if inType == 0 {
		inType = TensorFloat
	}
	graph = AppendBytes(graph, 11, EncodeValue(Value{Name: in, ElemType: inType, Dims: inDims}))
	for _, x := range g.ExtraInputs {
		graph = AppendBytes(graph, 11, EncodeValue(Value{Name: x, ElemType: TensorFloat, Dims: ImageDims()}))
	}
	graph = AppendBytes(graph, 12, EncodeValue(Value{Name: out, ElemType: inType, Dims: outDims}))
	for _, v := range g.valueInfo {
		graph = AppendBytes(graph, 13, v)
	}

	var m []byte
	m = AppendVarint(m, 1, IRVersion)
	m = AppendString(m, 2, "vidstyle")
	m = AppendString(m, 6, doc)
	m = AppendBytes(m, 7, graph)
	var opset []byte
	version := g.Opset
	if version == 0 {
		version = DefaultOpset
	}
	opset = AppendVarint(opset, 2, uint64(version))
	m = AppendBytes(m, 8, opset)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = AppendString(e, 1, k)
		e = AppendString(e, 2, meta[k])
		m = AppendBytes(m, 14, e)
	}
	return m
}
