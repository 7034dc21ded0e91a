package eval_test

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/eval"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// panned is n frames of w×h cut from big, each moved by (dx, dy) from the
// one before: a camera panning over a still picture.
func panned(big gocv.Mat, n, w, h, dx, dy int) []gocv.Mat {
	var frames []gocv.Mat
	x0, y0 := 40, 40
	for i := range n {
		r := big.Region(image.Rect(x0-i*dx, y0-i*dy, x0-i*dx+w, y0-i*dy+h))
		frames = append(frames, r.Clone())
		r.Close()
	}
	return frames
}

func closeAll(ms []gocv.Mat) {
	for i := range ms {
		ms[i].Close()
	}
}

func measure(t *testing.T, cfg eval.Config, in, out, ref []gocv.Mat) eval.Result {
	t.Helper()
	ev := eval.New(cfg)
	defer ev.Close()
	for i := range in {
		f := eval.Frame{In: in[i], Out: out[i]}
		if ref != nil {
			f.Ref = &ref[i]
		}
		if err := ev.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	return ev.Result()
}

// A picture that only moves, stylized consistently, has no warping error
// once the flow carries it; without the flow the same frames differ a lot.
func TestKnownShiftIsZeroWithFlowAndLargeWithout(t *testing.T) {
	big := testmedia.Texture(t, 260, 200, 3, 1)
	defer big.Close()
	in := panned(big, 6, 160, 120, 2, 1)
	defer closeAll(in)
	// A "style" that keeps the motion: the colours inverted.
	out := make([]gocv.Mat, len(in))
	for i := range in {
		out[i] = gocv.NewMat()
		gocv.BitwiseNot(in[i], &out[i])
	}
	defer closeAll(out)

	with := measure(t, eval.Config{}, in, out, nil)
	without := measure(t, eval.Config{NoFlow: true}, in, out, nil)
	t.Logf("with flow: E_warp %.6f floor %.6f valid %.2f; without: E_warp %.6f", with.EWarp, with.Floor, with.Valid, without.EWarp)
	if with.Pairs != 5 || with.Frames != 6 {
		t.Errorf("pairs %d frames %d", with.Pairs, with.Frames)
	}
	if with.EWarp > 2e-4 {
		t.Errorf("E_warp with flow %.6f, want ≈ 0", with.EWarp)
	}
	if without.EWarp < 5e-3 || without.EWarp < 50*with.EWarp {
		t.Errorf("E_warp without flow %.6f, want large (with flow %.6f)", without.EWarp, with.EWarp)
	}
	if with.Valid < 0.8 {
		t.Errorf("valid fraction %.2f: the masks drop most of a clean pan", with.Valid)
	}
}

// Flicker (noise that changes every frame) on a still picture shows in the
// warping error and the static-region index, and against the clean output
// as reference the reduction is negative and the deviation is the noise.
func TestFlickerOnAStillPicture(t *testing.T) {
	pic := testmedia.Texture(t, 160, 120, 3, 1)
	defer pic.Close()
	var in, out []gocv.Mat
	rng := rand.New(rand.NewPCG(5, 9))
	for range 5 {
		in = append(in, pic.Clone())
		noise := testmedia.Noise(t, 160, 120, 3, 20, rng)
		o := gocv.NewMat()
		gocv.Add(pic, noise, &o)
		noise.Close()
		out = append(out, o)
	}
	defer closeAll(in)
	defer closeAll(out)
	r := measure(t, eval.Config{}, in, out, in)
	t.Logf("%+v", r)
	if r.Floor > 1e-6 || r.StaticFlickerInput != 0 {
		t.Errorf("a still input has floor %.6f and static flicker %.2f, want 0", r.Floor, r.StaticFlickerInput)
	}
	// Every pixel is still: the index is the plain mean |O_t − O_{t−1}|,
	// and the deviation the mean |O_t − I_t|, worked out here by OpenCV.
	wantStatic, wantDev := 0.0, 0.0
	d := gocv.NewMat()
	defer d.Close()
	for i := range out {
		if i > 0 {
			gocv.AbsDiff(out[i], out[i-1], &d)
			m := d.Mean()
			wantStatic += (m.Val1 + m.Val2 + m.Val3) / 3 / float64(len(out)-1)
			gocv.AbsDiff(out[i], in[i], &d)
			m = d.Mean()
			wantDev += (m.Val1 + m.Val2 + m.Val3) / 3 / float64(len(out)-1)
		}
	}
	if math.Abs(r.StaticFlicker-wantStatic) > 0.05 || wantStatic < 3 {
		t.Errorf("static flicker %.2f levels, want %.2f", r.StaticFlicker, wantStatic)
	}
	if r.EWarp < 1e-3 || r.Reduction > -10 {
		t.Errorf("E_warp %.6f, reduction %.2f vs the clean reference: want a large error, a negative reduction", r.EWarp, r.Reduction)
	}
	if !r.HasRef || math.Abs(r.Deviation-wantDev) > 0.05 {
		t.Errorf("deviation %.2f, want %.2f", r.Deviation, wantDev)
	}
	if r.TextureKept < 1 {
		t.Errorf("noise adds texture: kept %.2f", r.TextureKept)
	}
}

// TestStructureSkipsFlatFrames: an output made from its input (here the
// input with its contrast lowered and a cast) has edges that follow the
// input's, structure ≈ 1, also when the clip opens on black frames, which
// have no edges to follow and are left out (they pulled the mean towards
// 0 before); an unrelated output (another texture) measures near 0.
func TestStructureSkipsFlatFrames(t *testing.T) {
	var in, related, other []gocv.Mat
	for i := range 6 {
		var m gocv.Mat
		if i < 3 {
			m = gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)
		} else {
			m = testmedia.Texture(t, 160, 120, 3, uint64(i))
		}
		in = append(in, m)
		o := gocv.NewMat()
		m.ConvertToWithParams(&o, gocv.MatTypeCV8UC3, 0.6, 40)
		related = append(related, o)
		other = append(other, testmedia.Texture(t, 160, 120, 3, uint64(100+i)))
	}
	defer closeAll(in)
	defer closeAll(related)
	defer closeAll(other)
	if r := measure(t, eval.Config{}, in, related, nil); r.Structure < 0.95 {
		t.Errorf("an output made from the input: structure %.2f, want ≈ 1", r.Structure)
	}
	if r := measure(t, eval.Config{}, in, other, nil); r.Structure > 0.2 {
		t.Errorf("an unrelated output: structure %.2f, want ≈ 0", r.Structure)
	}
}
