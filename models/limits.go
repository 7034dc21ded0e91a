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
// and a ConstantOfShape, Expand or Range whose inputs are constants and
// whose output would pass maxConstantBytes: ONNX Runtime folds such a
// node when it loads the model, so a file of a few hundred bytes asks for
// gigabytes.
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
			err = w.graph(f.bytes, 0, 1)
		case 25: // functions: their nodes count too
			err = w.nodeList(f.bytes, 7, 0, 1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nodeList walks the nodes (field num) of a GraphProto or FunctionProto.
func (w *limitWalk) nodeList(b []byte, num protowire.Number, level, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	c := &constants{small: map[string]Tensor{}, all: map[string]bool{}, dims: map[string][]int64{}}
	inits, infos := 0, 0
	for _, f := range fs {
		if num == 1 && f.typ == protowire.BytesType {
			switch f.num {
			case 5:
				inits++
			case 13:
				infos++
			}
			if inits > maxEntries || infos > maxEntries {
				return fmt.Errorf("%w: more than %d initializers or value_info entries in a graph", ErrTooBig, maxEntries)
			}
		}
		if f.num == 5 && f.typ == protowire.BytesType && num == 1 { // a graph's initializer
			if name, t, err := parseTensor(f.bytes); err == nil {
				c.all[name] = true
				c.dims[name] = t.Dims
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
func (w *limitWalk) graph(b []byte, level, depth int) error {
	if level > maxSubgraphDepth {
		return fmt.Errorf("%w: subgraphs (If, Loop, Scan) nested more than %d deep", ErrTooBig, maxSubgraphDepth)
	}
	return w.nodeList(b, 1, level, depth)
}

// constants are a graph's values known before it runs: initializers and
// Constant outputs, with the values of the small ones.
type constants struct {
	small map[string]Tensor
	all   map[string]bool
	dims  map[string][]int64 // initializers' shapes
}

// follow records what a node makes from constants: a Constant's value;
// the same values through the ops that only move or retype them
// (Identity, Cast, Reshape, Squeeze, Unsqueeze, Flatten, Concat of
// vectors), as ONNX Runtime folds them; and, for any other node whose
// inputs are all constants, that its outputs are constants of unknown
// value (checkFolded refuses those it could not size).
func (c *constants) follow(n Node) {
	if len(n.Outputs) == 0 {
		return
	}
	out := n.Outputs[0]
	if n.OpType == "Constant" && len(n.Outputs) == 1 {
		c.all[out] = true
		if a, ok := n.Attrs["value"]; ok && a.Tensor != nil && a.Tensor.Floats != nil {
			c.small[out] = *a.Tensor
		}
		return
	}
	if len(n.Inputs) == 0 {
		return
	}
	for _, in := range n.Inputs {
		if in != "" && !c.all[in] {
			return
		}
	}
	for _, o := range n.Outputs {
		c.all[o] = true
	}
	first, ok := c.small[n.Inputs[0]]
	switch n.OpType {
	case "Shape":
		if d, known := c.dims[n.Inputs[0]]; known {
			t := Tensor{Dims: []int64{int64(len(d))}, DataType: 7}
			for _, v := range d {
				t.Floats = append(t.Floats, float64(v))
			}
			c.small[out] = t
		}
	case "Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten":
		if ok {
			t := first
			if n.OpType != "Identity" && n.OpType != "Cast" {
				t.Dims = []int64{int64(len(t.Floats))}
			}
			c.small[out] = t
		}
		if d, known := c.dims[n.Inputs[0]]; known && (n.OpType == "Identity" || n.OpType == "Cast") {
			c.dims[out] = d
		}
	case "Concat":
		var t Tensor
		for _, in := range n.Inputs {
			v, ok := c.small[in]
			if !ok || len(v.Dims) > 1 {
				return
			}
			t.DataType = v.DataType
			t.Floats = append(t.Floats, v.Floats...)
		}
		t.Dims = []int64{int64(len(t.Floats))}
		c.small[out] = t
	}
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
				if err := w.graph(af.bytes, level+1, depth+2); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkFolded refuses a node ONNX Runtime would fold into a constant
// larger than maxConstantBytes when it loads the model: one whose inputs
// are all constants.
func checkFolded(n Node, c *constants) error {
	input := func(i int) (Tensor, bool) {
		if i >= len(n.Inputs) {
			return Tensor{}, false
		}
		t, ok := c.small[n.Inputs[i]]
		return t, ok
	}
	constant := len(n.Inputs) > 0
	for _, in := range n.Inputs {
		constant = constant && (in == "" || c.all[in])
	}
	elems := 0.0
	size := 4.0
	switch n.OpType {
	case "ConstantOfShape", "Expand", "Tile", "Pad", "Resize", "Upsample":
		if !constant {
			return nil // made at run time, from the frame: bounded by its size
		}
	}
	unsized := func() error {
		return fmt.Errorf("%w: %s %s node makes a constant at load time from values vidstyle cannot size", ErrTooBig, article(n.OpType), n.OpType)
	}
	switch n.OpType {
	case "ConstantOfShape":
		shape, ok := input(0)
		if !ok {
			return unsized()
		}
		elems = product(shape.Floats, 0)
		if a, ok := n.Attrs["value"]; ok && a.Tensor != nil {
			size = float64(max(elemSize(a.Tensor.DataType), 1))
		}
	case "Expand":
		shape, ok := input(1)
		if !ok {
			return unsized()
		}
		elems = product(shape.Floats, 1) // at least: the input broadcasts to it
	case "Tile":
		data, ok1 := input(0)
		reps, ok2 := input(1)
		if !ok1 || !ok2 {
			return unsized()
		}
		elems = float64(max(len(data.Floats), 1)) * product(reps.Floats, 1)
	case "Pad", "Resize", "Upsample":
		// Of a constant: ONNX Runtime folds it too, to a size its other
		// inputs give; none belongs in an image net.
		return unsized()
	case "Range":
		start, ok1 := input(0)
		limit, ok2 := input(1)
		delta, ok3 := input(2)
		if !ok1 || !ok2 || !ok3 || len(start.Floats) != 1 || len(limit.Floats) != 1 || len(delta.Floats) != 1 || delta.Floats[0] == 0 {
			return nil
		}
		elems = math.Max(math.Ceil((limit.Floats[0]-start.Floats[0])/delta.Floats[0]), 0)
		size = 8
	default:
		return nil
	}
	if bytes := elems * size; bytes > maxConstantBytes {
		return fmt.Errorf("%w: %s %s node makes a constant of %.3g GB at load time (at most %d GB)", ErrTooBig, article(n.OpType), n.OpType, bytes/1e9, maxConstantBytes>>30)
	}
	return nil
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
