package vidstyle_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/eval"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// sharedModelPath is a pretrained model in ../shared/models, or "" (with
// a log line) when it is absent.
func sharedModelPath(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "shared", "models", name+".onnx")
	if _, err := os.Stat(p); err != nil {
		t.Logf("pretrained model %s absent (%v): not measured", name, err)
		return ""
	}
	return p
}

// stylizeLossless stylizes the first frames of in into a lossless MKV
// with the given temporal blend (nil: the default).
func stylizeLossless(t *testing.T, e *vidstyle.Engine, in, model string, temporal *float64, frames int64, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".mkv")
	_, err := e.Transcode(context.Background(), vidstyle.Job{In: in, Out: out, Model: model, Size: vidstyle.Size{Width: 168, Height: 96},
		Frames: frames, CRF: new(0), Temporal: temporal, Audio: "none"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTemporalLowersFlickerOnARealClip: on small.mp4 (real footage, one
// shot) the default stabilisation cuts the warping error, judged with
// eval's Farneback flow, not the stabiliser's DIS, keeps the texture and
// stays near the per-frame picture where it moves.
func TestTemporalLowersFlickerOnARealClip(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	in := testmedia.SmallMP4(t)
	styles := []string{"toon"}
	if p := sharedModelPath(t, "udnie"); p != "" {
		styles = append(styles, p)
	}
	for _, model := range styles {
		off := stylizeLossless(t, e, in, model, new(0.0), 16, "off")
		on := stylizeLossless(t, e, in, model, nil, 16, "on")
		r, err := eval.Run(context.Background(), eval.Files{In: in, Out: on, Ref: off}, eval.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: E_warp off %.3g on %.3g floor %.3g (%+.0f %%), texture kept %.2f, deviation %.2f (moving %.2f)",
			filepath.Base(model), r.RefEWarp, r.EWarp, r.Floor, -100*r.Reduction, r.TextureKept, r.Deviation, r.DeviationMoving)
		if r.Frames != 16 || r.Reduction < 0.3 {
			t.Errorf("%s: E_warp %.3g with stabilisation, %.3g without: want at least 30 %% less", model, r.EWarp, r.RefEWarp)
		}
		if r.TextureKept < 0.9 || r.DeviationMoving > 4 {
			t.Errorf("%s: texture kept %.2f, deviation on moving pixels %.2f levels: want at least 0.9 and at most 4", model, r.TextureKept, r.DeviationMoving)
		}
	}
}

// TestTemporalResetsAtACut: a clip made of two real clips one after the
// other is stylized with and without stabilisation; the first frame after
// the cut is exactly the per-frame one (nothing carried across), the
// frames around it are not.
func TestTemporalResetsAtACut(t *testing.T) {
	const first = 8
	small := testmedia.SmallMP4(t)
	second, how, turn := "/usr/share/doc/opencv-doc/examples/data/vtest.avi", "opencv-doc's vtest.avi", ""
	if _, err := os.Stat(second); err != nil {
		second, how, turn = small, "small.mp4 turned upside down (apt-get install opencv-doc for a second real clip)", ",vflip"
	}
	t.Log("second clip: " + how)
	cut := filepath.Join(t.TempDir(), "cut.mkv")
	ffmpeg := exec.Command("ffmpeg", "-v", "error", "-i", small, "-i", second, "-filter_complex",
		"[0:v]trim=end_frame=8,scale=336:192,setsar=1,setpts=N/(30*TB)[a];[1:v]trim=end_frame=8,scale=336:192,setsar=1,setpts=N/(30*TB)"+turn+"[b];[a][b]concat=n=2:v=1,setpts=N/(30*TB)[v]",
		"-map", "[v]", "-r", "30", "-c:v", "ffv1", cut)
	if out, err := ffmpeg.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	off := testmedia.DecodeAll(t, stylizeLossless(t, e, cut, "toon", new(0.0), 0, "off"))
	on := testmedia.DecodeAll(t, stylizeLossless(t, e, cut, "toon", nil, 0, "on"))
	if len(on) != 2*first || len(off) != len(on) {
		t.Fatalf("%d and %d frames, want %d", len(off), len(on), 2*first)
	}
	equal := func(i int) bool { return math.IsInf(testmedia.PSNR(on[i], off[i]), 1) }
	if !equal(0) || !equal(first) {
		t.Errorf("the first frame (equal %v) and the first after the cut (equal %v) must be the per-frame ones", equal(0), equal(first))
	}
	for _, i := range []int{first - 1, first + 1, first + 2} {
		if equal(i) {
			t.Errorf("frame %d is the per-frame one: not stabilised", i)
		}
	}
}
