package models_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
)

// TestUpgradeOpsetZooShape upgrades the Johnson test graph in the ONNX
// model zoo's shape (opset 9: Pad with attributes, Upsample; with and
// without fixed 224-style shapes) to opset 13: no Upsample is left, every
// Resize reads X, an empty roi and the scales with asymmetric coordinates
// and floor rounding, every Pad reads its pads, the IR version is at least
// 7, the rewrite is recorded, and a second pass changes nothing. That the
// upgraded graph computes the same is TestUpgradeOpsetIsExact's (package
// stylize: it needs ONNX Runtime).
func TestUpgradeOpsetZooShape(t *testing.T) {
	for _, size := range []int64{0, 64} {
		j := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Size: size, Seed: 2})
		up, changed, err := models.UpgradeOpset(j)
		if err != nil || !changed {
			t.Fatalf("size %d: changed %v, %v", size, changed, err)
		}
		g, err := models.ParseGraph(up)
		if err != nil {
			t.Fatal(err)
		}
		if g.Opset != 13 || g.IRVersion < 7 {
			t.Errorf("size %d: opset %d, IR version %d", size, g.Opset, g.IRVersion)
		}
		if v, _ := g.MetadataValue(models.MetaRewrite); v != "opset-9-to-13" {
			t.Errorf("size %d: %s = %q", size, models.MetaRewrite, v)
		}
		ops := map[string]int{}
		for _, n := range g.Nodes {
			ops[n.OpType]++
			switch n.OpType {
			case "Resize":
				if len(n.Inputs) != 3 || n.Inputs[1] != "" || n.Attrs["mode"].String != "nearest" ||
					n.Attrs["coordinate_transformation_mode"].String != "asymmetric" || n.Attrs["nearest_mode"].String != "floor" {
					t.Errorf("size %d: Resize %v %v", size, n.Inputs, n.Attrs)
				}
			case "Pad":
				if len(n.Inputs) != 2 || n.Attrs["pads"].Ints != nil || n.Attrs["mode"].String != "reflect" {
					t.Errorf("size %d: Pad %v %v", size, n.Inputs, n.Attrs)
				}
				if p := g.Tensors[n.Inputs[1]]; len(p.Floats) != 8 {
					t.Errorf("size %d: pads %+v", size, p)
				}
			}
		}
		if ops["Upsample"] != 0 || ops["Resize"] != 2 || ops["Pad"] != 16 {
			t.Errorf("size %d: node types %v", size, ops)
		}
		again, changed, err := models.UpgradeOpset(up)
		if err != nil || changed || !bytes.Equal(again, up) {
			t.Errorf("size %d: a second pass changed %v, %v", size, changed, err)
		}
	}
	// Opset 13 already: the bytes come back as they were.
	j := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13})
	if out, changed, err := models.UpgradeOpset(j); err != nil || changed || !bytes.Equal(out, j) {
		t.Errorf("opset 13: changed %v, %v", changed, err)
	}
}

// opsetGraph is a small graph at an opset around one node made by op.
func opsetGraph(opset int64, op func(g *onnxgraph.Builder, x string) string) []byte {
	g := &onnxgraph.Builder{Opset: opset}
	return g.Model("g", "input", op(g, "input"), "output", "test", nil)
}

// TestUpgradeOpsetRefuses: what has no exact opset-13 form is refused with
// ErrOpset and one line that names the reason: a model older than opset
// 9, Softmax over its default axis (its meaning changed at 13), an
// Upsample mode Resize lacks, an If (a subgraph), an unknown operator, a
// Dropout whose mask is read, and a Resize-10 nearest whose scales both
// up- and down-sample.
func TestUpgradeOpsetRefuses(t *testing.T) {
	sub := func() []byte {
		s := &onnxgraph.Builder{}
		return s.Model("branch", "input", s.Op("Relu", []string{"input"}), "y", "", nil)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"opset 8", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 8}), "the model is opset 8"},
		{"softmax", opsetGraph(9, func(g *onnxgraph.Builder, x string) string { return g.Op("Softmax", []string{x}) }), "axis=-1"},
		{"upsample cubic", opsetGraph(9, func(g *onnxgraph.Builder, x string) string {
			return g.Op("Upsample", []string{x, g.Floats([]int64{4}, []float32{1, 1, 2, 2})}, onnxgraph.StringAttr("mode", "cubic"))
		}), `mode "cubic"`},
		{"if", opsetGraph(9, func(g *onnxgraph.Builder, x string) string {
			cond := g.Op("Cast", []string{g.Op("ReduceMax", []string{x}, onnxgraph.IntAttr("keepdims", 0))}, onnxgraph.IntAttr("to", 9))
			return g.Op("If", []string{cond}, onnxgraph.GraphAttr("then_branch", subgraph(sub())), onnxgraph.GraphAttr("else_branch", subgraph(sub())))
		}), "subgraph"},
		{"unknown op", opsetGraph(9, func(g *onnxgraph.Builder, x string) string { return g.Op("MeanVarianceNormalization", []string{x}) }), "MeanVarianceNormalization"},
		{"dropout mask", opsetGraph(9, func(g *onnxgraph.Builder, x string) string {
			o := g.OpN("Dropout", []string{x}, 2)
			return g.Op("Mul", []string{o[0], o[1]})
		}), "mask"},
		{"resize10 both ways", opsetGraph(10, func(g *onnxgraph.Builder, x string) string {
			return g.Op("Resize", []string{x, g.Floats([]int64{4}, []float32{1, 1, 2, 0.5})})
		}), "both up- and down-sample"},
	} {
		_, _, err := models.UpgradeOpset(c.data)
		if !errors.Is(err, models.ErrOpset) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
}

// subgraph is the GraphProto (field 7) of an encoded ModelProto.
func subgraph(model []byte) []byte {
	for b := model; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		if num == 7 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			return v
		}
		b = b[max(1, protowire.ConsumeFieldValue(num, typ, b)):]
	}
	return nil
}
