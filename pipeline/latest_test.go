package pipeline_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/pipeline"
)

func TestLatestKeepsTheNewestFrame(t *testing.T) {
	in, _ := newPools()
	l := pipeline.NewLatest[*img]()
	put := func(v int64) {
		r := in.Get()
		r.V.v = v
		l.Put(pipeline.Frame[*img]{Timing: pipeline.Timing{Index: v}, Image: r})
	}
	if _, ok := l.TryTake(); ok {
		t.Fatal("empty mailbox gave a frame")
	}
	put(1)
	put(2)
	put(3)
	<-l.Ready()
	f, ok := l.TryTake()
	if !ok || f.Index != 3 || f.Image.V.v != 3 || l.Dropped() != 2 {
		t.Fatalf("took %+v %v, dropped %d", f.Timing, ok, l.Dropped())
	}
	f.Image.Release()
	put(4)
	l.Close()
	put(5) // after Close: released at once
	in.Close()
	if in.Live() != 0 {
		t.Fatalf("%d buffers not released", in.Live())
	}
}
