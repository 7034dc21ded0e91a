package pipeline_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/pipeline"
)

// img stands in for a Mat: one number, so the test can follow each frame.
type img struct{ v int64 }

func newPools() (*pipeline.Pool[*img], *pipeline.Pool[*img]) {
	mk := func() *img { return &img{v: -1} }
	return pipeline.NewPool(mk, func(*img) {}), pipeline.NewPool(mk, func(*img) {})
}

// counter is a source of n frames whose pixel value is the index.
type counter struct {
	n, next int64
	failAt  int64 // -1: never
}

func (c *counter) Read(dst *img) (pipeline.Timing, error) {
	if c.next == c.failAt {
		return pipeline.Timing{}, errors.New("disk on fire")
	}
	if c.next >= c.n {
		return pipeline.Timing{}, io.EOF
	}
	dst.v = c.next
	t := pipeline.Timing{Index: c.next, PTS: time.Duration(c.next) * time.Second / 30}
	c.next++
	return t, nil
}

// doubler checks that each slot is used in the order prepare → infer →
// finish, computes v*2+1, and records how its calls overlapped.
type doubler struct {
	t      *testing.T
	mu     sync.Mutex
	state  []string
	vals   []int64
	active atomic.Int32
	most   atomic.Int32
	// overlap counts infer calls during which a prepare ran.
	overlap   atomic.Int32
	inInfer   atomic.Bool
	inferGap  chan struct{} // closed to let infer return; nil: return at once
	failInfer int64
	calls     atomic.Int64
	mul, add  int64 // the "style": v*mul + add
}

func newDoubler(t *testing.T) *doubler {
	return &doubler{t: t, state: []string{"free", "free"}, vals: make([]int64, 2), failInfer: -1, mul: 2, add: 1}
}

func (d *doubler) Slots() int { return 2 }

func (d *doubler) enter() {
	n := d.active.Add(1)
	for {
		m := d.most.Load()
		if n <= m || d.most.CompareAndSwap(m, n) {
			break
		}
	}
}

func (d *doubler) leave() { d.active.Add(-1) }

func (d *doubler) step(slot int, from, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state[slot] != from {
		d.t.Errorf("slot %d: %s while %s, want %s", slot, to, d.state[slot], from)
	}
	d.state[slot] = to
}

func (d *doubler) Prepare(slot int, src *img) error {
	d.enter()
	defer d.leave()
	if d.inInfer.Load() {
		d.overlap.Add(1)
	}
	d.step(slot, "free", "prepared")
	d.vals[slot] = src.v
	runtime.Gosched()
	return nil
}

func (d *doubler) Infer(slot int) error {
	d.enter()
	defer d.leave()
	d.inInfer.Store(true)
	defer d.inInfer.Store(false)
	d.step(slot, "prepared", "inferred")
	if d.calls.Add(1)-1 == d.failInfer {
		return errors.New("model exploded")
	}
	d.vals[slot] = d.vals[slot]*d.mul + d.add
	// Give the other stages time to run alongside a "slow model".
	for range 50 {
		runtime.Gosched()
	}
	return nil
}

func (d *doubler) Finish(slot int, dst *img) error {
	d.enter()
	defer d.leave()
	d.step(slot, "inferred", "free")
	dst.v = d.vals[slot]
	return nil
}

// recorder is a sink that keeps what it was given.
type recorder struct {
	got    []pipeline.Timing
	vals   []int64
	failAt int
}

func (r *recorder) Write(f pipeline.Frame[*img]) error {
	if len(r.got) == r.failAt {
		return errors.New("pipe broke")
	}
	r.got = append(r.got, f.Timing)
	r.vals = append(r.vals, f.Image.V.v)
	return nil
}

func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			runtime.Gosched()
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("goroutines: %d before, %d after", before, n)
		}
	})
}

func TestRunOrderedAndLossless(t *testing.T) {
	checkGoroutines(t)
	for _, serial := range []bool{false, true} {
		in, out := newPools()
		src := &counter{n: 300, failAt: -1}
		sty := newDoubler(t)
		sink := &recorder{failAt: -1}
		st, err := pipeline.Run(context.Background(), pipeline.Config{Serial: serial}, src, sty, sink, in, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(sink.got) != 300 {
			t.Fatalf("serial=%v: wrote %d frames, want 300", serial, len(sink.got))
		}
		for i, tm := range sink.got {
			if tm.Index != int64(i) || sink.vals[i] != int64(2*i+1) {
				t.Fatalf("serial=%v: frame %d: index %d value %d, want %d %d", serial, i, tm.Index, sink.vals[i], i, 2*i+1)
			}
		}
		if st.Infer.Count != 300 || st.Write.Count != 300 {
			t.Errorf("stats: %+v", st)
		}
		if serial && sty.most.Load() != 1 {
			t.Errorf("serial: %d calls ran at once, want 1", sty.most.Load())
		}
		if !serial && sty.overlap.Load() == 0 {
			t.Errorf("double-buffered: no prepare ran during an infer")
		}
		in.Close()
		out.Close()
		if in.Live() != 0 || out.Live() != 0 {
			t.Errorf("buffers left: in %d out %d", in.Live(), out.Live())
		}
	}
}

func TestRunGracefulStopFinishesFramesInFlight(t *testing.T) {
	checkGoroutines(t)
	in, out := newPools()
	src := &counter{n: 1000, failAt: -1}
	sink := &recorder{failAt: -1}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := pipeline.Config{OnFrame: func(n int64) {
		if n == 10 {
			cancel()
		}
	}}
	st, err := pipeline.Run(ctx, cfg, src, newDoubler(t), sink, in, out)
	if err != nil {
		t.Fatal(err)
	}
	n := len(sink.got)
	if n < 10 || n >= 1000 {
		t.Fatalf("wrote %d frames after stopping at 10", n)
	}
	if int64(n) != st.Read.Count {
		t.Errorf("read %d frames but wrote %d: frames in flight were lost", st.Read.Count, n)
	}
	for i, tm := range sink.got {
		if tm.Index != int64(i) {
			t.Fatalf("frame %d has index %d", i, tm.Index)
		}
	}
	in.Close()
	out.Close()
	if in.Live() != 0 || out.Live() != 0 {
		t.Errorf("buffers left: in %d out %d", in.Live(), out.Live())
	}
}

func TestRunStopsOnError(t *testing.T) {
	cases := []struct {
		name    string
		srcFail int64
		infFail int64
		sinkAt  int
		want    string
	}{
		{"source", 20, -1, -1, "read frame 20: disk on fire"},
		{"infer", -1, 7, -1, "infer frame 7: model exploded"},
		{"sink", -1, -1, 5, "write frame 5: pipe broke"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkGoroutines(t)
			in, out := newPools()
			sty := newDoubler(t)
			sty.failInfer = c.infFail
			_, err := pipeline.Run(context.Background(), pipeline.Config{}, &counter{n: 100, failAt: c.srcFail}, sty, &recorder{failAt: c.sinkAt}, in, out)
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			in.Close()
			out.Close()
			if in.Live() != 0 || out.Live() != 0 {
				t.Errorf("buffers left: in %d out %d", in.Live(), out.Live())
			}
		})
	}
}

