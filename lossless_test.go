package vidstyle_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// TestCRF0IsLossless: with a pass-through model (and no stabilisation),
// -crf 0 gives back exactly the frames the decoder gave: every byte of
// every decoded output frame equals the decoded input's, in each container
// (H.264 in RGB through libx264rgb; VP9 lossless in GBR for WebM). Through
// YUV 4:2:0 at CRF 0 they were 2.3 levels of Y off on average (max 22).
// CRF 18 is not lossless, which shows the comparison can fail.
func TestCRF0IsLossless(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(model, testmodels.IdentityGraph(), 0o600); err != nil {
		t.Fatal(err)
	}
	in := testmedia.SmallMP4(t)
	e := newEngine(t, vidstyle.Config{})
	const frames = 6
	src := testmedia.DecodeAll(t, in)[:frames]
	differing := func(crf *int, name string) int {
		out := filepath.Join(dir, name)
		if _, err := e.Transcode(context.Background(), vidstyle.Job{In: in, Out: out, Model: model, Frames: frames, CRF: crf, Temporal: new(0.0), Audio: "none"}); err != nil {
			t.Fatal(err)
		}
		got := testmedia.DecodeAll(t, out)
		if len(got) != frames {
			t.Fatalf("%s: %d frames, want %d", name, len(got), frames)
		}
		n := 0
		for i := range got {
			a, _ := src[i].DataPtrUint8()
			b, _ := got[i].DataPtrUint8()
			if got[i].Cols() != src[i].Cols() || got[i].Rows() != src[i].Rows() || !bytes.Equal(a, b) {
				n++
			}
		}
		return n
	}
	for _, name := range []string{"crf0.mkv", "crf0.mp4", "crf0.webm"} {
		if n := differing(new(0), name); n != 0 {
			t.Errorf("%s: %d of %d frames differ from the decoded input", name, n, frames)
		}
	}
	if n := differing(nil, "crf18.mkv"); n == 0 {
		t.Error("CRF 18 gave the input back exactly: the comparison cannot tell")
	}
}
