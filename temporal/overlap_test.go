package temporal_test

import (
	"image"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/stylize"
	"github.com/vidstyle/vidstyle/temporal"
)

// sharedModel is a pretrained model from ../shared/models, or skips.
func sharedModel(t testing.TB, name string) stylize.Model {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", name+".onnx"))
	if err != nil {
		t.Skipf("pretrained model %s not present (%v): skipping", name, err)
	}
	return stylize.Model{Name: name, ONNX: data}
}

// clipFrames is the first n frames of small.mp4 at fw×fh.
func clipFrames(t testing.TB, n, fw, fh int) []gocv.Mat {
	t.Helper()
	all := testmedia.DecodeAll(t, testmedia.SmallMP4(t)) // closed at the test's end
	var out []gocv.Mat
	for i := range n {
		m := gocv.NewMat()
		gocv.Resize(all[i], &m, image.Pt(fw, fh), 0, 0, gocv.InterpolationArea)
		out = append(out, m)
	}
	t.Cleanup(func() { closeAll(out) })
	return out
}

type flowEvent struct {
	ev   temporal.FlowEvent
	slot int
}

// TestFlowRunsBesideInference: inside a real Stylizer (udnie on small.mp4
// frames), taken one frame at a time as the live paint loop does
// (Prepare, Infer, Finish), the flow of frame t is held at its start
// until the test lets it go. Prepare and the whole inference of frame t
// must complete while it is held (so neither waits for the flow), Finish
// must wait for it, and the result must be the same pixels as the net's
// output stabilised with the flow computed inline, on the caller's
// goroutine.
func TestFlowRunsBesideInference(t *testing.T) {
	const fw, fh, n = 96, 64, 4
	m := sharedModel(t, "udnie")
	frames := clipFrames(t, n, fw, fh)
	st, err := stylize.New(testRT, m, stylize.Config{FrameWidth: fw, FrameHeight: fh, Device: stylize.DeviceCPU, Temporal: temporal.DefaultBlend})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan flowEvent, 8)
	releases := make(chan chan struct{}, n) // one per frame, given before its Prepare
	abort := make(chan struct{})            // a failed test lets every flow go
	temporal.OnFlow(st.Temporal(), func(ev temporal.FlowEvent, slot int) {
		events <- flowEvent{ev, slot}
		if ev == temporal.FlowStart { // held until the test lets this frame's flow go
			select {
			case r := <-releases:
				select {
				case <-r:
				case <-abort:
				}
			case <-abort:
			}
		}
	})
	defer st.Close()
	letGo := sync.OnceFunc(func() { close(abort) })
	defer letGo() // before Close, which waits for the flow

	// The reference: the same net per frame, then the stabiliser inline.
	per, err := stylize.New(testRT, m, stylize.Config{FrameWidth: fw, FrameHeight: fh, Device: stylize.DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer per.Close()
	ref, err := temporal.New(temporal.Config{Width: fw, Height: fh, Slots: stylize.NumSlots, Inline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, got := gocv.NewMat(), gocv.NewMat()
	defer want.Close()
	defer got.Close()

	const wait = 60 * time.Second // only a failure's bound: every step below waits on an event
	next := func(what string) flowEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(wait):
			t.Fatalf("no flow event while waiting for %s", what)
			return flowEvent{}
		}
	}
	for i, f := range frames {
		if err := stylizeOne(per, 0, &f, &want); err != nil {
			t.Fatal(err)
		}
		if err := ref.Input(0, frames[i]); err != nil {
			t.Fatal(err)
		}
		if err := ref.Output(0, &want); err != nil {
			t.Fatal(err)
		}

		release := make(chan struct{})
		releases <- release
		prepared := make(chan error, 1)
		go func() { prepared <- st.Prepare(0, &frames[i]) }()
		select {
		case err := <-prepared:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			letGo()
			<-prepared // before st.Close
			t.Fatalf("frame %d: Prepare did not return while the flow was held: it waits for the flow", i)
		}
		if i == 0 { // the first frame has nothing to carry: no flow
			<-releases
			if err := st.Infer(0); err != nil {
				t.Fatal(err)
			}
			if err := st.Finish(0, &got); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-events:
				t.Fatalf("frame 0: flow event %v: the first frame has no frame before it", e)
			default:
			}
		} else {
			if e := next("the flow's start"); e != (flowEvent{temporal.FlowStart, 0}) {
				t.Fatalf("frame %d: event %v, want the flow of slot 0 starting", i, e)
			}
			// The flow is held: the inference must run to its end.
			if err := st.Infer(0); err != nil {
				t.Fatal(err)
			}
			finished := make(chan error, 1)
			go func() { finished <- st.Finish(0, &got) }()
			select {
			case e := <-events:
				if e != (flowEvent{temporal.OutputWaits, 0}) {
					letGo()
					<-finished
					t.Fatalf("frame %d: event %v, want Finish waiting for the flow", i, e)
				}
			case err := <-finished:
				t.Fatalf("frame %d: Finish returned (%v) while the flow was held: it did not wait for it", i, err)
			case <-time.After(wait):
				letGo()
				<-finished
				t.Fatalf("frame %d: Finish neither waited nor returned", i)
			}
			close(release)
			if e := next("the flow's end"); e != (flowEvent{temporal.FlowDone, 0}) {
				t.Fatalf("frame %d: event %v, want the flow done", i, e)
			}
			if err := <-finished; err != nil {
				t.Fatal(err)
			}
		}
		d := gocv.NewMat()
		gocv.AbsDiff(got, want, &d)
		mean := d.Mean()
		d.Close()
		if s := mean.Val1 + mean.Val2 + mean.Val3; s != 0 {
			t.Errorf("frame %d: mean |Δ| %.3f levels from the net's output stabilised inline", i, s/3)
		}
	}
	if fr := st.Temporal().Fresh(); fr != 1 {
		t.Errorf("%d fresh frames on one shot, want 1", fr)
	}
}

