package models

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

func sharedModels(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "models", "*.onnx"))
	if len(files) == 0 {
		t.Skip("../shared/models not present: skipping the pretrained models")
	}
	return files
}

func TestCostOfSharedModels(t *testing.T) {
	for _, f := range sharedModels(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := ParseGraph(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c, err := g.Cost()
		if err != nil {
			t.Fatal(err)
		}
		// Transposed-conv Johnson nets: ≈ 126 k MAC, 0.25 MFLOP per pixel.
		if mf := c.FLOPsPerPixel() / 1e6; math.Abs(mf-0.25)/0.25 > 0.05 || len(c.Unknown) > 0 {
			t.Errorf("%s: %.4f MFLOP/px (unknown %v), want 0.25 ± 5%%", filepath.Base(f), mf, c.Unknown)
		}
		if h, w, err := g.CheckImage(); err != nil || h != 0 || w != 0 {
			t.Errorf("%s: contract %d %d %v, want symbolic", f, h, w, err)
		}
		// The sub-pixel and phase forms follow DepthToSpace back to the full size and
		// count the zero taps they compute: ≈ 0.28 MFLOP per pixel.
		fast, done, err := FasterFP32(data)
		if err != nil || len(done) != 3 {
			t.Fatalf("%s: FasterFP32 %v %v", f, done, err)
		}
		fg, err := ParseGraph(fast)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := fg.Cost()
		if err != nil {
			t.Fatal(err)
		}
		if r := fc.FLOPsPerPixel() / c.FLOPsPerPixel(); r < 1 || r > 1.3 || len(fc.Unknown) > 0 {
			t.Errorf("%s: rewritten %.4f MFLOP/px = %.2f× the original (unknown %v)", filepath.Base(f), fc.FLOPsPerPixel()/1e6, r, fc.Unknown)
		}
		if conv, err := ResolveConvention(g, ""); err != nil || !conv.IsJohnson() {
			t.Errorf("%s: convention %v %v", f, conv, err)
		}
	}
}

func TestCostOfUpsampleConvGraphs(t *testing.T) {
	for _, o := range []testmodels.JohnsonOptions{{Size: 224}, {Opset: 13}} {
		g, err := ParseGraph(testmodels.JohnsonGraph(o))
		if err != nil {
			t.Fatal(err)
		}
		c, err := g.Cost()
		if err != nil {
			t.Fatal(err)
		}
		if mf := c.FLOPsPerPixel() / 1e6; math.Abs(mf-0.31)/0.31 > 0.05 || c.Layers != 16 {
			t.Errorf("%+v: %.4f MFLOP/px over %d convs, want 0.31 ± 5%% over 16", o, mf, c.Layers)
		}
	}
}

func TestFreeSizeMakesZooShapesSymbolic(t *testing.T) {
	fixed := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224})
	g, _ := ParseGraph(fixed)
	if h, w, _ := g.CheckImage(); h != 224 || w != 224 {
		t.Fatalf("test graph is not fixed: %dx%d", w, h)
	}
	free, changed, err := FreeSize(fixed)
	if err != nil || !changed {
		t.Fatalf("FreeSize: changed %v, %v", changed, err)
	}
	g2, err := ParseGraph(free)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Value{g2.Inputs[0], g2.Outputs[0]} {
		if v.Dims[2].Param != "height" || v.Dims[3].Param != "width" || v.Dims[1].Value != 3 {
			t.Errorf("%s: dims %v", v.Name, v.Dims)
		}
	}
	if n, m := valueInfoCount(t, fixed), valueInfoCount(t, free); n == 0 || m != 0 {
		t.Errorf("value_info entries: %d before, %d after, want some and none", n, m)
	}
	if len(g2.Nodes) != len(g.Nodes) || len(g2.Tensors) != len(g.Tensors) || g2.Opset != 9 {
		t.Errorf("graph changed: %d/%d nodes, %d/%d tensors, opset %d", len(g2.Nodes), len(g.Nodes), len(g2.Tensors), len(g.Tensors), g2.Opset)
	}
	again, changed, err := FreeSize(free)
	if err != nil || changed || !bytes.Equal(again, free) {
		t.Errorf("second FreeSize: changed %v, equal %v, %v", changed, bytes.Equal(again, free), err)
	}
}

