package models

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// sidecarCases drives the sidecar fuzz seeds (and documents the format).
var sidecarCases = []string{
	`{}`,
	`{"layout":"NHWC","channels":"BGR","range":"-1..1","multiple":8}`,
	`{"range":"0..1"}`,
	`{"range":"0..100"}`,
	`{"layout":"CHW"}`,
	`{"gamma":2}`,
	`not json`,
	`{"multiple":-3}`,
	`{"multiple":1e99}`,
	`{} {}`,
}

func FuzzParseSidecar(f *testing.F) {
	for _, c := range sidecarCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSidecar(data)
		if err != nil {
			return
		}
		var c Convention
		if err := c.apply(s, "fuzz"); err != nil {
			return
		}
		c = c.WithDefaults()
		if c.Multiple < 1 || c.Multiple > 64 || c.Scale <= 0 {
			t.Fatalf("accepted a convention out of range: %+v", c)
		}
	})
}

// FuzzParseGraph feeds the ONNX reader, the cost counter and the size
// rewriter arbitrary bytes: errors are fine, panics are not, a model
// CheckSelfContained refuses is never read, and a rewritten model reads
// back and is as self-contained as the one it came from. The seeds include
// every hostile model of TestExternalDataIsRefused.
func FuzzParseGraph(f *testing.F) {
	f.Add(testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224}))
	f.Add(buildToon())
	f.Add(upConvGraph())
	f.Add(upTailGraph())
	f.Add(badGraph(func(g *onnxgraph.Builder) { g.ExtraInputs = []string{"mask"} }))
	f.Add([]byte{0x08, 0x07, 0x3a, 0x00})
	f.Add([]byte("not onnx"))
	for _, c := range hostileModels(f) {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hostile := errors.Is(CheckSelfContained(data), ErrNotSelfContained)
		g, err := ParseGraph(data)
		if err != nil {
			return
		}
		if hostile {
			t.Fatal("ParseGraph read a model that CheckSelfContained refuses")
		}
		g.Cost()
		g.CheckImage()
		ResolveConvention(g, "")
		out, _, err := FreeSize(data)
		if err != nil {
			return
		}
		if _, err := ParseGraph(out); err != nil {
			t.Fatalf("FreeSize wrote a model that does not read back: %v", err)
		}
		if err := CheckSelfContained(out); err != nil {
			t.Fatalf("FreeSize wrote a model that is not self-contained: %v", err)
		}
		// What every float model goes through when it is loaded, and what
		// quantize checks first.
		fast, _, err := FasterFP32(data)
		if err == nil {
			if _, err := ParseGraph(fast); err != nil {
				t.Fatalf("FasterFP32 wrote a model that does not read back: %v", err)
			}
			if err := CheckSelfContained(fast); err != nil {
				t.Fatalf("FasterFP32 wrote a model that is not self-contained: %v", err)
			}
		}
		CheckQuantizable(data)
	})
}

// upConvGraph is a transposed conv and a last 3-channel conv, the two
// layers FasterFP32 rewrites (a fuzz seed).
func upConvGraph() []byte {
	g := &onnxgraph.Builder{}
	up := g.Op("ConvTranspose", []string{"input", g.Floats([]int64{3, 4, 3, 3}, make([]float32, 3*4*9))},
		onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 0, 0, 1, 1))
	out := g.Op("Conv", []string{up, g.Floats([]int64{3, 4, 3, 3}, make([]float32, 3*4*9)), g.Floats([]int64{3}, []float32{1, 2, 3})},
		onnxgraph.IntsAttr("pads", 1, 1, 1, 1))
	return g.Model("up", "input", out, "output", "a fuzz seed", nil)
}

// upTailGraph is a transposed conv, InstanceNormalization, ReLU and a
// last 9×9 conv to 3 channels: the chain all three FasterFP32 rewrites
// change (a fuzz seed).
func upTailGraph() []byte {
	g := &onnxgraph.Builder{}
	up := g.Op("ConvTranspose", []string{"input", g.Floats([]int64{3, 4, 3, 3}, make([]float32, 3*4*9))},
		onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 0, 0, 1, 1))
	norm := g.Op("InstanceNormalization", []string{up, g.Floats([]int64{4}, []float32{1, 1, 1, 1}), g.Floats([]int64{4}, make([]float32, 4))})
	out := g.Op("Conv", []string{g.Op("Relu", []string{norm}), g.Floats([]int64{3, 4, 9, 9}, make([]float32, 3*4*81))},
		onnxgraph.IntsAttr("pads", 4, 4, 4, 4))
	return g.Model("uptail", "input", out, "output", "a fuzz seed", nil)
}

// TestUpTailSeedIsRewritten: the seed does reach the phase rewrite.
func TestUpTailSeedIsRewritten(t *testing.T) {
	if _, done, err := FasterFP32(upTailGraph()); err != nil || len(done) != 3 {
		t.Errorf("FasterFP32 of the seed did %v, %v", done, err)
	}
}

// TestRewritesRefuseImpossibleWeights: weights whose dimensions are
// negative or multiply past int64 (to the size of their empty data) are
// refused by the reader, and would be left alone by the rewrites every
// loaded model goes through and refused by quantize even if it read them
// (isConvWeight): never indexed or allocated.
func TestRewritesRefuseImpossibleWeights(t *testing.T) {
	for _, dims := range [][]int64{{1 << 32, 1 << 32, 1, 1}, {-1, -3, 3, 3}, {3, 1 << 32, 1 << 32, 1}} {
		if (&initTensor{DataType: onnxgraph.TensorFloat, Dims: dims}).isConvWeight() {
			t.Errorf("%v with no data passes as a conv weight", dims)
		}
		for _, op := range []string{"ConvTranspose", "Conv"} {
			g := &onnxgraph.Builder{}
			out := g.Op(op, []string{"input", g.Floats(dims, nil)}, onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 0, 0, 1, 1))
			data := g.Model("impossible", "input", out, "output", "", nil)
			if _, err := readEdit(data); !errors.Is(err, ErrNotONNX) {
				t.Errorf("%s %v: the reader took it: %v", op, dims, err)
			}
			if got, done, err := FasterFP32(data); err == nil && (len(done) != 0 || !bytes.Equal(got, data)) {
				t.Errorf("%s %v: rewrote %v", op, dims, done)
			}
			if err := CheckQuantizable(data); err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s %v: quantize check %v", op, dims, err)
			}
		}
	}
}

// TestSidecarWithAByteOrderMark: a sidecar saved by Windows Notepad (a
// UTF-8 BOM, CRLF line ends) reads as the same JSON without them.
func TestSidecarWithAByteOrderMark(t *testing.T) {
	s, err := ParseSidecar([]byte("\xef\xbb\xbf{\r\n  \"range\": \"0..1\"\r\n}\r\n"))
	if err != nil || s.Range != "0..1" {
		t.Errorf("a sidecar with a BOM: %+v, %v", s, err)
	}
}