func TestPoolReusesAndRefcounts(t *testing.T) {
	var made, freed int
	p := pipeline.NewPool(func() *img { made++; return &img{} }, func(*img) { freed++ })
	a := p.Get()
	a.Retain()
	a.Release()
	b := p.Get() // a is still held: a new buffer
	a.Release()
	c := p.Get() // a's buffer comes back
	if made != 2 || c.V != a.V {
		t.Fatalf("made %d buffers, reuse %v", made, c.V == a.V)
	}
	b.Release()
	p.Close()
	if freed != 1 || p.Live() != 1 {
		t.Fatalf("after Close: freed %d live %d", freed, p.Live())
	}
	c.Release()
	if freed != 2 || p.Live() != 0 {
		t.Fatalf("after last Release: freed %d live %d", freed, p.Live())
	}
}

func TestRunAllocatesNothingPerFrame(t *testing.T) {
	in, out := newPools()
	defer in.Close()
	defer out.Close()
	run := func(n int64) {
		if _, err := pipeline.Run(context.Background(), pipeline.Config{}, &counter{n: n, failAt: -1}, newDoubler(t), &recorder{failAt: -1, got: make([]pipeline.Timing, 0, 4096), vals: make([]int64, 0, 4096)}, in, out); err != nil {
			t.Fatal(err)
		}
	}
	small := testing.AllocsPerRun(5, func() { run(10) })
	large := testing.AllocsPerRun(5, func() { run(2010) })
	if perFrame := (large - small) / 2000; perFrame > 0.01 {
		t.Errorf("%.3f allocations per frame (%v for 10 frames, %v for 2010)", perFrame, small, large)
	}
}

// slowSink takes its time over each frame and counts what it wrote.
type slowSink struct{ written atomic.Int64 }

func (s *slowSink) Write(f pipeline.Frame[*img]) error {
	for range 200 {
		runtime.Gosched()
	}
	s.written.Add(1)
	return nil
}

// watchedCounter is a counter that records, at each read, how many frames
// were read but not yet written.
type watchedCounter struct {
	counter
	sink *slowSink
	most int64
}

func (c *watchedCounter) Read(dst *img) (pipeline.Timing, error) {
	if inFlight := c.next - c.sink.written.Load(); inFlight > c.most {
		c.most = inFlight
	}
	return c.counter.Read(dst)
}

// TestRunKeepsAtMostNFramesInFlight: with a sink slower than the source,
// backpressure holds the frames in flight, and the buffers made, to a
// bound set by the queue length, not by the length of the video.
func TestRunKeepsAtMostNFramesInFlight(t *testing.T) {
	checkGoroutines(t)
	const queue, slots, frames = 3, 2, 1000
	var madeIn, madeOut atomic.Int64
	in := pipeline.NewPool(func() *img { madeIn.Add(1); return &img{} }, func(*img) {})
	out := pipeline.NewPool(func() *img { madeOut.Add(1); return &img{} }, func(*img) {})
	defer in.Close()
	defer out.Close()
	sink := &slowSink{}
	src := &watchedCounter{counter: counter{n: frames, failAt: -1}, sink: sink}
	if _, err := pipeline.Run(context.Background(), pipeline.Config{Queue: queue}, src, newDoubler(t), sink, in, out); err != nil {
		t.Fatal(err)
	}
	if sink.written.Load() != frames {
		t.Fatalf("wrote %d of %d frames", sink.written.Load(), frames)
	}
	// In flight at most: the read queue and the frame being read, the
	// slots, the write queue, the frame being finished and the one being
	// written.
	const bound = (queue + 1) + slots + (queue + 2)
	t.Logf("at most %d frames in flight (bound %d); buffers made: %d in, %d out", src.most, bound, madeIn.Load(), madeOut.Load())
	if src.most > bound {
		t.Errorf("%d frames in flight, bound %d", src.most, bound)
	}
	if src.most < queue {
		t.Errorf("only %d frames in flight: the source never ran ahead of the slow sink, so the bound was not tested", src.most)
	}
	if madeIn.Load() > queue+2 || madeOut.Load() > queue+2 {
		t.Errorf("buffers made: %d in, %d out; want at most %d each", madeIn.Load(), madeOut.Load(), queue+2)
	}
}
