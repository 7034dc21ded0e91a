package temporal_test

import (
	"cmp"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/eval"
	"github.com/vidstyle/vidstyle/flow"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/temporal"
)

const w, h = 160, 120

// pan cuts n frames of w×h from big, each moved 2 px right and 1 down.
func pan(big gocv.Mat, n int) []gocv.Mat {
	var frames []gocv.Mat
	for i := range n {
		r := big.Region(image.Rect(40-2*i, 40-i, 40-2*i+w, 40-i+h))
		frames = append(frames, r.Clone())
		r.Close()
	}
	return frames
}

// flicker is a stand-in for a per-frame net: the frame plus noise that
// changes every frame (r's next draws).
func flicker(tb testing.TB, in gocv.Mat, r *rand.Rand) gocv.Mat {
	noise := testmedia.Noise(tb, in.Cols(), in.Rows(), 3, 24, r)
	defer noise.Close()
	out := gocv.NewMat()
	gocv.Add(in, noise, &out)
	return out
}

func closeAll(ms []gocv.Mat) {
	for i := range ms {
		ms[i].Close()
	}
}

// flickered is each input frame as a flickering net would paint it, and
// a copy of each to compare with after stabilisation; closed at the
// test's end.
func flickered(t *testing.T, in []gocv.Mat) (styled, kept []gocv.Mat) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(in)), 9))
	for i := range in {
		styled = append(styled, flicker(t, in[i], r))
		kept = append(kept, styled[i].Clone())
	}
	t.Cleanup(func() { closeAll(styled); closeAll(kept) })
	return styled, kept
}

