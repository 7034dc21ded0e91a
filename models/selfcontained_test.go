package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// passwd is where the hostile tensors of these tests point.
const passwd = "../../../../etc/passwd"

// evilTensor is a float32 [3,3,1,1] tensor kept in passwd.
func evilTensor(name string) []byte {
	return onnxgraph.ExternalTensor(name, []int64{3, 3, 1, 1}, passwd, 36)
}

// node encodes a NodeProto.
func node(op, name string, outputs []string, attrs ...onnxgraph.Attr) []byte {
	var b []byte
	for _, o := range outputs {
		b = onnxgraph.AppendString(b, 2, o)
	}
	if name != "" {
		b = onnxgraph.AppendString(b, 3, name)
	}
	b = onnxgraph.AppendString(b, 4, op)
	for _, a := range attrs {
		b = onnxgraph.AppendBytes(b, 5, a)
	}
	return b
}

// graphWith encodes a GraphProto holding the given fields.
func graphWith(fs ...[]byte) []byte {
	var g []byte
	for _, f := range fs {
		g = append(g, f...)
	}
	return g
}

// inGraph wraps an encoded message as GraphProto field num.
func inGraph(num protowire.Number, msg []byte) []byte { return onnxgraph.AppendBytes(nil, num, msg) }

// sparse encodes a SparseTensorProto with values and indices.
func sparse(values, indices []byte) []byte {
	var b []byte
	b = onnxgraph.AppendBytes(b, 1, values)
	b = onnxgraph.AppendBytes(b, 2, indices)
	return onnxgraph.AppendVarint(b, 3, 9)
}

// plainTensor is an ordinary int64 tensor with its data inside.
func plainTensor(name string) []byte {
	var b []byte
	b = onnxgraph.AppendVarint(b, 1, 1)
	b = onnxgraph.AppendVarint(b, 2, onnxgraph.TensorInt64)
	b = onnxgraph.AppendString(b, 8, name)
	return onnxgraph.AppendBytes(b, 9, make([]byte, 8))
}

// attr encodes an AttributeProto with one message field.
func attr(name string, num protowire.Number, msg []byte, typ uint64) onnxgraph.Attr {
	var b []byte
	b = onnxgraph.AppendString(b, 1, name)
	b = onnxgraph.AppendBytes(b, num, msg)
	return onnxgraph.AppendVarint(b, 20, typ)
}

// withGraph returns a good image model with more fields appended to its
// graph (protobuf merges repeated fields, so this is what ONNX Runtime
// sees).
func withGraph(t testing.TB, extra []byte) []byte {
	t.Helper()
	top, err := fields(buildToon())
	if err != nil {
		t.Fatal(err)
	}
	var m []byte
	for _, f := range top {
		if f.num == 7 {
			f.bytes = append(append([]byte(nil), f.bytes...), extra...)
		}
		m = appendField(m, f)
	}
	return m
}

// withModel returns a good image model with more top-level fields.
func withModel(extra []byte) []byte { return append(buildToon(), extra...) }