// badGraph builds a tiny graph with something wrong in its contract.
func badGraph(mod func(g *onnxgraph.Builder)) []byte {
	g := &onnxgraph.Builder{}
	mod(g)
	out := g.Op("Relu", []string{"input"})
	return g.Model("bad", "input", out, "output", "", nil)
}

func broken(t *testing.T, how string) []byte {
	data, err := testmodels.BrokenGraph(how)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestContractErrors(t *testing.T) {
	good := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not ONNX", []byte("hello, I am a text file"), "not an ONNX model"},
		{"truncated", good[:len(good)/2], "not an ONNX model"},
		{"empty", nil, "not an ONNX model"},
		{"two image inputs", badGraph(func(g *onnxgraph.Builder) { g.ExtraInputs = []string{"mask"} }), "needs one image input, has 2 (input, mask)"},
		{"one channel", broken(t, testmodels.BrokenChannels), "no 3-channel axis"},
		{"rank 3", broken(t, testmodels.BrokenRank), "is not a 4-D image"},
		{"fp16", broken(t, testmodels.BrokenFloat16), "is float16; vidstyle runs float32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := ParseGraph(c.data)
			if err == nil {
				_, _, err = g.CheckImage()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, c.want)
			}
		})
	}
}

func TestSidecarAndMetadata(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "anime.onnx")
	g, _ := ParseGraph(testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}))
	g.Metadata = append(g.Metadata, KV{"vidstyle.range", "0..1"})
	c, err := ResolveConvention(g, SidecarPath(model))
	if err != nil || c.Range != "0..1" || c.Scale != 1.0/255 || c.Multiple != 4 {
		t.Fatalf("metadata: %+v %v", c, err)
	}
	os.WriteFile(SidecarPath(model), []byte(`{"channels":"BGR","range":"-1..1","multiple":8}`), 0o644)
	c, err = ResolveConvention(g, SidecarPath(model))
	if err != nil || !c.BGR || c.Range != "-1..1" || c.Offset != -1 || c.Multiple != 8 {
		t.Fatalf("sidecar: %+v %v", c, err)
	}
	for _, bad := range []string{`{"range":"0..100"}`, `{"layout":"CHW"}`, `{"channels":"RGBA"}`, `{"multiple":100}`, `{"gamma":2}`, `not json`} {
		os.WriteFile(SidecarPath(model), []byte(bad), 0o644)
		if _, err := ResolveConvention(g, SidecarPath(model)); !errors.Is(err, ErrSidecar) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func valueInfoCount(t *testing.T, model []byte) int {
	t.Helper()
	top, err := fields(model)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range top {
		if f.num == 7 {
			gfs, err := fields(f.bytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, gf := range gfs {
				if gf.num == 13 {
					n++
				}
			}
		}
	}
	return n
}

// TestContractErrorsCutLongNames: an input name of 20 KB (the file sets
// it) is cut in the contract's errors, which made lines of 20 KB.
func TestContractErrorsCutLongNames(t *testing.T) {
	long := strings.Repeat("A", 20000)
	img := []Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}}
	for _, g := range []Graph{
		{Inputs: []Value{{Name: long, ElemType: onnxgraph.TensorInt64, Dims: img}}, Outputs: []Value{{Name: "out", ElemType: onnxgraph.TensorFloat, Dims: img}}},
		{Inputs: []Value{{Name: long}, {Name: long}, {Name: long}, {Name: long}, {Name: long}}, Outputs: []Value{{Name: "out"}}},
		{Inputs: []Value{{Name: long, ElemType: onnxgraph.TensorFloat, Dims: img[:2]}}, Outputs: []Value{{Name: "out", ElemType: onnxgraph.TensorFloat, Dims: img}}},
	} {
		_, _, err := g.CheckImage()
		if err == nil || len(err.Error()) > 400 {
			t.Errorf("CheckImage: an error of %d bytes: %.120v", len(fmt.Sprint(err)), err)
		}
	}
}
