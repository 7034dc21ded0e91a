package pipeline_test

import (
	"context"
	"testing"

	"github.com/vidstyle/vidstyle/pipeline"
)

func TestSwapChangesStyleBetweenFrames(t *testing.T) {
	checkGoroutines(t)
	for _, serial := range []bool{false, true} {
		in, out := newPools()
		a, b, c := newDoubler(t), newDoubler(t), newDoubler(t)
		b.mul, b.add = 3, 0
		c.mul, c.add = 5, 0
		released := map[string]int{}
		swap := pipeline.NewSwap[*img](a, "a", func() { released["a"]++ })
		var firstB int64 = -1
		swap.OnFirstFrame(func(name string) {
			if name == "b" {
				firstB = 1
			}
		})
		sink := &recorder{failAt: -1}
		cfg := pipeline.Config{Serial: serial, OnFrame: func(n int64) {
			switch n {
			case 100:
				swap.Set(b, "b", func() { released["b"]++ })
			case 200: // two switches at once: c never prepares a frame
				swap.Set(c, "c", func() { released["c"]++ })
				swap.Set(b, "b2", func() { released["b2"]++ })
			}
		}}
		if _, err := pipeline.Run(context.Background(), cfg, &counter{n: 300, failAt: -1}, swap, sink, in, out); err != nil {
			t.Fatal(err)
		}
		swap.Close()
		if len(sink.vals) != 300 {
			t.Fatalf("%d frames", len(sink.vals))
		}
		// One k: before it every frame is a's, from it on b's.
		k := 0
		for k < 300 && sink.vals[k] == int64(2*k+1) {
			k++
		}
		if k < 100 || k > 110 {
			t.Fatalf("serial=%v: switch took effect at frame %d, requested after 100 were written", serial, k)
		}
		for i := k; i < 300; i++ {
			if sink.vals[i] != int64(3*i) {
				t.Fatalf("serial=%v: frame %d = %d: neither a's nor b's (k=%d)", serial, i, sink.vals[i], k)
			}
		}
		if released["a"] != 1 || released["b"] != 1 || released["c"] != 1 || released["b2"] != 1 || firstB != 1 {
			t.Errorf("serial=%v: released %v, first-frame callback %v", serial, released, firstB)
		}
		in.Close()
		out.Close()
	}
}
