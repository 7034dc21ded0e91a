package models

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrNotSelfContained means a model asks ONNX Runtime to read something
// outside its own bytes: a tensor whose data is in an external file, an
// EPContext node (a compiled-engine file), or session options.
var ErrNotSelfContained = errors.New("vidstyle loads only self-contained models")

// maxNesting bounds how deeply messages may nest (graphs inside node
// attributes inside graphs …); protobuf's own parser stops at 100 too.
const maxNesting = 100

// CheckSelfContained refuses a model that would make ONNX Runtime open
// files or read memory it was not given. Given a model as bytes, ONNX
// Runtime resolves a tensor's external-data location from the working
// directory (so "../../../../etc/passwd" reads that file into the
// weights), and the location "*/_ORT_MEM_ADDR_/*" reads process memory.
// So every TensorProto the runtime could see is checked, wherever it
// appears: graph initializers, sparse initializers (values and indices),
// node attributes (Constant's value, any tensor or tensors, sparse tensors),
// subgraphs (If, Loop, Scan: g and graphs), model-local functions (their
// nodes and attribute defaults) and training_info graphs. A tensor with
// data_location EXTERNAL (or any value but DEFAULT) or any external_data
// entry is refused. So are EPContext nodes, whose ep_cache_context may name
// a file an execution provider loads, and the metadata entry "ort_config",
// whose session options (profiling files among them) ONNX Runtime applies
// when ORT_LOAD_CONFIG_FROM_MODEL=1, and bytes that ONNX Runtime would
// read as its own .ort format. The error is one line ending in
// ErrNotSelfContained. A model beyond checkLimits' bounds is refused
// first, with ErrTooBig.
func CheckSelfContained(model []byte) error {
	// ONNX Runtime reads bytes with the ORT-format identifier at offset 4
	// as its own flatbuffer format, whatever else they parse as: this
	// check would then look at something the runtime never sees.
	if len(model) >= 8 && string(model[4:8]) == "ORTM" {
		return fmt.Errorf("the bytes are an ONNX Runtime format (.ort) model, not ONNX: %w", ErrNotSelfContained)
	}
	if err := checkLimits(model); err != nil {
		return err
	}
	fs, err := fields(model)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue // the C++ parser skips a message field sent with another wire type
		}
		var err error
		switch f.num {
		case 7: // graph
			err = checkGraph(f.bytes, 1)
		case 14: // metadata_props
			var kv KV
			if kv, err = parseKV(f.bytes); err == nil && kv.Key == "ort_config" {
				err = fmt.Errorf("metadata \"ort_config\" sets ONNX Runtime session options: %w", ErrNotSelfContained)
			}
		case 20: // training_info
			err = checkTrainingInfo(f.bytes, 1)
		case 25: // functions
			err = checkFunction(f.bytes, 1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func tooDeep(depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("%w: messages nested more than %d deep", ErrNotONNX, maxNesting)
	}
	return nil
}

// messageFields reads the fields of a message found depth levels down,
// refusing one nested deeper than any real model is.
func messageFields(b []byte, depth int) ([]field, error) {
	if err := tooDeep(depth); err != nil {
		return nil, err
	}
	return fields(b)
}

// checkGraph checks a GraphProto.
func checkGraph(b []byte, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		var err error
		switch f.num {
		case 1: // node
			err = checkNode(f.bytes, depth+1)
		case 5: // initializer
			err = checkTensor(f.bytes, "", depth+1)
		case 15: // sparse_initializer
			err = checkSparse(f.bytes, "", depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkTrainingInfo checks a TrainingInfoProto: its initialization and
// algorithm graphs.
func checkTrainingInfo(b []byte, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.typ == protowire.BytesType && (f.num == 1 || f.num == 2) {
			if err := checkGraph(f.bytes, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFunction checks a FunctionProto: its nodes and attribute defaults.
func checkFunction(b []byte, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		var err error
		switch f.num {
		case 7: // node
			err = checkNode(f.bytes, depth+1)
		case 11: // attribute_proto
			err = checkAttr(f.bytes, "", depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkNode checks a NodeProto: its kind and its attributes.
func checkNode(b []byte, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	var name string
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 2: // output: a nameless Constant's tensor is called by it
			if name == "" {
				name = string(f.bytes)
			}
		case 3:
			name = string(f.bytes)
		case 4:
			if string(f.bytes) == "EPContext" {
				label := "an EPContext node"
				if name != "" {
					label = fmt.Sprintf("node %q is an EPContext node", name)
				}
				return fmt.Errorf("%s (a precompiled engine ONNX Runtime may load from a file): %w", label, ErrNotSelfContained)
			}
		}
	}
	for _, f := range fs {
		if f.typ == protowire.BytesType && f.num == 5 { // attribute
			if err := checkAttr(f.bytes, name, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkAttr checks an AttributeProto of the node called node.
func checkAttr(b []byte, node string, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	var attr string
	for _, f := range fs {
		if f.num == 1 && f.typ == protowire.BytesType {
			attr = string(f.bytes)
		}
	}
	where := fmt.Sprintf("attribute %q of node %q", attr, node)
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		var err error
		switch f.num {
		case 5, 10: // t, tensors
			err = checkTensor(f.bytes, where, depth+1)
		case 6, 11: // g, graphs
			err = checkGraph(f.bytes, depth+1)
		case 22, 23: // sparse_tensor, sparse_tensors
			err = checkSparse(f.bytes, where, depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSparse checks a SparseTensorProto: its values and indices.
func checkSparse(b []byte, where string, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	dense := 1.0
	for _, f := range fs {
		if f.typ == protowire.BytesType && (f.num == 1 || f.num == 2) {
			if err := checkTensor(f.bytes, where, depth+1); err != nil {
				return err
			}
		}
		switch {
		case f.num == 3 && f.typ == protowire.VarintType:
			dense *= math.Max(float64(int64(f.v)), 0)
		case f.num == 3 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return err
			}
			dense *= product(int64s(vs), 0)
		}
	}
	// ONNX Runtime makes a sparse initializer dense when it loads it.
	if bytes := dense * 4; bytes > maxConstantBytes {
		return fmt.Errorf("%w: a sparse tensor of %.3g GB when made dense (at most %d GB)", ErrTooBig, bytes/1e9, maxConstantBytes>>30)
	}
	return nil
}

// checkTensor checks a TensorProto; where says where it is ("attribute
// "value" of node "c"") for a tensor with no name of its own.
func checkTensor(b []byte, where string, depth int) error {
	fs, err := messageFields(b, depth)
	if err != nil {
		return err
	}
	name, location, external, entries := "", "", false, 0
	var dataLocation uint64
	for _, f := range fs {
		switch {
		case f.num == 8 && f.typ == protowire.BytesType:
			name = string(f.bytes)
		case f.num == 13: // external_data, whatever its wire type
			entries++
			if f.typ == protowire.BytesType {
				if kv, err := parseKV(f.bytes); err == nil && kv.Key == "location" {
					location = kv.Value
				}
			}
		case f.num == 14 && f.typ == protowire.VarintType: // data_location
			if f.v != 0 {
				external, dataLocation = true, f.v
			}
		}
	}
	label := fmt.Sprintf("tensor %q", name)
	switch {
	case name == "" && where != "":
		label = "the tensor in " + where
	case name == "":
		label = "a tensor with no name"
	}
	if !external && entries == 0 {
		return checkTensorData(fs, label)
	}
	switch {
	case location != "":
		return fmt.Errorf("%s keeps its data in an external file (%q): %w", label, location, ErrNotSelfContained)
	case entries > 0:
		return fmt.Errorf("%s has external_data entries: %w", label, ErrNotSelfContained)
	}
	return fmt.Errorf("%s has data_location %d (external): %w", label, dataLocation, ErrNotSelfContained)
}

// checkTensorData refuses a TensorProto whose shape declares another
// number of values than its data holds: ONNX Runtime allocates what the
// shape declares before it looks at the data (10⁸ strings declared, one
// held: 3.2 GB at load), and a file like that is broken anyway.
func checkTensorData(fs []field, label string) error {
	var dims []int64
	var dtype uint64
	held, raw := 0.0, -1
	for _, f := range fs {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			dims = append(dims, int64(f.v))
		case f.num == 1 && f.typ == protowire.BytesType:
			vs, err := packedVarints(f.bytes)
			if err != nil {
				return err
			}
			dims = append(dims, vs...)
		case f.num == 2 && f.typ == protowire.VarintType:
			dtype = f.v
		case f.num == 3:
			return nil // a segment of a tensor: its count is the segment's
		case f.num == 9 && f.typ == protowire.BytesType:
			raw = len(f.bytes)
		case f.num == 4 || f.num == 10: // float_data, double_data (fixed width)
			switch {
			case f.typ == protowire.BytesType && f.num == 4:
				held += float64(len(f.bytes) / 4)
			case f.typ == protowire.BytesType:
				held += float64(len(f.bytes) / 8)
			default:
				held++
			}
		case f.num == 5 || f.num == 7 || f.num == 11: // int32_data, int64_data, uint64_data
			if f.typ == protowire.BytesType {
				held += float64(countVarints(f.bytes))
			} else {
				held++
			}
		case f.num == 6 && f.typ == protowire.BytesType: // string_data
			held++
		}
	}
	declared := 1.0
	for _, d := range dims {
		if d < 0 {
			return fmt.Errorf("%w: %s has a dimension of %d", ErrNotONNX, label, d)
		}
		declared *= float64(d)
	}
	switch dtype {
	case 14, 15: // complex: two numbers a value
		held /= 2
	case 21, 22, 23: // 4 bits a value: two in each byte or number
		if raw >= 0 {
			held = 2 * float64(raw)
		} else {
			held *= 2
		}
		if declared == held-1 {
			declared = held
		}
	default:
		if raw >= 0 && dtype != 8 {
			held = float64(raw) / float64(elemBytes(int32(dtype)))
		}
	}
	if dtype == 0 || dtype == 8 && raw >= 0 || declared == held {
		return nil // no type (ONNX Runtime says so itself), or as declared
	}
	return fmt.Errorf("%w: %s declares %.0f values (shape %v) and holds %.0f: the file is broken", ErrNotONNX, label, declared, dims, held)
}

// countVarints counts the varints in a packed field.
func countVarints(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}
