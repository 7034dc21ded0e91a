package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// Convention says how a model wants its pixels: the tensor layout, the
// channel order, the value range and the size multiple. The zero value is
// the Johnson convention: NCHW, RGB, 0..255, multiple of 4.
type Convention struct {
	NHWC     bool    // layout [1,H,W,3] instead of [1,3,H,W]
	BGR      bool    // channel order
	Range    string  // "0..255" (default), "0..1" or "-1..1"
	Multiple int     // pad height and width to a multiple of this (default 4)
	Scale    float64 // tensor value = pixel × Scale + Offset
	Offset   float64
}

// ErrSidecar means a sidecar file or metadata entry has a value vidstyle
// does not know.
var ErrSidecar = errors.New("model convention")

// Sidecar is the optional NAME.json beside a model file. Every field may be
// left out. The same keys, prefixed "vidstyle.", are read from the model's
// metadata_props; the sidecar wins.
type Sidecar struct {
	Layout   string `json:"layout,omitempty"`   // NCHW or NHWC
	Channels string `json:"channels,omitempty"` // RGB or BGR
	Range    string `json:"range,omitempty"`    // 0..255, 0..1 or -1..1
	Multiple int    `json:"multiple,omitempty"` // 1 to 64
}

// SidecarPath is where the sidecar of a model file lives: NAME.json.
func SidecarPath(model string) string {
	return strings.TrimSuffix(model, ".onnx") + ".json"
}

// ParseSidecar reads a sidecar's JSON strictly: unknown keys are errors.
// A UTF-8 byte order mark before it (Windows Notepad saves one) is
// skipped.
func ParseSidecar(data []byte) (Sidecar, error) {
	var s Sidecar
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Sidecar{}, fmt.Errorf("%w: %w", ErrSidecar, err)
	}
	if dec.More() {
		return Sidecar{}, fmt.Errorf("%w: more than one JSON object", ErrSidecar)
	}
	return s, nil
}

// ResolveConvention works out how to feed a model: the input shape gives
// the layout, then metadata_props, then the sidecar file (if sidecar is not
// empty and exists) override the defaults.
func ResolveConvention(g *Graph, sidecar string) (Convention, error) {
	var c Convention
	if len(g.Inputs) == 1 {
		if _, _, nhwc, err := SpatialAxes(g.Inputs[0].Dims); err == nil {
			c.NHWC = nhwc
		}
	}
	var s Sidecar
	for _, kv := range g.Metadata {
		switch kv.Key {
		case "vidstyle.layout":
			s.Layout = kv.Value
		case "vidstyle.channels":
			s.Channels = kv.Value
		case "vidstyle.range":
			s.Range = kv.Value
		case "vidstyle.multiple":
			n, err := strconv.Atoi(kv.Value)
			if err != nil {
				return c, fmt.Errorf("%w: metadata vidstyle.multiple %q is not a number", ErrSidecar, kv.Value)
			}
			s.Multiple = n
		}
	}
	if err := c.apply(s, "metadata"); err != nil {
		return c, err
	}
	if sidecar != "" {
		data, err := ReadSidecar(sidecar)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return c, fmt.Errorf("%w: %w", ErrSidecar, err)
		default:
			s, err := ParseSidecar(data)
			if err != nil {
				return c, fmt.Errorf("sidecar %s: %w", sidecar, err)
			}
			if err := c.apply(s, "sidecar "+sidecar); err != nil {
				return c, err
			}
		}
	}
	return c.WithDefaults(), nil
}

func (c *Convention) apply(s Sidecar, from string) error {
	switch strings.ToUpper(s.Layout) {
	case "":
	case "NCHW":
		c.NHWC = false
	case "NHWC":
		c.NHWC = true
	default:
		return fmt.Errorf("%w: %s: layout %q: use NCHW or NHWC", ErrSidecar, from, s.Layout)
	}
	switch strings.ToUpper(s.Channels) {
	case "":
	case "RGB":
		c.BGR = false
	case "BGR":
		c.BGR = true
	default:
		return fmt.Errorf("%w: %s: channels %q: use RGB or BGR", ErrSidecar, from, s.Channels)
	}
	switch s.Range {
	case "":
	case "0..255", "0..1", "-1..1":
		c.Range = s.Range
	default:
		return fmt.Errorf("%w: %s: range %q: use 0..255, 0..1 or -1..1", ErrSidecar, from, s.Range)
	}
	switch {
	case s.Multiple == 0:
	case s.Multiple >= 1 && s.Multiple <= 64:
		c.Multiple = s.Multiple
	default:
		return fmt.Errorf("%w: %s: multiple %d: use 1 to 64", ErrSidecar, from, s.Multiple)
	}
	return nil
}

// WithDefaults fills in the Johnson defaults and the scale for the range.
func (c Convention) WithDefaults() Convention {
	if c.Range == "" {
		c.Range = "0..255"
	}
	if c.Multiple == 0 {
		c.Multiple = 4
	}
	switch c.Range {
	case "0..1":
		c.Scale, c.Offset = 1.0/255, 0
	case "-1..1":
		c.Scale, c.Offset = 2.0/255, -1
	default:
		c.Scale, c.Offset = 1, 0
	}
	return c
}

// IsJohnson reports whether the convention is the default one, which has
// the fast conversion path.
func (c Convention) IsJohnson() bool {
	return !c.NHWC && !c.BGR && c.Range == "0..255"
}

// String describes the convention: "NCHW RGB 0..255, multiple of 4".
func (c Convention) String() string {
	c = c.WithDefaults()
	layout, order := "NCHW", "RGB"
	if c.NHWC {
		layout = "NHWC"
	}
	if c.BGR {
		order = "BGR"
	}
	return fmt.Sprintf("%s %s %s, sizes padded to a multiple of %d", layout, order, c.Range, c.Multiple)
}

// shortName is a name from a model (an input's, an output's) cut to 64
// runes for a message: the file sets its length (20 KB made 20 KB lines).
func shortName(s string) string {
	if utf8.RuneCountInString(s) <= 64 {
		return s
	}
	return string([]rune(s)[:63]) + "…"
}

// CheckImage checks the image contract on the graph alone (no ONNX
// Runtime): one float32 image input and one float32 image output, each 4-D
// with 3 channels. It returns the input's fixed height and width, or zeros
// when they are symbolic.
func (g *Graph) CheckImage() (h, w int64, err error) {
	if len(g.Inputs) != 1 {
		names := make([]string, 0, 4)
		for i, in := range g.Inputs {
			if i == 3 {
				names = append(names, fmt.Sprintf("and %d more", len(g.Inputs)-3))
				break
			}
			names = append(names, shortName(in.Name))
		}
		return 0, 0, fmt.Errorf("needs one image input, has %d (%s)", len(g.Inputs), strings.Join(names, ", "))
	}
	if len(g.Outputs) != 1 {
		return 0, 0, fmt.Errorf("needs one output, has %d", len(g.Outputs))
	}
	for _, v := range []Value{g.Inputs[0], g.Outputs[0]} {
		if v.ElemType != onnxgraph.TensorFloat {
			return 0, 0, fmt.Errorf("%q is %s; vidstyle runs float32 image models", shortName(v.Name), ElemTypeName(v.ElemType))
		}
		if _, _, _, err := SpatialAxes(v.Dims); err != nil {
			return 0, 0, fmt.Errorf("%q: %w", shortName(v.Name), err)
		}
	}
	in := g.Inputs[0].Dims
	hAxis, wAxis, _, _ := SpatialAxes(in)
	return in[hAxis].Value, in[wAxis].Value, nil
}
