package models

import (
	"math"
	"slices"
)

// constants are the values of a graph known before it runs: initializers,
// Constant outputs and what nodes make from them alone (ONNX Runtime folds
// those when it loads the model). For each the walk knows whether it is
// one, its shape where it can be worked out, its element type, and the
// values of the small ones. A subgraph's table looks names up in its own
// first, then in the graph around it: an If branch sees the outer graph's
// constants, and ONNX Runtime folds what the branch makes from them.
type constants struct {
	outer *constants
	all   map[string]bool // false: a value made at run time
	small map[string]Tensor
	dims  map[string][]int64
	types map[string]int32
}

func newConstants(outer *constants) *constants {
	return &constants{outer: outer, all: map[string]bool{}, small: map[string]Tensor{}, dims: map[string][]int64{}, types: map[string]int32{}}
}

// isConst reports whether the value called name is a constant.
func (c *constants) isConst(name string) bool {
	for k := c; k != nil; k = k.outer {
		if v, ok := k.all[name]; ok {
			return v
		}
	}
	return false
}

// scope returns the table that defines name, or nil.
func (c *constants) scope(name string) *constants {
	for k := c; k != nil; k = k.outer {
		if _, ok := k.all[name]; ok {
			return k
		}
	}
	return nil
}

// value returns a small constant's values.
func (c *constants) value(name string) (Tensor, bool) {
	if k := c.scope(name); k != nil {
		t, ok := k.small[name]
		return t, ok
	}
	return Tensor{}, false
}

// shape returns a constant's shape, where it is known.
func (c *constants) shape(name string) ([]int64, bool) {
	if k := c.scope(name); k != nil {
		d, ok := k.dims[name]
		return d, ok
	}
	return nil, false
}

// dtype returns a constant's element type (0: unknown).
func (c *constants) dtype(name string) int32 {
	if k := c.scope(name); k != nil {
		return k.types[name]
	}
	return 0
}

// set records a constant.
func (c *constants) set(name string, dims []int64, known bool, dtype int32) {
	c.all[name] = true
	if known {
		c.dims[name] = dims
	}
	if dtype != 0 {
		c.types[name] = dtype
	}
}

// Ops whose output has their first input's shape.
var sameShapeOps = map[string]bool{
	"Abs": true, "Acos": true, "Acosh": true, "Asin": true, "Asinh": true, "Atan": true, "Atanh": true,
	"Cast": true, "CastLike": true, "Ceil": true, "Celu": true, "Clip": true, "Cos": true, "Cosh": true,
	"CumSum": true, "DequantizeLinear": true, "Dropout": true, "Elu": true, "Erf": true, "Exp": true,
	"EyeLike": true, "Floor": true, "Gelu": true, "HardSigmoid": true, "HardSwish": true, "Hardmax": true,
	"Identity": true, "InstanceNormalization": true, "BatchNormalization": true, "IsInf": true, "IsNaN": true,
	"LayerNormalization": true, "LeakyRelu": true, "Log": true, "LogSoftmax": true, "LpNormalization": true,
	"MeanVarianceNormalization": true, "Mish": true, "Neg": true, "Not": true, "QuantizeLinear": true,
	"Reciprocal": true, "Relu": true, "Round": true, "Selu": true, "Shrink": true, "Sigmoid": true,
	"Sign": true, "Sin": true, "Sinh": true, "Softmax": true, "Softplus": true, "Softsign": true,
	"Sqrt": true, "Tan": true, "Tanh": true, "ThresholdedRelu": true, "Trilu": true, "BitwiseNot": true,
	// No bigger than their input: its shape is an upper bound.
	"Slice": true, "Split": true, "Compress": true, "NonZero": true, "Unique": true,
}

// Ops whose output is their inputs broadcast together.
var broadcastOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Mod": true,
	"And": true, "Or": true, "Xor": true, "Equal": true, "Greater": true, "Less": true,
	"GreaterOrEqual": true, "LessOrEqual": true, "Max": true, "Min": true, "Mean": true, "Sum": true,
	"Where": true, "BitShift": true, "BitwiseAnd": true, "BitwiseOr": true, "BitwiseXor": true, "PRelu": true,
}

// boolOps give booleans.
var boolOps = map[string]bool{"Equal": true, "Greater": true, "Less": true, "GreaterOrEqual": true,
	"LessOrEqual": true, "And": true, "Or": true, "Xor": true, "Not": true, "IsInf": true, "IsNaN": true}

// reduceOps reduce over axes.
var reduceOps = map[string]bool{
	"ReduceMax": true, "ReduceMin": true, "ReduceMean": true, "ReduceSum": true, "ReduceProd": true,
	"ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true, "ReduceSumSquare": true,
	"ArgMax": true, "ArgMin": true,
}