// newStabilizer is a two-slot stabiliser at w×h, closed at the test's end.
func newStabilizer(t *testing.T) *temporal.Stabilizer {
	t.Helper()
	s, err := temporal.New(temporal.Config{Width: w, Height: h, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sameMat reports whether two BGR frames are equal in every pixel.
func sameMat(a, b gocv.Mat) bool {
	d := gocv.NewMat()
	defer d.Close()
	gocv.AbsDiff(a, b, &d)
	g := gocv.NewMat()
	defer g.Close()
	gocv.CvtColor(d, &g, gocv.ColorBGRToGray)
	return gocv.CountNonZero(g) == 0
}

// run stabilizes styled (the net's outputs for in) in place, in order,
// the way the pipeline does with two slots.
func run(t *testing.T, s *temporal.Stabilizer, in, styled []gocv.Mat) {
	t.Helper()
	for i := range in {
		if err := s.Input(i%2, in[i]); err != nil {
			t.Fatal(err)
		}
		if err := s.Output(i%2, &styled[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func judge(t *testing.T, in, out []gocv.Mat) eval.Result {
	t.Helper()
	ev := eval.New(eval.Config{})
	defer ev.Close()
	for i := range in {
		if err := ev.Add(eval.Frame{In: in[i], Out: out[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return ev.Result()
}

// Flicker on a pan is mostly taken out, judged by the metric's own
// (Farneback) flow, and the picture stays close to the net's.
func TestStabilizerLowersFlickerOnAPan(t *testing.T) {
	big := testmedia.Texture(t, 300, 220, 3, 1)
	defer big.Close()
	in := pan(big, 10)
	defer closeAll(in)
	on, off := flickered(t, in)
	s := newStabilizer(t)
	run(t, s, in, on)
	a, b := judge(t, in, off), judge(t, in, on)
	t.Logf("E_warp off %.6f on %.6f (floor %.6f), valid %.2f", a.EWarp, b.EWarp, a.Floor, b.Valid)
	if b.EWarp > 0.5*a.EWarp {
		t.Errorf("E_warp %.6f with the stabiliser, %.6f without: want at least halved", b.EWarp, a.EWarp)
	}
	if s.Fresh() != 1 || s.Cuts() != 0 {
		t.Errorf("fresh %d cuts %d on one shot, want 1 and 0", s.Fresh(), s.Cuts())
	}
}

// A cut (another picture) and a Reset start afresh: that frame is the
// net's own, with nothing of the frames before.
// A cut between flat pictures and a flash are cuts too: their flow is a
// perfect zero, which the flow check takes as valid everywhere, but the
// brightness says otherwise. Red to blue shows blue at once, and each
// frame of a white flash over black is the net's own, not a blend that
// brightens over half a second; a slow fade is no cut.
func TestStabilizerStartsAfreshAtFlatCutsAndFlashes(t *testing.T) {
	flat := func(b, g, r float64, n int) []gocv.Mat {
		var out []gocv.Mat
		for range n {
			out = append(out, gocv.NewMatWithSizeFromScalar(gocv.NewScalar(b, g, r, 0), h, w, gocv.MatTypeCV8UC3))
		}
		return out
	}
	for _, c := range []struct {
		name  string
		in    []gocv.Mat
		fresh []int // the frames that must be the net's own
		cuts  int64
	}{
		{"red to blue", append(flat(0, 0, 230, 5), flat(230, 0, 0, 5)...), []int{0, 5}, 1},
		{"a white flash over black", append(append(flat(10, 10, 10, 4), flat(245, 245, 245, 3)...), flat(10, 10, 10, 3)...), []int{0, 4, 7}, 2},
	} {
		defer closeAll(c.in)
		styled, want := flickered(t, c.in)
		s := newStabilizer(t)
		run(t, s, c.in, styled)
		if s.Cuts() != c.cuts {
			t.Errorf("%s: %d cuts, want %d", c.name, s.Cuts(), c.cuts)
		}
		for _, i := range c.fresh {
			if !sameMat(styled[i], want[i]) {
				t.Errorf("%s: frame %d carries something of the frame before", c.name, i)
			}
		}
		if sameMat(styled[1], want[1]) {
			t.Errorf("%s: frame 1 was not stabilised", c.name)
		}
	}
	// A fade to black over 10 frames (about 12 levels a frame): no cut.
	var fade []gocv.Mat
	for i := range 10 {
		v := 128 - 12*float64(i)
		fade = append(fade, gocv.NewMatWithSizeFromScalar(gocv.NewScalar(v, v, v, 0), h, w, gocv.MatTypeCV8UC3))
	}
	defer closeAll(fade)
	styled, _ := flickered(t, fade)
	s := newStabilizer(t)
	run(t, s, fade, styled)
	if s.Cuts() != 0 {
		t.Errorf("a fade: %d cuts, want none", s.Cuts())
	}
}

func TestStabilizerStartsAfreshAtACutAndAfterReset(t *testing.T) {
	a, b := testmedia.Texture(t, 300, 220, 3, 2), testmedia.Texture(t, 300, 220, 3, 3)
	defer a.Close()
	defer b.Close()
	in := append(pan(a, 5), pan(b, 5)...)
	defer closeAll(in)
	styled, want := flickered(t, in)
	s := newStabilizer(t)
	run(t, s, in, styled)
	if s.Cuts() != 1 || s.Fresh() != 2 {
		t.Errorf("cuts %d fresh %d, want one cut", s.Cuts(), s.Fresh())
	}
	same := func(i int) bool { return sameMat(styled[i], want[i]) }
	if !same(5) {
		t.Error("the first frame after the cut carries something of the frames before")
	}
	if same(4) || same(6) {
		t.Error("the frames either side of the cut were not stabilised")
	}

	// Reset: the next frame is the net's own even within one shot.
	frame := flicker(t, in[0], rand.New(rand.NewPCG(10, 9)))
	defer frame.Close()
	keep := frame.Clone()
	defer keep.Close()
	s.Reset()
	if err := s.Input(0, in[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Output(0, &frame); err != nil {
		t.Fatal(err)
	}
	d := gocv.NewMat()
	defer d.Close()
	gocv.AbsDiff(frame, keep, &d)
	if m := d.Mean(); m.Val1+m.Val2+m.Val3 != 0 {
		t.Error("the frame after Reset carries something of the frames before")
	}
}

func TestStabilizerAllocatesNothingPerFrame(t *testing.T) {
	big := testmedia.Texture(t, 300, 220, 3, 4)
	defer big.Close()
	in := pan(big, 2)
	defer closeAll(in)
	out := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer out.Close()
	for _, workers := range []int{1, 4} {
		s, err := temporal.New(temporal.Config{Width: w, Height: h, Slots: 2, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		if n := testing.AllocsPerRun(10, func() {
			if err := s.Input(i%2, in[i%2]); err != nil {
				t.Fatal(err)
			}
			in[i%2].CopyTo(&out)
			if err := s.Output(i%2, &out); err != nil {
				t.Fatal(err)
			}
			i++
		}); n != 0 {
			t.Errorf("%d workers: %.1f allocations per frame", workers, n)
		}
		s.Close()
	}
}

// As the pipeline runs it: Input on one goroutine, Output on another, two
// slots handed between them, so that a flow and an Output share the pool
// at once. The frames equal those of one goroutine doing everything in
// turn. (The race detector does not see OpenCV's memory: this is what
// checks that no band writes another's rows.)
func TestStabilizerPipelinedMatchesSequential(t *testing.T) {
	const fw, fh = 176, 100
	in := smallFrames(t, 16, fw, fh)
	seq, err := temporal.New(temporal.Config{Width: fw, Height: fh, Slots: 2, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := flickered(t, in)
	run(t, seq, in, want)
	seq.Close()
	for _, inline := range []bool{false, true} {
		s, err := temporal.New(temporal.Config{Width: fw, Height: fh, Slots: 2, Workers: 5, Inline: inline})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := flickered(t, in)
		// A slot goes back to Input only once Output is done with it.
		free, taken := make(chan struct{}, 2), make(chan int, 2)
		free <- struct{}{}
		free <- struct{}{}
		errs := make(chan error, 1)
		go func() {
			defer close(taken)
			for i := range in {
				<-free
				if err := s.Input(i%2, in[i]); err != nil {
					errs <- err
					return
				}
				taken <- i
			}
		}()
		for i := range taken {
			if err := s.Output(i%2, &got[i]); err != nil {
				t.Fatal(err)
			}
			free <- struct{}{}
		}
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		s.Close()
		for i := range in {
			if !sameMat(got[i], want[i]) {
				t.Errorf("inline %v, frame %d: the pipelined frame differs from the sequential one", inline, i)
			}
		}
	}
}

// The bands of a frame may run on several goroutines: on a real clip
// (people walking: moving and still pixels, the budget at work) the frames
// come out the same to the bit with one goroutine or several, at a height
// that leaves a short last band.
func TestStabilizerWorkersGiveTheSameFrames(t *testing.T) {
	const fw, fh = 176, 100 // 3 bands of 32 rows and one of 4
	in := smallFrames(t, 12, fw, fh)
	for _, plain := range []bool{false, true} {
		var outs [][]gocv.Mat
		var net []gocv.Mat // the frames as the net painted them
		for _, workers := range []int{1, 3, 8} {
			s, err := temporal.New(temporal.Config{Width: fw, Height: fh, Slots: 2, Workers: workers, Plain: plain})
			if err != nil {
				t.Fatal(err)
			}
			styled, kept := flickered(t, in)
			run(t, s, in, styled)
			s.Close()
			outs, net = append(outs, styled), kept
		}
		changed := 0
		for i := range in {
			if !sameMat(outs[0][i], net[i]) {
				changed++
			}
			for k := 1; k < len(outs); k++ {
				if !sameMat(outs[0][i], outs[k][i]) {
					t.Errorf("plain %v, frame %d: %d goroutines' frame differs from one goroutine's", plain, i, []int{1, 3, 8}[k])
				}
			}
		}
		if changed < len(in)-1 { // all but the first, which starts afresh
			t.Fatalf("plain %v: only %d of %d frames differ from the net's: nothing was stabilised", plain, changed, len(in))
		}
	}
}

func TestStabilizerRefusesBadFramesAndSettings(t *testing.T) {
	if _, err := temporal.New(temporal.Config{Width: w, Height: h, Slots: 2, Blend: 1}); err == nil {
		t.Error("blend 1 accepted: the picture would never change")
	}
	for _, cfg := range []temporal.Config{{Budget: -1}, {Budget: math.Inf(1)}, {Scale: -2}, {Scale: math.NaN()}} {
		cfg.Width, cfg.Height, cfg.Slots = w, h, 2
		if _, err := temporal.New(cfg); err == nil {
			t.Errorf("budget %v, scale %v accepted", cfg.Budget, cfg.Scale)
		}
	}
	if _, err := temporal.New(temporal.Config{Width: 1, Height: h, Slots: 2}); !errors.Is(err, temporal.ErrFrame) {
		t.Errorf("1 px wide: %v", err)
	}
	s, err := temporal.New(temporal.Config{Width: w, Height: h, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	small := gocv.NewMatWithSize(h/2, w, gocv.MatTypeCV8UC3)
	defer small.Close()
	if err := s.Input(0, small); !errors.Is(err, temporal.ErrFrame) {
		t.Errorf("Input of a wrong size: %v", err)
	}
	if err := s.Output(0, &small); !errors.Is(err, temporal.ErrFrame) {
		t.Errorf("Output of a wrong size: %v", err)
	}
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer frame.Close()
	if err := s.Output(1, &frame); !errors.Is(err, temporal.ErrFrame) { // would wait for ever for a flow
		t.Errorf("Output of a slot given no input: %v", err)
	}
	s.Close()
	s.Close()
	if err := s.Input(0, frame); !errors.Is(err, temporal.ErrClosed) {
		t.Errorf("Input after Close: %v", err)
	}
}

// BenchmarkStabilizer is the stabiliser's cost per frame (flow both ways,
// mask, warp, blend, detail and budget) at the processing sizes of
// BENCHMARKS.md, with the default settings, the plain blend (no detail
// step, no budget), DIS medium, and everything on one goroutine (the
// default shares the bands and the two flows among half the CPUs).
func BenchmarkStabilizer(b *testing.B) {
	configs := []struct {
		name string
		cfg  temporal.Config
	}{
		{"default", temporal.Config{}},
		{"plain", temporal.Config{Plain: true}},
		{"medium", temporal.Config{Preset: flow.PresetMedium}},
		{"one-goroutine", temporal.Config{Workers: 1}},
	}
	for _, sz := range []image.Point{{320, 240}, {640, 360}, {1280, 720}} {
		for _, c := range configs {
			b.Run(sz.String()+"/"+c.name, func(b *testing.B) {
				big := testmedia.Texture(b, sz.X+80, sz.Y+80, 3, 5)
				defer big.Close()
				var in [2]gocv.Mat
				for i := range in {
					r := big.Region(image.Rect(40-2*i, 40-i, 40-2*i+sz.X, 40-i+sz.Y))
					in[i] = r.Clone()
					r.Close()
					defer in[i].Close()
				}
				out := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3)
				defer out.Close()
				cfg := c.cfg
				cfg.Width, cfg.Height, cfg.Slots = sz.X, sz.Y, 2
				s, err := temporal.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				b.ReportAllocs()
				i := 0
				cpu0 := cpuTime()
				for b.Loop() {
					if err := s.Input(i%2, in[i%2]); err != nil {
						b.Fatal(err)
					}
					in[i%2].CopyTo(&out)
					if err := s.Output(i%2, &out); err != nil {
						b.Fatal(err)
					}
					i++
				}
				// CPU time, both cores counted: less swayed by a loaded
				// machine than wall time.
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(i), "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestStabilizerCarriesOnlyTheFrameBefore: when a frame's Output never
// comes (its inference failed), the next frame's flow leads from that
// frame, not from the last output, so the next output is the net's own;
// the one after it is stabilised again.
func TestStabilizerCarriesOnlyTheFrameBefore(t *testing.T) {
	big := testmedia.Texture(t, 300, 220, 3, 6)
	defer big.Close()
	in := pan(big, 4)
	defer closeAll(in)
	styled, want := flickered(t, in)
	s := newStabilizer(t)
	step := func(i int, output bool) {
		t.Helper()
		if err := s.Input(i%2, in[i]); err != nil {
			t.Fatal(err)
		}
		if output {
			if err := s.Output(i%2, &styled[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	step(0, true)
	step(1, false) // frame 1's inference "failed": no Output
	step(2, true)
	step(3, true)
	same := func(i int) bool { return sameMat(styled[i], want[i]) }
	if !same(2) {
		t.Error("frame 2 carries frame 0's output along the flow from frame 1")
	}
	if same(3) {
		t.Error("frame 3 was not stabilised with frame 2's output")
	}
}

// TestStabilizerKeepsMovingPixelsWithinTheBudget: on a pan every pixel
// moves, and heavy flicker would make the blend move the picture far from
// the net's; each frame stays within the budget on average, where the
// plain blend does not. On a still picture the budget does not apply:
// the blend is stronger there and takes out nearly all of the flicker.
func TestStabilizerKeepsMovingPixelsWithinTheBudget(t *testing.T) {
	big := testmedia.Texture(t, 300, 220, 3, 7)
	defer big.Close()
	in := pan(big, 8)
	defer closeAll(in)
	for _, c := range []struct {
		name string
		cfg  temporal.Config
	}{
		{"default", temporal.Config{}},
		{"budget 1.5", temporal.Config{Budget: 1.5}},
		{"plain", temporal.Config{Plain: true}},
		// Processed at 10 times the size shown, the pan moves by 0.22
		// shown pixels per frame: still, so the budget does not apply.
		{"scale 0.1", temporal.Config{Scale: 0.1}},
	} {
		styled, net := flickered(t, in)
		cfg := c.cfg
		cfg.Width, cfg.Height, cfg.Slots = w, h, 2
		s, err := temporal.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run(t, s, in, styled)
		s.Close()
		budget := cmp.Or(cfg.Budget, temporal.DefaultBudget)
		var worst float64
		for i := 1; i < len(in); i++ {
			worst = max(worst, testmedia.MeanAbsDiff(styled[i], net[i]))
		}
		t.Logf("%s: the frames' mean |O − S| is at most %.2f levels", c.name, worst)
		switch still := cfg.Scale == 0.1; {
		case (cfg.Plain || still) && worst < budget+1:
			t.Errorf("%s: %.2f levels: the budget applied, or the flicker is too weak to test it with", c.name, worst)
		case cfg.Plain || still:
		case !cfg.Plain && (worst > budget+0.35 || worst < budget-0.5):
			t.Errorf("%s: a frame deviates by %.2f levels on average, want the budget, %.2f", c.name, worst, budget)
		}
	}

	still := make([]gocv.Mat, 8)
	for i := range still {
		still[i] = in[0].Clone()
	}
	defer closeAll(still)
	styled, net := flickered(t, still)
	run(t, newStabilizer(t), still, styled)
	off, on := judge(t, still, net), judge(t, still, styled)
	dev := testmedia.MeanAbsDiff(styled[len(still)-1], net[len(still)-1])
	t.Logf("still: E_warp off %.6f on %.6f, the last frame's mean |O − S| %.2f", off.EWarp, on.EWarp, dev)
	if on.EWarp > 0.2*off.EWarp {
		t.Errorf("still: E_warp %.6f with the stabiliser, %.6f without: want 80 %% less", on.EWarp, off.EWarp)
	}
	if dev <= temporal.DefaultBudget {
		t.Errorf("still: the last frame deviates by %.2f levels: the budget limited still pixels", dev)
	}
}

// TestStabilizerRestoresTheDetail: a net whose strokes do not line up
// from frame to frame (each frame painted with a sharp texture moved by
// up to ±0.6 px at random) loses detail in a blend; the default
// stabiliser brings its detail energy back near the net's, the plain
// blend does not.
func TestStabilizerRestoresTheDetail(t *testing.T) {
	big := testmedia.Texture(t, 300, 220, 3, 8)
	defer big.Close()
	in := pan(big, 10)
	defer closeAll(in)
	grain := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer grain.Close()
	gocv.RandU(&grain, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(64, 64, 64, 0))
	rng := rand.New(rand.NewPCG(1, 2))
	paint := func() []gocv.Mat {
		var out []gocv.Mat
		for i := range in {
			m := gocv.NewMat()
			jitter := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
			dx, dy := 1.2*rng.Float64()-0.6, 1.2*rng.Float64()-0.6
			for j, v := range []float64{1, 0, dx, 0, 1, dy} {
				jitter.SetDoubleAt(j/3, j%3, v)
			}
			g := gocv.NewMat()
			gocv.WarpAffineWithParams(grain, &g, jitter, image.Pt(w, h), gocv.InterpolationLinear, gocv.BorderReflect101, color.RGBA{})
			gocv.AddWeighted(in[i], 0.75, g, 1, 0, &m)
			g.Close()
			jitter.Close()
			out = append(out, m)
		}
		t.Cleanup(func() { closeAll(out) })
		return out
	}
	kept := map[bool]float64{}
	for _, plain := range []bool{false, true} {
		net := paint()
		styled := make([]gocv.Mat, len(net))
		for i := range net {
			styled[i] = net[i].Clone()
		}
		defer closeAll(styled)
		s, err := temporal.New(temporal.Config{Width: w, Height: h, Slots: 2, Plain: plain})
		if err != nil {
			t.Fatal(err)
		}
		run(t, s, in, styled)
		s.Close()
		ev := eval.New(eval.Config{})
		for i := range in {
			if err := ev.Add(eval.Frame{In: in[i], Out: styled[i], Ref: &net[i]}); err != nil {
				t.Fatal(err)
			}
		}
		r := ev.Result()
		ev.Close()
		kept[plain] = r.TextureKept
		t.Logf("plain %v: texture kept %.2f, E_warp %+.0f %%", plain, r.TextureKept, -100*r.Reduction)
	}
	if kept[false] < 0.9 || kept[false] < kept[true]+0.1 {
		t.Errorf("texture kept %.2f by default, %.2f by the plain blend: want at least 0.9 and 0.1 more", kept[false], kept[true])
	}
}

// smallFrames is the first n frames of small.mp4 (people walking) at w×h,
// closed at the test's end.
func smallFrames(t *testing.T, n, w, h int) []gocv.Mat {
	t.Helper()
	src := testmedia.DecodeAll(t, testmedia.SmallMP4(t))
	var in []gocv.Mat
	for _, f := range src[:n] {
		m := gocv.NewMat()
		gocv.Resize(f, &m, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		in = append(in, m)
	}
	t.Cleanup(func() { closeAll(in) })
	return in
}