// stylizeOne runs frame through slot of s into out.
func stylizeOne(s *stylize.Stylizer, slot int, frame, out *gocv.Mat) error {
	if err := s.Prepare(slot, frame); err != nil {
		return err
	}
	if err := s.Infer(slot); err != nil {
		return err
	}
	return s.Finish(slot, out)
}

// BenchmarkLiveFrame is the live paint loop's time per frame (Prepare,
// Infer, Finish one after another, what the HUD calls the model's time)
// with udnie on small.mp4 frames: without the stabiliser, with it and the
// flow computed inline (before this change), and with the flow beside the
// inference (now). Each iteration paints one frame each way, in turn, so
// the machine's load weighs on the three alike; reported are the median
// wall time of each way and its mean CPU time (the process's, both cores
// counted: the flow's goroutine is done within the frame, as Finish waits
// for it).
func BenchmarkLiveFrame(b *testing.B) {
	m := sharedModel(b, "udnie")
	for _, sz := range []image.Point{{320, 240}, {640, 360}} {
		b.Run(sz.String(), func(b *testing.B) {
			frames := clipFrames(b, 30, sz.X, sz.Y)
			st, err := stylize.New(testRT, m, stylize.Config{FrameWidth: sz.X, FrameHeight: sz.Y, Device: stylize.DeviceCPU})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var stabs [2]*temporal.Stabilizer // inline, beside
			for k := range stabs {
				if stabs[k], err = temporal.New(temporal.Config{Width: sz.X, Height: sz.Y, Slots: stylize.NumSlots, Inline: k == 0}); err != nil {
					b.Fatal(err)
				}
				defer stabs[k].Close()
			}
			out := gocv.NewMat()
			defer out.Close()
			var cpu [3]time.Duration
			paint := func(k int, stab *temporal.Stabilizer, slot int, f *gocv.Mat) time.Duration {
				t0, c0 := time.Now(), cpuTime()
				defer func() { cpu[k] += cpuTime() - c0 }()
				if err := st.Prepare(slot, f); err != nil {
					b.Fatal(err)
				}
				if stab != nil {
					if err := stab.Input(slot, *f); err != nil {
						b.Fatal(err)
					}
				}
				if err := st.Infer(slot); err != nil {
					b.Fatal(err)
				}
				if err := st.Finish(slot, &out); err != nil {
					b.Fatal(err)
				}
				if stab != nil {
					if err := stab.Output(slot, &out); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(t0)
			}
			var off, inline, beside []time.Duration
			i := 0
			for b.Loop() {
				k := i % (2*len(frames) - 2) // back and forth: no cut at a wrap
				if k >= len(frames) {
					k = 2*len(frames) - 2 - k
				}
				f := &frames[k]
				off = append(off, paint(0, nil, 0, f))
				inline = append(inline, paint(1, stabs[0], 0, f))
				beside = append(beside, paint(2, stabs[1], 1, f))
				i++
			}
			med := func(d []time.Duration) float64 {
				s := slices.Clone(d)
				slices.Sort(s)
				return float64(s[len(s)/2].Microseconds()) / 1e3
			}
			b.ReportMetric(med(off), "off-ms")
			b.ReportMetric(med(inline), "inline-ms")
			b.ReportMetric(med(beside), "beside-ms")
			for k, name := range []string{"off", "inline", "beside"} {
				b.ReportMetric(float64(cpu[k].Microseconds())/1e3/float64(i), name+"-cpu-ms")
			}
		})
	}
}
