package models

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// ErrOpset means a model cannot be rewritten to opset 13 exactly.
var ErrOpset = errors.New("cannot upgrade to opset 13")

// Opset bounds of UpgradeOpset: models from MinUpgradeOpset up are
// rewritten to TargetOpset.
const (
	MinUpgradeOpset = 9
	TargetOpset     = 13
)

// upgradeIRVersion is the IR version an upgraded model declares at least
// (the one that came with opset 13).
const upgradeIRVersion = 7

// compatibleTo13 lists the default-domain operators whose meaning did not
// change from opset 9 to 13 (later versions only added types, negative
// axes or optional inputs that a graph of the older opset cannot use).
// UpgradeOpset keeps them as they are; operators that changed are
// rewritten by upgradeNode, and any other operator is refused.
var compatibleTo13 = map[string]bool{
	"Abs": true, "Add": true, "And": true, "ArgMax": true, "ArgMin": true, "AveragePool": true,
	"BatchNormalization": true, "Cast": true, "Ceil": true, "Concat": true, "Constant": true,
	"ConstantOfShape": true, "Conv": true, "ConvTranspose": true, "DepthToSpace": true, "Div": true,
	"Elu": true, "Equal": true, "Erf": true, "Exp": true, "Expand": true, "Flatten": true,
	"Floor": true, "Gather": true, "Gemm": true, "GlobalAveragePool": true, "GlobalMaxPool": true,
	"Greater": true, "HardSigmoid": true, "Identity": true, "InstanceNormalization": true,
	"LeakyRelu": true, "Less": true, "Log": true, "LRN": true, "MatMul": true, "Max": true,
	"MaxPool": true, "Mean": true, "Min": true, "Mod": true, "Mul": true, "Neg": true,
	"NonZero": true, "Not": true, "Or": true, "Pow": true, "PRelu": true, "Range": true,
	"Reciprocal": true, "ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true,
	"ReduceLogSumExp": true, "ReduceMax": true, "ReduceMean": true, "ReduceMin": true,
	"ReduceProd": true, "ReduceSumSquare": true, "Relu": true, "Reshape": true, "Round": true,
	"Selu": true, "Shape": true, "Sigmoid": true, "Sign": true, "Size": true, "Softplus": true,
	"Softsign": true, "SpaceToDepth": true, "Sqrt": true, "Sub": true, "Sum": true, "Tanh": true,
	"Tile": true, "Transpose": true, "Where": true, "Xor": true,
	// Rewritten only when the model is older than the version that changed them.
	"Clip": true, "Dropout": true, "Pad": true, "Resize": true, "Slice": true, "Split": true,
	"Squeeze": true, "Unsqueeze": true, "ReduceSum": true,
}

// RewriteOpset names the opset upgrade in MetaRewrite ("opset-9-to-13").
func RewriteOpset(from int64) string { return fmt.Sprintf("opset-%d-to-%d", from, TargetOpset) }

// UpgradeOpset rewrites a model of opset 9 to 12 (the ONNX model zoo's
// fast-neural-style nets are opset 9) into the same function at opset 13,
// which per-channel quantization needs: Upsample becomes Resize (nearest
// with asymmetric coordinates and floor rounding, or linear with
// asymmetric coordinates: what Upsample computes), and the attributes that
// became inputs (Pad's pads and value, Clip's min and max, Slice's starts,
// ends and axes, Unsqueeze's, Squeeze's and ReduceSum's axes, Split's
// split) become initializers, and Dropout (inference: the identity)
// becomes Identity. The IR version is raised to 7 when lower. A model at opset 13
// or newer comes back as it was (changed false). A model older than opset
// 9, an operator whose opset-13 form is not known to compute the same, or
// one with a subgraph is refused with ErrOpset and the reason.
func UpgradeOpset(data []byte) ([]byte, bool, error) {
	m, err := readEdit(data)
	if err != nil {
		return nil, false, err
	}
	from := m.opset
	switch {
	case from >= TargetOpset:
		return data, false, nil
	case from < MinUpgradeOpset:
		return nil, false, fmt.Errorf("%w: the model is opset %d; vidstyle upgrades opset %d and newer (export it again at opset %d or newer)", ErrOpset, from, MinUpgradeOpset, TargetOpset)
	}
	for _, n := range append([]*editNode(nil), m.nodes...) {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue // another domain's opset is its own
		}
		if err := m.upgradeNode(n, from); err != nil {
			return nil, false, fmt.Errorf("%w: opset %d %s %q: %w", ErrOpset, from, n.OpType, n.displayName(), err)
		}
	}
	m.opset = TargetOpset
	for i, f := range m.top {
		if f.num == 1 && f.typ == protowire.VarintType && f.v < upgradeIRVersion {
			m.top[i].v = upgradeIRVersion
		}
	}
	m.addRewrite(data, RewriteOpset(from))
	return m.encode(), true, nil
}

