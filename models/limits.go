package models

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrTooBig means a model asks for more than vidstyle lets ONNX Runtime
// load: so many nodes or such deep subgraphs that loading alone takes
// gigabytes or hours, or a constant made at load time that does not fit
// in memory.
var ErrTooBig = errors.New("more than vidstyle loads")

// The limits checkLimits holds a model to. A style-transfer net has about
// a hundred nodes and no subgraph; the largest image nets in use have
// tens of thousands.
const (
	maxNodes         = 100_000
	maxSubgraphDepth = 8
	maxConstantBytes = 1 << 30
	// maxEntries bounds a graph's initializers and value_info entries
	// each: ONNX Runtime takes minutes and gigabytes over two million
	// unused ones in a 43 MB file.
	maxEntries = 100_000
)

// limitWalk counts the nodes of a model as checkLimits reads it.
type limitWalk struct{ nodes int }

// checkLimits refuses a model beyond what any image net needs, before
// anything is built from it: more than maxNodes nodes in all its graphs
// and functions (a million Identity nodes take ONNX Runtime gigabytes to
// load), subgraphs (If, Loop, Scan) nested more than maxSubgraphDepth
// deep (nested If branches make its load time double with each level),
// a Loop or Scan, and any node whose inputs are all constants (in its
// own graph or, in an If branch, the graph around it) and whose output
// would pass maxConstantBytes (see checkFolded): ONNX Runtime folds such
// a node when it loads the model, so a file of a few hundred bytes asks
// for gigabytes.
func checkLimits(model []byte) error {
	fs, err := fields(model)
	if err != nil {
		return err
	}
	w := &limitWalk{}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 7: // graph
			err = w.graph(f.bytes, 0, 1, nil)
		case 25: // functions: their nodes count too
			err = w.nodeList(f.bytes, 7, 0, 1, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nodeList walks the nodes (field num) of a GraphProto or FunctionProto;
// outer holds the constants of the graph around a subgraph (nil for a
// main graph or a function).
func (w *limitWalk) nodeList(b []byte, num protowire.Number, level, depth int, outer *constants) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	c := newConstants(outer)
	inits, infos := 0, 0
	for _, f := range fs {
		if num != 1 || f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 5:
			inits++
		case 13:
			infos++
		case 11: // a graph input shadows an outer value of its name
			if v, err := parseValueInfo(f.bytes); err == nil {
				c.all[v.Name] = false
			}
		}
		if inits > maxEntries || infos > maxEntries {
			return fmt.Errorf("%w: more than %d initializers or value_info entries in a graph", ErrTooBig, maxEntries)
		}
		if f.num == 5 { // a graph's initializer
			if name, t, err := parseTensor(f.bytes); err == nil {
				c.set(name, t.Dims, true, t.DataType)
				if t.Floats != nil {
					c.small[name] = t
				}
			}
		}
	}
	for _, f := range fs {
		if f.num != num || f.typ != protowire.BytesType {
			continue
		}
		if w.nodes++; w.nodes > maxNodes {
			return fmt.Errorf("%w: more than %d nodes", ErrTooBig, maxNodes)
		}
		if err := w.node(f.bytes, c, level, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// graph walks a GraphProto at subgraph level level.
func (w *limitWalk) graph(b []byte, level, depth int, outer *constants) error {
	if level > maxSubgraphDepth {
		return fmt.Errorf("%w: subgraphs (If, Loop, Scan) nested more than %d deep", ErrTooBig, maxSubgraphDepth)
	}
	return w.nodeList(b, 1, level, depth, outer)
}

// node checks one node: the size of what it makes from constants, and
// its subgraphs.
func (w *limitWalk) node(b []byte, c *constants, level, depth int) error {
	if err := tooDeep(depth); err != nil {
		return err
	}
	n, err := parseNode(b)
	if err != nil {
		return err
	}
	for _, name := range []string{"strides", "dilations"} {
		// ONNX Runtime divides by them (a MaxPool with strides 0 dies of
		// SIGFPE inside the runtime: a crash, not an error).
		for _, v := range n.Attrs[name].Ints {
			if v <= 0 {
				return fmt.Errorf("%w: %s %s node has %s %v: each must be at least 1", ErrNotONNX, article(n.OpType), n.OpType, name, n.Attrs[name].Ints)
			}
		}
	}
	if n.Domain == "" || n.Domain == "ai.onnx" {
		switch n.OpType {
		case "Loop", "Scan":
			// An image net is feed-forward; a Loop's trip count (2^62 in
			// a file of a few hundred bytes) would hold a frame for ever.
			return fmt.Errorf("%w: a %s node (a loop): vidstyle runs feed-forward image nets", ErrTooBig, n.OpType)
		}
		if err := checkFolded(n, c); err != nil {
			return err
		}
		c.follow(n)
	}
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.num != 5 || f.typ != protowire.BytesType { // attribute
			continue
		}
		afs, err := messageFields(f.bytes, depth+1)
		if err != nil {
			return err
		}
		for _, af := range afs {
			if af.typ == protowire.BytesType && (af.num == 6 || af.num == 11) { // g, graphs
				if err := w.graph(af.bytes, level+1, depth+2, c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkFolded refuses a node ONNX Runtime would fold into a constant
// larger than maxConstantBytes when it loads the model: one whose inputs
// are all constants. Its size is worked out from its inputs' shapes and
// values (a broadcast Add of [N,1] and [1,N] makes N² values); one whose
// size the walk cannot tell is refused unless its op never makes more
// values than its inputs hold. It also refuses a random op (never folded,
// but sized by its attributes alone) that makes more on every run.
func checkFolded(n Node, c *constants) error {
	switch n.OpType {
	case "RandomNormal", "RandomUniform":
		if shape, ok := n.Attrs["shape"]; ok {
			if bytes := product(int64s(shape.Ints), 0) * 4; bytes > maxConstantBytes {
				return fmt.Errorf("%w: %s %s node makes %.3g GB on every run (at most %d GB)", ErrTooBig, article(n.OpType), n.OpType, bytes/1e9, maxConstantBytes>>30)
			}
		}
		return nil
	}
	if n.OpType == "Constant" || !c.folds(n) {
		return nil // a Constant's values are in the file
	}
	dims, known, dtype, _ := c.infer(n)
	switch {
	case n.OpType == "Pad" || n.OpType == "Resize" || n.OpType == "Upsample":
		// Of a constant: ONNX Runtime folds it too, to a size its other
		// inputs give; none belongs in an image net.
	case known:
		if bytes := product(int64s(dims), 0) * float64(elemBytes(dtype)); bytes > maxConstantBytes {
			return fmt.Errorf("%w: %s %s node makes a constant of %.3g GB at load time (at most %d GB)", ErrTooBig, article(n.OpType), n.OpType, bytes/1e9, maxConstantBytes>>30)
		}
		return nil
	case boundedOps[n.OpType] || sameShapeOps[n.OpType] || reduceOps[n.OpType]:
		return nil
	}
	return fmt.Errorf("%w: %s %s node makes a constant at load time from values vidstyle cannot size", ErrTooBig, article(n.OpType), n.OpType)
}

// boundedOps never make more values than their inputs hold, whatever
// their shapes.
var boundedOps = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Concat": true,
	"DepthToSpace": true, "SpaceToDepth": true, "GatherElements": true, "GatherND": true,
	"ScatterND": true, "ScatterElements": true, "Scatter": true, "TopK": true, "ReverseSequence": true,
	"Shape": true, "Size": true, "Transpose": true, "Constant": true,
}

// folds reports whether a node's inputs are all constants (ONNX Runtime
// then works its outputs out when it loads the model).
func (c *constants) folds(n Node) bool {
	if n.OpType == "If" {
		return false // not folded: its branches are walked instead
	}
	if len(n.Inputs) == 0 {
		return n.OpType == "Constant"
	}
	for _, in := range n.Inputs {
		if in != "" && !c.isConst(in) {
			return false
		}
	}
	return true
}

// follow records the node's outputs: constants (with what infer knows of
// them) when it folds, values made at run time otherwise.
func (c *constants) follow(n Node) {
	if !c.folds(n) {
		for _, o := range n.Outputs {
			c.all[o] = false
		}
		return
	}
	dims, known, dtype, val := c.infer(n)
	for i, o := range n.Outputs {
		switch {
		case i == 0:
			c.set(o, dims, known, dtype)
			if val != nil && len(val.Floats) <= smallTensor {
				c.small[o] = *val
			}
		case n.OpType == "Split":
			c.set(o, dims, known, dtype)
		default:
			c.set(o, nil, false, 0)
		}
	}
}

// elemBytes is the size of one element of a TensorProto data type (4
// where it is not known).
func elemBytes(dtype int32) int64 {
	switch dtype {
	case 2, 3, 9, 17, 18, 19, 20, 21, 22, 23: // 8 bits (and less)
		return 1
	case 4, 5, 10, 16:
		return 2
	case 7, 11, 13, 14:
		return 8
	case 15:
		return 16
	}
	return 4
}

// int64s turns dimensions into the floats product multiplies.
func int64s(d []int64) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// product multiplies a shape's dimensions, each at least floor, as a
// float so that it cannot overflow.
func product(dims []float64, floor float64) float64 {
	p := 1.0
	for _, d := range dims {
		p *= math.Max(d, floor)
	}
	return p
}

// article is "an" before a vowel, "a" otherwise.
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