// hostileModels are models that would make ONNX Runtime read outside their
// bytes, each with the part of the one line that must name the problem.
func hostileModels(t testing.TB) []struct {
	name string
	data []byte
	want string
} {
	tensorAttr := func(name string, tensor []byte) onnxgraph.Attr { return onnxgraph.TensorAttr(name, tensor) }
	deep := evilTensor("deep")
	deepGraph := graphWith(inGraph(5, deep))
	for range 3 { // an If inside a Loop inside an If
		deepGraph = graphWith(inGraph(1, node("If", "", []string{"y"}, onnxgraph.GraphAttr("then_branch", deepGraph))))
	}
	var epc []byte
	epc = onnxgraph.AppendString(epc, 4, "EPContext")
	epc = onnxgraph.AppendString(epc, 7, "com.microsoft")
	epc = onnxgraph.AppendBytes(epc, 5, onnxgraph.StringAttr("ep_cache_context", passwd))
	epc = onnxgraph.AppendBytes(epc, 5, onnxgraph.IntAttr("embed_mode", 0))
	var ortConfig []byte
	ortConfig = onnxgraph.AppendString(ortConfig, 1, "ort_config")
	ortConfig = onnxgraph.AppendString(ortConfig, 2, `{"session_options":{"enable_profiling":true}}`)
	var training, function, functionAttr []byte
	training = onnxgraph.AppendBytes(training, 2, graphWith(inGraph(5, evilTensor("trained")))) // algorithm
	function = onnxgraph.AppendString(function, 1, "f")
	function = onnxgraph.AppendBytes(function, 7, node("Constant", "inside_f", []string{"c"}, tensorAttr("value", evilTensor(""))))
	functionAttr = onnxgraph.AppendString(functionAttr, 1, "g")
	functionAttr = onnxgraph.AppendBytes(functionAttr, 11, attr("alpha", 5, evilTensor("default"), 4))
	var locationOnly, entriesOnly, memory []byte
	locationOnly = onnxgraph.AppendString(onnxgraph.AppendVarint(locationOnly, 14, onnxgraph.DataExternal), 8, "w2")
	entriesOnly = onnxgraph.AppendString(entriesOnly, 8, "w3")
	entriesOnly = onnxgraph.AppendBytes(entriesOnly, 13, onnxgraph.AppendString(onnxgraph.AppendString(nil, 1, "location"), 2, passwd))
	memory = onnxgraph.ExternalTensor("m", []int64{3, 3, 1, 1}, "*/_ORT_MEM_ADDR_/*", 36)
	// A good model whose producer name puts the .ort identifier at offset 4:
	// it parses as ONNX, but ONNX Runtime would read it as a flatbuffer.
	var ortFormat []byte
	ortFormat = onnxgraph.AppendVarint(ortFormat, 1, onnxgraph.IRVersion)
	ortFormat = onnxgraph.AppendString(ortFormat, 2, "ORTM")
	ortFormat = append(ortFormat, buildToon()...)

	return []struct {
		name string
		data []byte
		want string
	}{
		{"initializer in a file", testmodels.ExternalDataGraph(passwd), `tensor "external_1" keeps its data in an external file ("../../../../etc/passwd")`},
		{"data_location EXTERNAL alone", withGraph(t, inGraph(5, locationOnly)), `tensor "w2" has data_location 1 (external)`},
		{"external_data without data_location", withGraph(t, inGraph(5, entriesOnly)), `tensor "w3" keeps its data in an external file`},
		{"ONNX Runtime's memory address tag", withGraph(t, inGraph(5, memory)), `tensor "m" keeps its data in an external file ("*/_ORT_MEM_ADDR_/*")`},
		{"Constant value", withGraph(t, inGraph(1, node("Constant", "c1", []string{"k"}, tensorAttr("value", evilTensor(""))))), `the tensor in attribute "value" of node "c1" keeps its data`},
		{"Constant of a nameless node", withGraph(t, inGraph(1, node("Constant", "", []string{"k2"}, tensorAttr("value", evilTensor(""))))), `attribute "value" of node "k2"`},
		{"tensors attribute", withGraph(t, inGraph(1, node("Foo", "n", []string{"o"}, attr("ts", 10, evilTensor("listed"), 9)))), `tensor "listed" keeps`},
		{"sparse initializer values", withGraph(t, inGraph(15, sparse(evilTensor("sv"), plainTensor("si")))), `tensor "sv" keeps`},
		{"sparse initializer indices", withGraph(t, inGraph(15, sparse(plainTensor("sv"), evilTensor("si")))), `tensor "si" keeps`},
		{"Constant sparse_value", withGraph(t, inGraph(1, node("Constant", "c3", []string{"k3"}, attr("sparse_value", 22, sparse(evilTensor(""), plainTensor("i")), 11)))), `attribute "sparse_value" of node "c3"`},
		{"sparse_tensors attribute", withGraph(t, inGraph(1, node("Foo", "c4", []string{"k4"}, attr("sts", 23, sparse(plainTensor("v"), evilTensor("sti")), 12)))), `tensor "sti" keeps`},
		{"If branch", withGraph(t, inGraph(1, node("If", "if", []string{"y"}, onnxgraph.GraphAttr("else_branch", graphWith(inGraph(5, evilTensor("branch"))))))), `tensor "branch" keeps`},
		{"Scan body in graphs", withGraph(t, inGraph(1, node("Foo", "s", []string{"y"}, attr("bodies", 11, graphWith(inGraph(5, evilTensor("listed_body"))), 10)))), `tensor "listed_body" keeps`},
		{"three subgraphs deep", withGraph(t, deepGraph), `tensor "deep" keeps`},
		{"training_info", withModel(onnxgraph.AppendBytes(nil, 20, training)), `tensor "trained" keeps`},
		{"function node", withModel(onnxgraph.AppendBytes(nil, 25, function)), `attribute "value" of node "inside_f"`},
		{"function attribute default", withModel(onnxgraph.AppendBytes(nil, 25, functionAttr)), `tensor "default" keeps`},
		{"EPContext node", withGraph(t, inGraph(1, epc)), `an EPContext node (a precompiled engine`},
		{"ort_config metadata", withModel(onnxgraph.AppendBytes(nil, 14, ortConfig)), `metadata "ort_config" sets ONNX Runtime session options`},
		{"ORT format identifier", ortFormat, "an ONNX Runtime format (.ort) model, not ONNX"},
	}
}

