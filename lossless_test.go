package vidstyle_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
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

// TestYUVRoundTripKeepsLevels: limited-range BT.709 video (real footage,
// stored losslessly) through a pass-through model and back to YUV 4:2:0 at
// CRF 1 keeps its levels: no plane's mean moves by more than 0.3 of a
// level. With swscale's default rounding the luma came back about 1.5
// levels dark. (The pictures cannot come back exact: 4:2:0 chroma taken
// up to RGB and down again moves luma where colour changes.)
func TestYUVRoundTripKeepsLevels(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(model, testmodels.IdentityGraph(), 0o600); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "bt709.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", testmedia.SmallMP4(t), "-frames:v", "8",
		"-vf", "hue=s=0.6,scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p",
		"-c:v", "ffv1", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv", in).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out.mkv")
	e := newEngine(t, vidstyle.Config{})
	if _, err := e.Transcode(context.Background(), vidstyle.Job{In: in, Out: out, Model: model, CRF: new(1), Temporal: new(0.0), Audio: "none"}); err != nil {
		t.Fatal(err)
	}
	yuv := func(p string) []byte {
		b, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-").Output()
		if err != nil {
			t.Fatalf("decoding %s: %v", p, err)
		}
		return b
	}
	a, b := yuv(in), yuv(out)
	const w, h = 560, 320
	frame := w * h * 3 / 2
	if len(a) != len(b) || len(a) != 8*frame {
		t.Fatalf("%d and %d bytes of YUV, want %d each (8 frames of %dx%d)", len(a), len(b), 8*frame, w, h)
	}
	planes := []struct {
		name     string
		from, to int
	}{{"Y", 0, w * h}, {"U", w * h, w * h * 5 / 4}, {"V", w * h * 5 / 4, frame}}
	for _, p := range planes {
		var sum float64
		n := 0
		for f := 0; f < len(a); f += frame {
			for i := f + p.from; i < f+p.to; i++ {
				d := float64(b[i]) - float64(a[i])
				sum += d
				n++
			}
		}
		if bias := sum / float64(n); math.Abs(bias) > 0.3 {
			t.Errorf("%s: the output is %+.2f levels off the input on average, want within 0.3", p.name, bias)
		}
	}
}
