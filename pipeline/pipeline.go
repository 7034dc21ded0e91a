// Package pipeline moves frames through vidstyle's stages: read → prepare →
// infer → finish → write, one goroutine each, joined by bounded channels.
//
// For files it is ordered and lossless: every stage is a single goroutine
// taking frames first in, first out, and a full channel blocks the stage
// before it (backpressure), so nothing is ever dropped. The stylizer's two
// slots let prepare (frame N+1) and finish (frame N−1) run while infer works
// on frame N.
//
// The package is pure Go: the image type I is a parameter (a *gocv.Mat in
// vidstyle), so the flow is tested without OpenCV or ONNX Runtime.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Timing places a frame in its stream.
type Timing struct {
	// Index counts frames from 0 in the order the source delivered them.
	Index int64
	// PTS is the frame's presentation time from the source.
	PTS time.Duration
	// Captured is when a live source delivered the frame (zero for files
	// read as fast as possible); the live view measures latency from it.
	Captured time.Time
	// Epoch counts the source's discontinuities (a loop back to the start,
	// a reconnect): a frame of another epoch than the one before does not
	// follow it in time, so nothing is carried over between them.
	Epoch int64
}

// Frame is one picture with its timing. Image belongs to a Pool.
type Frame[I any] struct {
	Timing
	Image *Ref[I]
}

// Source delivers frames. Read fills dst (reusing its memory) and returns
// the frame's timing, or io.EOF after the last frame.
type Source[I any] interface {
	Read(dst I) (Timing, error)
}

// Stylizer is the double-buffered model runner. A slot, 0 ≤ slot < Slots(),
// is owned by exactly one of the three calls at a time.
type Stylizer[I any] interface {
	Slots() int
	// Prepare turns src into slot's model input; src may be reused after.
	Prepare(slot int, src I) error
	// Infer runs the model on slot.
	Infer(slot int) error
	// Finish writes slot's model output into dst.
	Finish(slot int, dst I) error
}

// Sink takes finished frames in order. The frame's Image is valid until
// Write returns; a sink that keeps it longer calls Image.Retain.
type Sink[I any] interface {
	Write(f Frame[I]) error
}

// Config tunes a run.
type Config struct {
	// Queue is the number of frames buffered after read and before write
	// (default 4).
	Queue int
	// Serial turns double buffering off: one slot, so prepare, infer and
	// finish take turns. For measuring what double buffering gains.
	Serial bool
	// OnFrame, if set, is called by the write stage after each frame with
	// the count written so far.
	OnFrame func(written int64)
}

// Run moves every frame of src through sty into sink and returns when all
// stages have stopped. Cancelling ctx is a graceful stop: no more frames are
// read, and the frames already read are finished and written. An error in
// any stage stops all stages at once and is returned. Buffers for the read
// frames come from in, for the finished frames from out.
func Run[I any](ctx context.Context, cfg Config, src Source[I], sty Stylizer[I], sink Sink[I], in, out *Pool[I]) (*Stats, error) {
	if cfg.Queue <= 0 {
		cfg.Queue = 4
	}
	slots := sty.Slots()
	if cfg.Serial {
		slots = 1
	}
	abort, fail := context.WithCancelCause(context.Background())
	defer fail(nil)

	type job struct {
		Timing
		slot int
	}
	var (
		st       = &Stats{}
		read     = make(chan Frame[I], cfg.Queue)
		prepared = make(chan job, 1)
		inferred = make(chan job, 1)
		finished = make(chan Frame[I], cfg.Queue)
		free     = make(chan int, slots)
		wg       sync.WaitGroup
	)
	for i := range slots {
		free <- i
	}
	drain := func(ch <-chan Frame[I]) {
		for f := range ch {
			f.Image.Release()
		}
	}
	stage := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}

	stage(func() { // read
		defer close(read)
		for ctx.Err() == nil {
			ref := in.Get()
			t0 := time.Now()
			tm, err := src.Read(ref.V)
			if err != nil {
				ref.Release()
				if !errors.Is(err, io.EOF) {
					fail(fmt.Errorf("read frame %d: %w", st.Read.Count, err))
				}
				return
			}
			st.Read.add(t0)
			select {
			case read <- Frame[I]{Timing: tm, Image: ref}:
			case <-abort.Done():
				ref.Release()
				return
			}
		}
	})
	stage(func() { // prepare
		defer close(prepared)
		defer drain(read)
		for f := range read {
			var slot int
			select {
			case slot = <-free:
			case <-abort.Done():
				f.Image.Release()
				return
			}
			t0 := time.Now()
			err := sty.Prepare(slot, f.Image.V)
			f.Image.Release()
			if err != nil {
				fail(fmt.Errorf("prepare frame %d: %w", f.Index, err))
				return
			}
			st.Prepare.add(t0)
			select {
			case prepared <- job{f.Timing, slot}:
			case <-abort.Done():
				return
			}
		}
	})
	stage(func() { // infer
		defer close(inferred)
		for j := range prepared {
			t0 := time.Now()
			if err := sty.Infer(j.slot); err != nil {
				fail(fmt.Errorf("infer frame %d: %w", j.Index, err))
				return
			}
			st.Infer.add(t0)
			select {
			case inferred <- j:
			case <-abort.Done():
				return
			}
		}
	})
	stage(func() { // finish
		defer close(finished)
		for j := range inferred {
			ref := out.Get()
			t0 := time.Now()
			err := sty.Finish(j.slot, ref.V)
			free <- j.slot
			if err != nil {
				ref.Release()
				fail(fmt.Errorf("finish frame %d: %w", j.Index, err))
				return
			}
			st.Finish.add(t0)
			select {
			case finished <- Frame[I]{Timing: j.Timing, Image: ref}:
			case <-abort.Done():
				ref.Release()
				return
			}
		}
	})
	stage(func() { // write
		defer drain(finished)
		for f := range finished {
			t0 := time.Now()
			err := sink.Write(f)
			f.Image.Release()
			if err != nil {
				fail(fmt.Errorf("write frame %d: %w", f.Index, err))
				return
			}
			st.Write.add(t0)
			if cfg.OnFrame != nil {
				cfg.OnFrame(st.Write.Count)
			}
		}
	})

	// Each stage's blocking send or receive also waits on abort, so after a
	// failure every stage returns and releases what it holds.
	wg.Wait()
	if err := context.Cause(abort); err != nil && !errors.Is(err, context.Canceled) {
		return st, err
	}
	return st, nil
}
