package models

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// appendField writes a decoded field back unchanged.
func appendField(b []byte, f field) []byte {
	switch f.typ {
	case protowire.VarintType:
		return onnxgraph.AppendVarint(b, f.num, f.v)
	case protowire.Fixed32Type:
		return protowire.AppendFixed32(protowire.AppendTag(b, f.num, f.typ), uint32(f.v))
	case protowire.Fixed64Type:
		return protowire.AppendFixed64(protowire.AppendTag(b, f.num, f.typ), f.v)
	default:
		return onnxgraph.AppendBytes(b, f.num, f.bytes)
	}
}

// encode writes v as a ValueInfoProto.
func (v Value) encode() []byte {
	dims := make([]onnxgraph.Dim, len(v.Dims))
	for i, d := range v.Dims {
		dims[i] = onnxgraph.Dim(d)
	}
	return onnxgraph.EncodeValue(onnxgraph.Value{Name: v.Name, ElemType: v.ElemType, Dims: dims})
}

// SpatialAxes returns the height and width axes of an image tensor's shape:
// 2 and 3 for NCHW ([1,3,H,W]), 1 and 2 for NHWC ([1,H,W,3]).
func SpatialAxes(dims []Dim) (h, w int, nhwc bool, err error) {
	switch {
	case len(dims) != 4:
		return 0, 0, false, fmt.Errorf("shape %v is not a 4-D image", dims)
	case dims[1].Value == 3:
		return 2, 3, false, nil
	case dims[3].Value == 3:
		return 1, 2, true, nil
	}
	return 0, 0, false, fmt.Errorf("shape %v has no 3-channel axis (NCHW or NHWC)", dims)
}

// FreeSize rewrites a model whose image input and output declare a fixed
// height and width (the ONNX model zoo's 224×224) so that they are symbolic,
// and drops the intermediate shape annotations (value_info) that would
// pin them again. Everything else is copied byte for byte. It reports
// whether anything changed. Whether the graph really works at other sizes
// is for a run to show.
func FreeSize(data []byte) ([]byte, bool, error) {
	g, err := ParseGraph(data)
	if err != nil {
		return nil, false, err
	}
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return nil, false, fmt.Errorf("needs one input and one output, has %d and %d", len(g.Inputs), len(g.Outputs))
	}
	changed := false
	free := func(v Value) (Value, error) {
		h, w, _, err := SpatialAxes(v.Dims)
		if err != nil {
			return v, fmt.Errorf("%s: %w", v.Name, err)
		}
		dims := append([]Dim(nil), v.Dims...)
		for i, name := range map[int]string{h: "height", w: "width"} {
			if dims[i].Param == "" {
				dims[i] = Dim{Param: name}
				changed = true
			}
		}
		v.Dims = dims
		return v, nil
	}
	in, err := free(g.Inputs[0])
	if err != nil {
		return nil, false, err
	}
	out, err := free(g.Outputs[0])
	if err != nil {
		return nil, false, err
	}

	top, err := fields(data)
	if err != nil {
		return nil, false, err
	}
	var m []byte
	for _, f := range top {
		if f.num != 7 || f.typ != protowire.BytesType {
			m = appendField(m, f)
			continue
		}
		gfs, err := fields(f.bytes)
		if err != nil {
			return nil, false, err
		}
		var graph []byte
		for _, gf := range gfs {
			switch {
			case gf.typ != protowire.BytesType:
				graph = appendField(graph, gf)
			case gf.num == 11 || gf.num == 12:
				v, err := parseValueInfo(gf.bytes)
				if err != nil {
					return nil, false, err
				}
				switch v.Name {
				case in.Name:
					graph = onnxgraph.AppendBytes(graph, gf.num, in.encode())
				case out.Name:
					graph = onnxgraph.AppendBytes(graph, gf.num, out.encode())
				default:
					graph = appendField(graph, gf) // an initializer listed as input
				}
			case gf.num == 13:
				changed = true // value_info: dropped
			default:
				graph = appendField(graph, gf)
			}
		}
		m = onnxgraph.AppendBytes(m, 7, graph)
	}
	return m, changed, nil
}