// displayName is a node's name, or its first output's when it has none.
func (n *editNode) displayName() string {
	if n.Name != "" || len(n.Outputs) == 0 {
		return n.Name
	}
	return n.Outputs[0]
}

// upgradeNode rewrites one default-domain node of a model at opset from
// into its opset-13 form.
func (m *editModel) upgradeNode(n *editNode, from int64) error {
	switch n.OpType {
	case "Upsample":
		return m.upsampleToResize(n)
	case "Resize":
		if from == 10 {
			return m.resize10(n)
		}
	case "Pad":
		if from < 11 {
			return m.attrsToInputs(n, "pads", "value")
		}
	case "Clip":
		if from < 11 {
			return m.attrsToInputs(n, "min", "max")
		}
	case "Slice":
		if from < 10 {
			return m.attrsToInputs(n, "starts", "ends", "axes")
		}
	case "Unsqueeze", "Squeeze", "ReduceSum":
		return m.attrsToInputs(n, "axes")
	case "Split":
		return m.attrsToInputs(n, "split")
	case "Dropout":
		if from < 12 {
			return m.dropoutToIdentity(n)
		}
	case "Softmax", "LogSoftmax", "Hardmax":
		// Opset 13 normalizes along the axis; older opsets flattened
		// everything from the axis on. The same only for the last axis.
		if a, ok := n.parsed["axis"]; !ok || a.Int != -1 {
			return errors.New("normalizes over the axes from axis on (opset 13: along one axis); only axis=-1 means the same in both")
		}
		return nil
	case "ConvTranspose":
		if from < 11 {
			if p := n.parsed["auto_pad"].String; p == "SAME_UPPER" || p == "SAME_LOWER" {
				return fmt.Errorf("auto_pad %s placed its padding differently before opset 11", p)
			}
		}
	case "If", "Loop", "Scan":
		return errors.New("has a subgraph, which vidstyle does not upgrade")
	}
	if !compatibleTo13[n.OpType] {
		return errors.New("not among the operators vidstyle knows the opset-13 form of")
	}
	return nil
}

// dropAttrs removes the named attributes from a node.
func (n *editNode) dropAttrs(names ...string) {
	kept := n.attrs[:0]
	for _, a := range n.attrs {
		name, _, err := parseAttr(a)
		if err == nil && slices.Contains(names, name) {
			continue
		}
		kept = append(kept, a)
	}
	n.attrs = kept
	for _, name := range names {
		delete(n.parsed, name)
	}
}

// setAttr adds or replaces one encoded attribute of a node.
func (n *editNode) setAttr(name string, a onnxgraph.Attr, parsed Attr) {
	n.dropAttrs(name)
	n.attrs = append(n.attrs, a)
	n.parsed[name] = parsed
}

// attrsToInputs moves the named attributes of a node into inputs, in the
// order given, which is the order of the opset-13 operator's inputs after
// its first: int lists become int64 initializers, floats float32 scalars.
// An absent attribute leaves its input empty (trailing empty inputs are
// dropped); Pad's value becomes an input only when it is not 0 in
// constant mode (0 is the default).
func (m *editModel) attrsToInputs(n *editNode, names ...string) error {
	if len(n.Inputs) != 1 {
		return fmt.Errorf("has %d inputs where the attributes %v should become inputs", len(n.Inputs), names)
	}
	inputs := []string{n.Inputs[0]}
	for _, name := range names {
		a, ok := n.parsed[name]
		switch {
		case !ok:
			inputs = append(inputs, "")
		case name == "value":
			if mode := n.parsed["mode"].String; (mode == "" || mode == "constant") && a.Float != 0 {
				inputs = append(inputs, m.addFloats(n.displayName()+"_"+name, nil, []float32{a.Float}))
			} else {
				inputs = append(inputs, "")
			}
		case name == "min" || name == "max":
			inputs = append(inputs, m.addFloats(n.displayName()+"_"+name, nil, []float32{a.Float}))
		default:
			inputs = append(inputs, m.addInt64s(n.displayName()+"_"+name, []int64{int64(len(a.Ints))}, a.Ints))
		}
	}
	if n.OpType == "Pad" && inputs[1] == "" {
		return errors.New("has no pads")
	}
	if (n.OpType == "Slice" && (inputs[1] == "" || inputs[2] == "")) || (n.OpType == "Unsqueeze" && inputs[1] == "") {
		return fmt.Errorf("lacks a required attribute of %v", names)
	}
	for len(inputs) > 1 && inputs[len(inputs)-1] == "" {
		inputs = inputs[:len(inputs)-1]
	}
	n.Inputs = inputs
	n.dropAttrs(names...)
	return nil
}