// broadcast gives the shape of ds broadcast together (numpy's rule), or
// false when they do not broadcast.
func broadcast(ds ...[]int64) ([]int64, bool) {
	rank := 0
	for _, d := range ds {
		rank = max(rank, len(d))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, d := range ds {
		for i, v := range d {
			j := rank - len(d) + i
			switch {
			case v == out[j] || v == 1:
			case out[j] == 1:
				out[j] = v
			default:
				return nil, false
			}
		}
	}
	return out, true
}

// ints turns a small tensor's values into int64s.
func ints(t Tensor) []int64 {
	out := make([]int64, len(t.Floats))
	for i, v := range t.Floats {
		out[i] = int64(math.Max(math.Min(v, math.MaxInt64/2), math.MinInt64/2))
	}
	return out
}

// axis resolves a possibly negative axis of a rank-r value.
func axis(a int64, r int) (int, bool) {
	if a < 0 {
		a += int64(r)
	}
	return int(a), a >= 0 && a < int64(r)
}

// infer works out the shape and element type of what a node whose inputs
// are all constants makes (its first output), and the values of a small
// result where they are cheap to follow. known is false where the walk
// cannot tell the shape.
func (c *constants) infer(n Node) (dims []int64, known bool, dtype int32, val *Tensor) {
	in := func(i int) ([]int64, bool) {
		if i >= len(n.Inputs) || n.Inputs[i] == "" {
			return nil, false
		}
		return c.shape(n.Inputs[i])
	}
	v := func(i int) (Tensor, bool) {
		if i >= len(n.Inputs) || n.Inputs[i] == "" {
			return Tensor{}, false
		}
		return c.value(n.Inputs[i])
	}
	if len(n.Inputs) > 0 {
		dtype = c.dtype(n.Inputs[0])
	}
	d0, ok0 := in(0)
	first, hasFirst := v(0)
	op := n.OpType
	switch {
	case op == "Constant":
		for name, a := range n.Attrs {
			switch name {
			case "value":
				if a.Tensor != nil {
					t := *a.Tensor
					if t.Floats != nil {
						val = &t
					}
					return t.Dims, true, t.DataType, val
				}
			case "value_float", "value_int":
				t := Tensor{Floats: []float64{float64(a.Float)}, DataType: 1}
				if name == "value_int" {
					t = Tensor{Floats: []float64{float64(a.Int)}, DataType: 7}
				}
				return nil, true, t.DataType, &t
			case "value_floats":
				return []int64{int64(len(a.Floats))}, true, 1, nil
			case "value_ints":
				t := Tensor{Dims: []int64{int64(len(a.Ints))}, DataType: 7}
				for _, x := range a.Ints {
					t.Floats = append(t.Floats, float64(x))
				}
				return t.Dims, true, 7, &t
			}
		}
		return nil, false, 0, nil
	case op == "Shape":
		if !ok0 {
			return []int64{0}, false, 7, nil
		}
		t := Tensor{Dims: []int64{int64(len(d0))}, DataType: 7}
		for _, x := range d0 {
			t.Floats = append(t.Floats, float64(x))
		}
		return t.Dims, true, 7, &t
	case op == "Size":
		return nil, true, 7, nil
	case sameShapeOps[op]:
		if op == "Cast" {
			dtype = int32(n.Attrs["to"].Int)
		}
		if boolOps[op] {
			dtype = 9
		}
		if (op == "Identity" || op == "Cast") && hasFirst {
			t := first
			t.DataType = dtype
			val = &t
		}
		return d0, ok0, dtype, val
	case broadcastOps[op]:
		var ds [][]int64
		for i := range n.Inputs {
			d, ok := in(i)
			if !ok {
				return nil, false, dtype, nil
			}
			ds = append(ds, d)
		}
		out, ok := broadcast(ds...)
		if boolOps[op] {
			dtype = 9
		}
		if op == "Where" && len(n.Inputs) > 1 {
			dtype = c.dtype(n.Inputs[1])
		}
		if ok && len(n.Inputs) == 2 {
			val = arithmetic(op, first, hasFirst, n, v, dtype)
		}
		return out, ok, dtype, val
	case op == "Reshape", op == "Squeeze", op == "Unsqueeze", op == "Flatten":
		if hasFirst && len(first.Dims) <= 1 && op != "Reshape" {
			t := first
			t.Dims = []int64{int64(len(t.Floats))}
			val = &t
		}
		out, ok := reshaped(n, d0, ok0, v)
		if ok && hasFirst && op == "Reshape" {
			t := first
			t.Dims = out
			val = &t
		}
		return out, ok, dtype, val
	case op == "Concat":
		a, ok := axis(n.Attrs["axis"].Int, len(d0))
		if !ok0 || !ok {
			return nil, false, dtype, nil
		}
		out := slices.Clone(d0)
		out[a] = 0
		t, values := Tensor{DataType: dtype}, true
		for i := range n.Inputs {
			d, ok := in(i)
			if !ok || len(d) != len(out) {
				return nil, false, dtype, nil
			}
			out[a] += d[a]
			x, small := v(i)
			values = values && small && len(out) == 1
			t.Floats = append(t.Floats, x.Floats...)
		}
		if values {
			t.Dims = out
			val = &t
		}
		return out, true, dtype, val
	case op == "ConstantOfShape":
		dtype = 1
		if a, ok := n.Attrs["value"]; ok && a.Tensor != nil {
			dtype = a.Tensor.DataType
		}
		if !hasFirst {
			return nil, false, dtype, nil
		}
		return ints(first), true, dtype, nil
	case op == "Expand":
		shape, ok := v(1)
		if !ok0 || !ok {
			return nil, false, dtype, nil
		}
		out, ok := broadcast(d0, ints(shape))
		return out, ok, dtype, nil
	case op == "Tile":
		reps, ok := v(1)
		if !ok0 || !ok || len(reps.Floats) != len(d0) {
			return nil, false, dtype, nil
		}
		out := slices.Clone(d0)
		for i, r := range ints(reps) {
			out[i] = int64(math.Min(float64(out[i])*float64(max(r, 0)), math.MaxInt64/2))
		}
		return out, true, dtype, nil
	case op == "Range":
		start, ok1 := v(0)
		limit, ok2 := v(1)
		delta, ok3 := v(2)
		if !ok1 || !ok2 || !ok3 || len(start.Floats) != 1 || len(limit.Floats) != 1 || len(delta.Floats) != 1 || delta.Floats[0] == 0 {
			return nil, false, dtype, nil
		}
		count := math.Max(math.Ceil((limit.Floats[0]-start.Floats[0])/delta.Floats[0]), 0)
		return []int64{int64(math.Min(count, math.MaxInt64/2))}, true, dtype, nil
	case op == "MatMul", op == "MatMulInteger":
		d1, ok1 := in(1)
		if !ok0 || !ok1 || len(d0) == 0 || len(d1) == 0 {
			return nil, false, dtype, nil
		}
		a, b := d0, d1
		if len(a) == 1 {
			a = []int64{1, a[0]}
		}
		if len(b) == 1 {
			b = []int64{b[0], 1}
		}
		batch, ok := broadcast(a[:len(a)-2], b[:len(b)-2])
		return append(batch, a[len(a)-2], b[len(b)-1]), ok, dtype, nil
	case op == "Gemm":
		d1, ok1 := in(1)
		if !ok0 || !ok1 || len(d0) != 2 || len(d1) != 2 {
			return nil, false, dtype, nil
		}
		m, k := d0[0], d1[1]
		if n.Attrs["transA"].Int != 0 {
			m = d0[1]
		}
		if n.Attrs["transB"].Int != 0 {
			k = d1[0]
		}
		return []int64{m, k}, true, dtype, nil
	case op == "Gather":
		di, ok1 := in(1)
		a, ok := axis(n.Attrs["axis"].Int, len(d0))
		if !ok0 || !ok1 || !ok {
			return nil, false, dtype, nil
		}
		out := append(append(slices.Clone(d0[:a]), di...), d0[a+1:]...)
		if idx, small := v(1); small && hasFirst && len(d0) == 1 {
			t := Tensor{Dims: out, DataType: dtype}
			for _, i := range ints(idx) {
				if i < 0 {
					i += int64(len(first.Floats))
				}
				if i < 0 || i >= int64(len(first.Floats)) {
					return out, true, dtype, nil
				}
				t.Floats = append(t.Floats, first.Floats[i])
			}
			val = &t
		}
		return out, true, dtype, val
	case op == "Transpose":
		if !ok0 {
			return nil, false, dtype, nil
		}
		perm := n.Attrs["perm"].Ints
		out := make([]int64, len(d0))
		for i := range out {
			j := len(d0) - 1 - i
			if len(perm) == len(d0) {
				j = int(perm[i])
			}
			if j < 0 || j >= len(d0) {
				return nil, false, dtype, nil
			}
			out[i] = d0[j]
		}
		return out, true, dtype, nil
	case reduceOps[op]:
		if !ok0 {
			return nil, false, dtype, nil
		}
		axes := n.Attrs["axes"].Ints
		if a, ok := n.Attrs["axis"]; ok || op == "ArgMax" || op == "ArgMin" {
			axes = []int64{a.Int}
			dtype = 7
		} else if t, ok := v(1); ok {
			axes = ints(t)
		}
		keep := true
		if a, ok := n.Attrs["keepdims"]; ok {
			keep = a.Int != 0
		}
		var out []int64
		for i, d := range d0 {
			reduced := len(axes) == 0
			for _, a := range axes {
				if j, ok := axis(a, len(d0)); ok && j == i {
					reduced = true
				}
			}
			switch {
			case !reduced:
				out = append(out, d)
			case keep:
				out = append(out, 1)
			}
		}
		return out, true, dtype, nil
	case op == "OneHot":
		depth, ok := v(1)
		if !ok0 || !ok || len(depth.Floats) != 1 {
			return nil, false, dtype, nil
		}
		return append(slices.Clone(d0), int64(math.Min(depth.Floats[0], math.MaxInt64/2))), true, c.dtype(n.Inputs[min(2, len(n.Inputs)-1)]), nil
	}
	return nil, false, dtype, nil
}

// reshaped gives the shape a Reshape, Squeeze, Unsqueeze or Flatten node
// makes of a value of shape d.
func reshaped(n Node, d []int64, known bool, v func(int) (Tensor, bool)) ([]int64, bool) {
	if !known {
		return nil, false
	}
	count := int64(1)
	for _, x := range d {
		count *= x
	}
	axes := n.Attrs["axes"].Ints
	if t, ok := v(1); ok {
		axes = ints(t)
	}
	switch n.OpType {
	case "Reshape":
		t, ok := v(1)
		if !ok {
			return nil, false
		}
		out := ints(t)
		rest, free := count, -1
		for i, x := range out {
			switch {
			case x == 0 && i < len(d) && n.Attrs["allowzero"].Int == 0:
				out[i] = d[i]
			case x == -1 && free < 0:
				free = i
				continue
			case x < 0:
				return nil, false
			}
			if out[i] != 0 {
				rest /= out[i]
			}
		}
		if free >= 0 {
			out[free] = rest
		}
		return out, true
	case "Flatten":
		a, ok := axis(n.Attrs["axis"].Int, len(d)+1)
		if _, set := n.Attrs["axis"]; !set {
			a, ok = 1, len(d) >= 1
		}
		if !ok {
			return nil, false
		}
		lead := int64(1)
		for _, x := range d[:a] {
			lead *= x
		}
		if lead == 0 {
			return []int64{0, 0}, true
		}
		return []int64{lead, count / lead}, true
	case "Squeeze":
		var out []int64
		for i, x := range d {
			drop := len(axes) == 0 && x == 1
			for _, a := range axes {
				if j, ok := axis(a, len(d)); ok && j == i {
					drop = true
				}
			}
			if !drop {
				out = append(out, x)
			}
		}
		return out, true
	}
	// Unsqueeze
	r := len(d) + len(axes)
	out := make([]int64, r)
	ones := make([]bool, r)
	for _, a := range axes {
		j, ok := axis(a, r)
		if !ok {
			return nil, false
		}
		ones[j] = true
	}
	k := 0
	for i := range out {
		if ones[i] {
			out[i] = 1
			continue
		}
		if k >= len(d) {
			return nil, false
		}
		out[i] = d[k]
		k++
	}
	return out, true
}

// arithmetic works out Add, Sub, Mul or Div of two small constants (one
// may be a scalar), so that a size made of them (a Range's limit) is
// known.
func arithmetic(op string, a Tensor, okA bool, n Node, v func(int) (Tensor, bool), dtype int32) *Tensor {
	b, okB := v(1)
	if !okA || !okB || len(a.Floats) == 0 || len(b.Floats) == 0 {
		return nil
	}
	if len(a.Floats) != len(b.Floats) && len(a.Floats) != 1 && len(b.Floats) != 1 {
		return nil
	}
	size := max(len(a.Floats), len(b.Floats))
	t := Tensor{Dims: []int64{int64(size)}, DataType: dtype}
	if len(a.Dims) == 0 && len(b.Dims) == 0 {
		t.Dims = nil
	}
	for i := range size {
		x, y := a.Floats[min(i, len(a.Floats)-1)], b.Floats[min(i, len(b.Floats)-1)]
		var z float64
		switch op {
		case "Add":
			z = x + y
		case "Sub":
			z = x - y
		case "Mul":
			z = x * y
		case "Div":
			if y == 0 {
				return nil
			}
			z = x / y
			if dtype == 7 || dtype == 6 {
				z = math.Trunc(z)
			}
		default:
			return nil
		}
		t.Floats = append(t.Floats, z)
	}
	return &t
}
