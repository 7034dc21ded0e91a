package testmodels_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
)

// The identity graph passes the image-model checks every loader makes: a
// [1,3,H,W] float32 image in and out, symbolic size. (That ONNX Runtime
// runs it, through the binary, is what cmd/vidstyle's real-world table
// does on every row.)
func TestIdentityGraphIsAnImageModel(t *testing.T) {
	data := testmodels.IdentityGraph()
	g, err := models.ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	h, w, err := g.CheckImage()
	if err != nil {
		t.Fatalf("CheckImage: %v", err)
	}
	if h > 0 || w > 0 {
		t.Errorf("size fixed at %dx%d, want symbolic", w, h)
	}
	if err := models.CheckSelfContained(data); err != nil {
		t.Errorf("CheckSelfContained: %v", err)
	}
	if len(g.Nodes) < 2 || g.Nodes[0].OpType != "Mul" {
		t.Errorf("nodes %+v, want Mul then Identity", g.Nodes)
	}
}