// dropoutToIdentity replaces an inference Dropout (the identity on its
// first output) by Identity; a Dropout whose mask is read is refused.
func (m *editModel) dropoutToIdentity(n *editNode) error {
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && (len(m.consumers(n.Outputs[1])) > 0 || m.isGraphOutput(n.Outputs[1])) {
		return errors.New("its mask output is read (opset 12 changed its type)")
	}
	n.OpType = "Identity"
	n.Inputs = n.Inputs[:1]
	n.Outputs = n.Outputs[:1]
	n.attrs = nil
	n.parsed = map[string]Attr{}
	return nil
}

// upsampleToResize rewrites Upsample (opset 9: inputs X and scales) into
// Resize-13 with the same meaning: ONNX Runtime's Upsample maps output
// coordinate x to x/scale (asymmetric) and, for nearest, takes the floor.
func (m *editModel) upsampleToResize(n *editNode) error {
	if len(n.Inputs) != 2 || n.Inputs[1] == "" {
		return fmt.Errorf("has %d inputs, not X and scales (opset 9)", len(n.Inputs))
	}
	return m.toResize13(n, 1)
}

// resize10 rewrites Resize-10 (inputs X and scales, asymmetric
// coordinates) into Resize-13. For nearest, ONNX Runtime's Resize-10
// takes the floor when up-sampling and the ceiling when down-sampling:
// the scales must be a constant that does one of the two.
func (m *editModel) resize10(n *editNode) error {
	if len(n.Inputs) != 2 || n.Inputs[1] == "" {
		return fmt.Errorf("has %d inputs, not X and scales (opset 10)", len(n.Inputs))
	}
	round := 1
	if mode := n.parsed["mode"].String; mode == "" || mode == "nearest" {
		scales, ok := m.constValues(n.Inputs[1])
		if !ok {
			return errors.New("nearest with scales computed at run time (rounding depends on them)")
		}
		up, down := true, true
		for _, s := range scales {
			up = up && s >= 1
			down = down && s <= 1
		}
		switch {
		case up:
		case down:
			round = -1
		default:
			return fmt.Errorf("nearest with scales %v that both up- and down-sample", scales)
		}
	}
	return m.toResize13(n, round)
}

// toResize13 makes node n (X, scales) a Resize-13 with asymmetric
// coordinates; nearest rounds down (round 1) or up (round -1).
func (m *editModel) toResize13(n *editNode, round int) error {
	mode := n.parsed["mode"].String
	switch mode {
	case "", "nearest":
		mode = "nearest"
		nearest := "floor"
		if round < 0 {
			nearest = "ceil"
		}
		n.setAttr("nearest_mode", onnxgraph.StringAttr("nearest_mode", nearest), Attr{String: nearest})
	case "linear":
	default:
		return fmt.Errorf("mode %q has no Resize-13 form", mode)
	}
	n.OpType = "Resize"
	n.Inputs = []string{n.Inputs[0], "", n.Inputs[1]}
	n.setAttr("mode", onnxgraph.StringAttr("mode", mode), Attr{String: mode})
	n.setAttr("coordinate_transformation_mode", onnxgraph.StringAttr("coordinate_transformation_mode", "asymmetric"), Attr{String: "asymmetric"})
	return nil
}

// constValues returns the values of a small constant: an initializer or
// the output of a Constant node.
func (m *editModel) constValues(name string) ([]float64, bool) {
	if t, ok := m.inits[name]; ok {
		switch t.DataType {
		case onnxgraph.TensorFloat:
			var out []float64
			for _, v := range t.Floats() {
				out = append(out, float64(v))
			}
			return out, true
		}
		return nil, false
	}
	if i := m.producer(name); i >= 0 && m.nodes[i].OpType == "Constant" {
		if t := m.nodes[i].parsed["value"].Tensor; t != nil && t.Floats != nil {
			return t.Floats, true
		}
	}
	return nil, false
}

// CheckQuantizable reports whether Quantize would take a model, without
// calibrating: the same opset upgrade, exact rewrites and Johnson checks
// (quantizable), each refusal ErrNotJohnson (or ErrOpset) with its
// reason, so that a caller can refuse before reading frames.
func CheckQuantizable(data []byte) error {
	rewritten, err := quantizable(data)
	if err != nil {
		return err
	}
	m, err := readEdit(rewritten)
	if err != nil {
		return err
	}
	_, err = m.johnsonPlan()
	return err
}
