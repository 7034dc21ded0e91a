package vidstyle_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// TestCRF0IsLossless: with a pass-through model (and no stabilisation)
// -crf 0 gets the encoder's loss out of the way: CRF 18 loses clearly more.
// Before CRF became *int, 0 silently meant 18.
//
// Not yet shown: output frames EQUAL to the decoded input. They are not:
// on small.mp4 (BT.709, tv range) the output's Y plane differs from the
// input's by 2.3 levels on average (max 22) at CRF 0, so the BGR↔YUV path
// around the encoder is not an exact round trip (issue 14, open).
func TestCRF0IsLossless(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(model, testmodels.IdentityGraph(), 0o600); err != nil {
		t.Fatal(err)
	}
	in := testmedia.SmallMP4(t)
	e := newEngine(t, vidstyle.Config{})
	run := func(crf *int, name string) string {
		out := filepath.Join(dir, name+".mkv")
		if _, err := e.Transcode(context.Background(), vidstyle.Job{In: in, Out: out, Model: model, Frames: 10, CRF: crf, Temporal: new(0.0), Audio: "none"}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	src := testmedia.DecodeAll(t, in)
	lossless, lossy := testmedia.DecodeAll(t, run(new(0), "crf0")), testmedia.DecodeAll(t, run(nil, "crf18"))
	if len(lossless) != 10 || len(lossy) != 10 {
		t.Fatalf("%d and %d frames", len(lossless), len(lossy))
	}
	worst0, worst18 := 1e9, 1e9
	for i := range lossless {
		worst0 = min(worst0, testmedia.PSNR(src[i], lossless[i]))
		worst18 = min(worst18, testmedia.PSNR(src[i], lossy[i]))
	}
	t.Logf("worst frame: CRF 0 %.1f dB, CRF 18 %.1f dB", worst0, worst18)
	if worst0 < 38 {
		t.Errorf("CRF 0: a frame at %.1f dB from the input", worst0)
	}
	if worst18 >= worst0-1 {
		t.Errorf("CRF 18 (%.1f dB) is no worse than CRF 0 (%.1f dB): 0 is not lossless", worst18, worst0)
	}
}