// TestExternalDataIsRefused: every place in an ONNX model where a tensor
// (or anything else) can send ONNX Runtime to a file is refused by
// CheckSelfContained and so by ParseGraph, with one line that names it;
// before, ParseGraph read the first of these models as a good style.
func TestExternalDataIsRefused(t *testing.T) {
	for _, c := range hostileModels(t) {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSelfContained(c.data)
			if !errors.Is(err, ErrNotSelfContained) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") ||
				!strings.HasSuffix(err.Error(), ": vidstyle loads only self-contained models") {
				t.Fatalf("CheckSelfContained: %v, want one line with %q", err, c.want)
			}
			if _, err := ParseGraph(c.data); !errors.Is(err, ErrNotSelfContained) {
				t.Fatalf("ParseGraph: %v", err)
			}
		})
	}
}

// TestSelfContainedModelsPass: the built-in styles, the test graphs and
// the pretrained models (when present) are self-contained, with
// Constant tensors and sparse tensors whose data is inside.
func TestSelfContainedModelsPass(t *testing.T) {
	good := map[string][]byte{
		"toon":    buildToon(),
		"pencil":  buildPencil(),
		"johnson": testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224}),
		"constant and sparse": withGraph(t, graphWith(
			inGraph(1, node("Constant", "c", []string{"k"}, onnxgraph.TensorAttr("value", plainTensor("")))),
			inGraph(15, sparse(plainTensor("v"), plainTensor("i"))),
			inGraph(1, node("If", "if", []string{"y"}, onnxgraph.GraphAttr("then_branch", graphWith(inGraph(5, plainTensor("b")))))))),
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "models", "*.onnx"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good[f] = data
	}
	for name, data := range good {
		if err := CheckSelfContained(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNestingIsBounded: graphs nested deeper than protobuf's own limit are
// refused as not ONNX rather than followed.
func TestNestingIsBounded(t *testing.T) {
	g := graphWith(inGraph(5, plainTensor("w")))
	for range maxNesting {
		g = graphWith(inGraph(1, node("If", "", []string{"y"}, onnxgraph.GraphAttr("then_branch", g))))
	}
	err := CheckSelfContained(withGraph(t, g))
	if !(errors.Is(err, ErrNotONNX) || errors.Is(err, ErrTooBig)) || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("err = %v", err)
	}
}

// nodeIn encodes a NodeProto with inputs and outputs.
func nodeIn(op string, inputs, outputs []string, attrs ...onnxgraph.Attr) []byte {
	var b []byte
	for _, in := range inputs {
		b = onnxgraph.AppendString(b, 1, in)
	}
	return append(b, node(op, "", outputs, attrs...)...)
}

// int64Tensor is a 1-D int64 initializer with the given values.
func int64Tensor(name string, vs ...int64) []byte {
	var b []byte
	b = onnxgraph.AppendVarint(b, 1, uint64(len(vs)))
	b = onnxgraph.AppendVarint(b, 2, onnxgraph.TensorInt64)
	b = onnxgraph.AppendString(b, 8, name)
	raw := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return onnxgraph.AppendBytes(b, 9, raw)
}

// TestLimits: a model is refused before anything is built from it when
// loading it alone would take gigabytes or hours: too many nodes,
// subgraphs nested too deep, a constant folded at load time that does
// not fit in memory. Just inside each limit, it is read.
func TestLimits(t *testing.T) {
	nested := func(levels int) []byte {
		g := graphWith(inGraph(5, plainTensor("w")))
		for range levels {
			g = graphWith(inGraph(1, node("If", "", []string{"y"}, onnxgraph.GraphAttr("then_branch", g))))
		}
		return g
	}
	many := func(n int) []byte {
		var g []byte
		for i := range n {
			g = append(g, inGraph(1, nodeIn("Identity", []string{"x"}, []string{fmt.Sprint("y", i)}))...)
		}
		return g
	}
	manyInits := func(n int) []byte {
		var g []byte
		for i := range n {
			g = append(g, inGraph(5, int64Tensor(fmt.Sprint("w", i), 1))...)
		}
		return g
	}
	constantOf := func(dims ...int64) []byte {
		return graphWith(inGraph(5, int64Tensor("shape", dims...)), inGraph(1, nodeIn("ConstantOfShape", []string{"shape"}, []string{"big"})))
	}
	rangeOf := func(limit int64) []byte {
		return graphWith(inGraph(1, node("Constant", "", []string{"start"}, attr("value", 5, int64Scalar(0), 4))),
			inGraph(5, int64Scalar2("limit", limit)), inGraph(5, int64Scalar2("delta", 1)),
			inGraph(1, nodeIn("Range", []string{"start", "limit", "delta"}, []string{"r"})))
	}
	for _, c := range []struct {
		name  string
		graph []byte
		want  string // "" when it is read
	}{
		{"If nested 8 deep", nested(maxSubgraphDepth), ""},
		{"If nested 9 deep", nested(maxSubgraphDepth + 1), "subgraphs (If, Loop, Scan) nested more than 8 deep"},
		{"100000 nodes with the model's own", many(maxNodes - 20), ""},
		{"100001 nodes", many(maxNodes + 1), "more than 100000 nodes"},
		{"100001 initializers", manyInits(maxEntries + 1), "more than 100000 initializers or value_info entries"},
		{"ConstantOfShape [1024, 1024]", constantOf(1024, 1024), ""},
		{"ConstantOfShape [1<<29]", constantOf(1 << 29), "a ConstantOfShape node makes a constant of 2.15 GB at load time"},
		{"ConstantOfShape [1<<40, 1<<40] (overflows int64)", constantOf(1<<40, 1<<40), "ConstantOfShape node makes a constant of"},
		{"Expand of a constant to [1<<15, 1<<15]", graphWith(inGraph(5, int64Tensor("one", 1)), inGraph(5, int64Tensor("shape", 1<<15, 1<<15)),
			inGraph(1, nodeIn("Expand", []string{"one", "shape"}, []string{"big"}))), "an Expand node makes a constant of 8.59 GB"},
		{"Expand of the input to [1, 128, 1080, 1920] (computed at run time)", graphWith(inGraph(5, int64Tensor("shape", 1, 128, 1080, 1920)),
			inGraph(1, nodeIn("Expand", []string{"input", "shape"}, []string{"big"}))), ""},
		// The same through the ops ONNX Runtime folds on the way (a few
		// hundred bytes that took 6.4 GB before).
		{"ConstantOfShape [1<<29] through an Identity", graphWith(inGraph(5, int64Tensor("shape", 1<<29)),
			inGraph(1, nodeIn("Identity", []string{"shape"}, []string{"s2"})), inGraph(1, nodeIn("ConstantOfShape", []string{"s2"}, []string{"big"}))),
			"a ConstantOfShape node makes a constant of 2.15 GB"},
		{"ConstantOfShape of a Concat of constants", graphWith(inGraph(5, int64Tensor("a", 1<<15)), inGraph(5, int64Tensor("b", 1<<15)),
			inGraph(1, nodeIn("Concat", []string{"a", "b"}, []string{"s"}, onnxgraph.IntAttr("axis", 0))), inGraph(1, nodeIn("Cast", []string{"s"}, []string{"s2"})),
			inGraph(1, nodeIn("ConstantOfShape", []string{"s2"}, []string{"big"}))), "makes a constant of 4.29 GB"},
		{"ConstantOfShape of a shape computed from constants (Mul)", graphWith(inGraph(5, int64Tensor("a", 1<<15)),
			inGraph(1, nodeIn("Mul", []string{"a", "a"}, []string{"s"})), inGraph(1, nodeIn("ConstantOfShape", []string{"s"}, []string{"big"}))),
			"a ConstantOfShape node makes a constant of 4.29 GB"},
		{"Tile of a constant", graphWith(inGraph(5, int64Tensor("one", 1)), inGraph(5, int64Tensor("reps", 1<<31)),
			inGraph(1, nodeIn("Tile", []string{"one", "reps"}, []string{"big"}))), "a Tile node makes a constant of 17.2 GB"},
		{"Pad of a constant", graphWith(inGraph(5, int64Tensor("one", 1)), inGraph(5, int64Tensor("pads", 1<<31, 1<<31)),
			inGraph(1, nodeIn("Pad", []string{"one", "pads"}, []string{"big"}))), "from values vidstyle cannot size"},
		{"a Loop", graphWith(inGraph(5, int64Scalar2("trips", 1<<62)), inGraph(1, nodeIn("Loop", []string{"trips", ""}, []string{"out"}))),
			"a Loop node (a loop): vidstyle runs feed-forward image nets"},
		{"Range 0..1000", rangeOf(1000), ""},
		{"Range 0..1e10", rangeOf(1e10), "a Range node makes a constant of 80 GB"},
		// Sized by broadcasting their inputs' shapes: each file is a few
		// hundred kilobytes and took ONNX Runtime 3 to 8 GB to load.
		{"Add of [100,1] and [1,100]", graphWith(inGraph(5, zeros("col", 100, 1)), inGraph(5, zeros("row", 1, 100)),
			inGraph(1, nodeIn("Add", []string{"col", "row"}, []string{"big"}))), ""},
		{"Add of [20000,1] and [1,20000]", graphWith(inGraph(5, zeros("col", 20000, 1)), inGraph(5, zeros("row", 1, 20000)),
			inGraph(1, nodeIn("Add", []string{"col", "row"}, []string{"big"}))), "an Add node makes a constant of 1.6 GB"},
		{"Where of [20000,1] and [1,20000] through a Cast and a Transpose", graphWith(inGraph(5, zeros("col", 20000, 1)),
			inGraph(1, nodeIn("Transpose", []string{"col"}, []string{"row"})), inGraph(1, nodeIn("Cast", []string{"col"}, []string{"cond"}, onnxgraph.IntAttr("to", 9))),
			inGraph(1, nodeIn("Where", []string{"cond", "col", "row"}, []string{"big"}))), "a Where node makes a constant of 1.6 GB"},
		{"Expand of [20000,1] to [1,20000]", graphWith(inGraph(5, zeros("col", 20000, 1)), inGraph(5, int64Tensor("shape", 1, 20000)),
			inGraph(1, nodeIn("Expand", []string{"col", "shape"}, []string{"big"}))), "an Expand node makes a constant of 1.6 GB"},
		{"MatMul of [20000,1] by [1,20000]", graphWith(inGraph(5, zeros("col", 20000, 1)), inGraph(5, zeros("row", 1, 20000)),
			inGraph(1, nodeIn("MatMul", []string{"col", "row"}, []string{"big"}))), "a MatMul node makes a constant of 1.6 GB"},
		{"Gather of [1,20000] by 20000 indices", graphWith(inGraph(5, zeros("row", 1, 20000)), inGraph(5, int64Tensor("n", 20000)),
			inGraph(1, nodeIn("ConstantOfShape", []string{"n"}, []string{"idx"}, attr("value", 4, int64Scalar(0), 4))),
			inGraph(1, nodeIn("Gather", []string{"row", "idx"}, []string{"big"}))), "a Gather node makes a constant of 1.6 GB"},
		{"Range to a Mul of constants", graphWith(inGraph(5, int64Scalar2("start", 0)), inGraph(5, int64Scalar2("n", 20000)), inGraph(5, int64Scalar2("delta", 1)),
			inGraph(1, nodeIn("Mul", []string{"n", "n"}, []string{"limit"})),
			inGraph(1, nodeIn("Range", []string{"start", "limit", "delta"}, []string{"r"}))), "a Range node makes a constant of 3.2 GB"},
		{"Range to a limit made by an op the walk does not follow", graphWith(inGraph(5, int64Scalar2("start", 0)), inGraph(5, int64Scalar2("n", 20000)), inGraph(5, int64Scalar2("delta", 1)),
			inGraph(1, nodeIn("Einsum", []string{"n", "n"}, []string{"limit"}, onnxgraph.StringAttr("equation", ",->"))),
			inGraph(1, nodeIn("Range", []string{"start", "limit", "delta"}, []string{"r"}))), "an Einsum node makes a constant at load time from values vidstyle cannot size"},
		{"ConstantOfShape in an If branch, of the outer graph's shape", graphWith(inGraph(5, int64Tensor("shape", 20000, 20000)), inGraph(5, int64Scalar2("cond", 1)),
			inGraph(1, nodeIn("If", []string{"cond"}, []string{"y"}, onnxgraph.GraphAttr("then_branch",
				graphWith(inGraph(1, nodeIn("ConstantOfShape", []string{"shape"}, []string{"big"}))))))), "a ConstantOfShape node makes a constant of 1.6 GB"},
		{"an If branch's input of the outer constant's name is not that constant", graphWith(inGraph(5, int64Tensor("shape", 20000, 20000)), inGraph(5, int64Scalar2("cond", 1)),
			inGraph(1, nodeIn("If", []string{"cond"}, []string{"y"}, onnxgraph.GraphAttr("then_branch",
				graphWith(inGraph(11, onnxgraph.EncodeValue(onnxgraph.Value{Name: "shape", ElemType: onnxgraph.TensorInt64})),
					inGraph(1, nodeIn("ConstantOfShape", []string{"shape"}, []string{"big"}))))))), ""},
		{"RandomNormal of [20000,20000]", graphWith(inGraph(1, nodeIn("RandomNormal", nil, []string{"r"}, onnxgraph.IntsAttr("shape", 20000, 20000)))),
			"a RandomNormal node makes 1.6 GB on every run"},
		{"a small constant subgraph (Shape, Gather, Unsqueeze, Concat, Reshape, ReduceMax)", graphWith(inGraph(5, zeros("w", 4, 8, 3, 3)),
			inGraph(1, nodeIn("Shape", []string{"w"}, []string{"s"})), inGraph(5, int64Scalar2("zero", 0)),
			inGraph(1, nodeIn("Gather", []string{"s", "zero"}, []string{"c"})), inGraph(5, int64Tensor("axes", 0)),
			inGraph(1, nodeIn("Unsqueeze", []string{"c", "axes"}, []string{"c1"})), inGraph(5, int64Tensor("minus", -1)),
			inGraph(1, nodeIn("Concat", []string{"c1", "minus"}, []string{"shape"}, onnxgraph.IntAttr("axis", 0))),
			inGraph(1, nodeIn("Reshape", []string{"w", "shape"}, []string{"w2"})),
			inGraph(1, nodeIn("ReduceMax", []string{"w2"}, []string{"m"}, onnxgraph.IntAttr("keepdims", 0))),
			inGraph(1, nodeIn("Expand", []string{"m", "shape"}, []string{"e"}))), ""},
	} {
		err := CheckSelfContained(withGraph(t, c.graph))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

// zeros is a float initializer of the given shape, all zeros.
func zeros(name string, dims ...int64) []byte {
	var b []byte
	n := int64(1)
	for _, d := range dims {
		b = onnxgraph.AppendVarint(b, 1, uint64(d))
		n *= d
	}
	b = onnxgraph.AppendVarint(b, 2, onnxgraph.TensorFloat)
	b = onnxgraph.AppendString(b, 8, name)
	return onnxgraph.AppendBytes(b, 9, make([]byte, 4*n))
}

// int64Scalar is a TensorProto holding one int64 and no name.
func int64Scalar(v int64) []byte { return int64Scalar2("", v) }

// int64Scalar2 is a named 0-D int64 tensor.
func int64Scalar2(name string, v int64) []byte {
	var b []byte
	b = onnxgraph.AppendVarint(b, 2, onnxgraph.TensorInt64)
	if name != "" {
		b = onnxgraph.AppendString(b, 8, name)
	}
	raw := make([]byte, 8)
	binary.LittleEndian.PutUint64(raw, uint64(v))
	return onnxgraph.AppendBytes(b, 9, raw)
}

// TestTensorDataMatchesItsShape: a tensor whose shape declares more (or
// fewer) values than it holds is refused in one line before ONNX Runtime
// sees it: the runtime allocates what the shape declares (10⁸ strings
// declared in a 200-byte file, one held, took 3.2 GB). So is a sparse
// tensor that would be gigabytes once made dense. Tensors as exporters
// write them pass.
func TestTensorDataMatchesItsShape(t *testing.T) {
	tensor := func(name string, dtype uint64, dims []int64, data ...[]byte) []byte {
		var b []byte
		for _, d := range dims {
			b = onnxgraph.AppendVarint(b, 1, uint64(d))
		}
		b = onnxgraph.AppendVarint(b, 2, dtype)
		b = onnxgraph.AppendString(b, 8, name)
		for _, d := range data {
			b = append(b, d...)
		}
		return b
	}
	raw := func(n int) []byte { return onnxgraph.AppendBytes(nil, 9, make([]byte, n)) }
	str := func(s string) []byte { return onnxgraph.AppendString(nil, 6, s) }
	packed := func(num protowire.Number, vs ...uint64) []byte {
		var p []byte
		for _, v := range vs {
			p = protowire.AppendVarint(p, v)
		}
		return onnxgraph.AppendBytes(nil, num, p)
	}
	for _, c := range []struct {
		name, want string
		tensor     []byte
	}{
		{"float [2,3] raw", "", tensor("a", 1, []int64{2, 3}, raw(24))},
		{"int64 [3] packed", "", tensor("a", 7, []int64{3}, packed(7, 1, 300, 1<<40))},
		{"int8 scalar raw", "", tensor("a", 3, nil, raw(1))},
		{"uint8 [4] in int32_data", "", tensor("a", 2, []int64{4}, packed(5, 1, 2, 3, 255))},
		{"strings [2]", "", tensor("a", 8, []int64{2}, str("x"), str("y"))},
		{"int4 [3] raw (two a byte)", "", tensor("a", 22, []int64{3}, raw(2))},
		{"an empty [0, 5]", "", tensor("a", 1, []int64{0, 5})},
		{"strings declared 10⁸, one held", `tensor "s" declares 100000000 values (shape [100000000]) and holds 1`, tensor("s", 8, []int64{100_000_000}, str("x"))},
		{"float [1000,1000] with 4 bytes", `tensor "f" declares 1000000 values (shape [1000 1000]) and holds 1`, tensor("f", 1, []int64{1000, 1000}, raw(4))},
		{"float [2] with 12 bytes", `declares 2 values (shape [2]) and holds 3`, tensor("f", 1, []int64{2}, raw(12))},
		{"int64 [3] with 2 values", `declares 3 values (shape [3]) and holds 2`, tensor("i", 7, []int64{3}, packed(7, 1, 2))},
		{"float scalar with no data", `declares 1 values (shape []) and holds 0`, tensor("f", 1, nil)},
		{"a negative dimension", `tensor "n" has a dimension of -4`, tensor("n", 1, []int64{-4, -4}, raw(64))},
	} {
		err := CheckSelfContained(withGraph(t, inGraph(5, c.tensor)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrNotONNX) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	dense := func(dims ...uint64) []byte {
		b := onnxgraph.AppendBytes(nil, 1, tensor("v", 1, []int64{1}, raw(4)))
		b = onnxgraph.AppendBytes(b, 2, tensor("i", 7, []int64{1}, packed(7, 0)))
		for _, d := range dims {
			b = onnxgraph.AppendVarint(b, 3, d)
		}
		return b
	}
	if err := CheckSelfContained(withGraph(t, inGraph(15, dense(100, 100)))); err != nil {
		t.Errorf("a sparse initializer of 100x100: %v", err)
	}
	if err := CheckSelfContained(withGraph(t, inGraph(15, dense(40000, 40000)))); !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "a sparse tensor of 6.4 GB when made dense") {
		t.Errorf("a sparse initializer of 40000x40000: err = %v", err)
	}
}
