package pipeline

import "sync"

// Swap is a Stylizer that forwards to whichever stylizer is active when a
// frame is prepared, so the style can change while the pipeline runs. A
// frame is prepared, inferred and finished by the same stylizer: the swap
// happens between frames, no frame is dropped or processed twice, and a
// replaced stylizer is handed to its release function once its last
// in-flight frame is finished.
//
// Every stylizer given to a Swap must have at least as many slots as the
// first one.
type Swap[I any] struct {
	mu       sync.Mutex
	active   *swapEntry[I]
	bound    []*swapEntry[I] // the entry each slot's frame belongs to
	live     []*swapEntry[I] // entries not yet released
	finished func(name string)
}

type swapEntry[I any] struct {
	s        Stylizer[I]
	name     string
	release  func()
	inFlight int
	retired  bool
	shown    bool // a frame of it has been finished
}

// NewSwap starts with s active. release is called once s is replaced and
// idle, or at Close.
func NewSwap[I any](s Stylizer[I], name string, release func()) *Swap[I] {
	e := &swapEntry[I]{s: s, name: name, release: release, shown: true}
	return &Swap[I]{active: e, bound: make([]*swapEntry[I], s.Slots()), live: []*swapEntry[I]{e}}
}

// OnFirstFrame sets fn, called (from the finish stage) when the first frame
// of a newly activated stylizer is finished.
func (w *Swap[I]) OnFirstFrame(fn func(name string)) {
	w.mu.Lock()
	w.finished = fn
	w.mu.Unlock()
}

// Set makes s active for the frames prepared from now on. The stylizer it
// replaces keeps the frames it already has and is released after them.
func (w *Swap[I]) Set(s Stylizer[I], name string, release func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.active
	w.active = &swapEntry[I]{s: s, name: name, release: release}
	w.live = append(w.live, w.active)
	old.retired = true
	w.releaseIdle()
}

// Active names the stylizer frames are now prepared with.
func (w *Swap[I]) Active() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active.name
}

// releaseIdle releases retired entries with no frame in flight. Called
// with mu held.
func (w *Swap[I]) releaseIdle() {
	kept := w.live[:0]
	for _, e := range w.live {
		if e.retired && e.inFlight == 0 {
			if e.release != nil {
				e.release()
			}
			continue
		}
		kept = append(kept, e)
	}
	w.live = kept
}

// Slots is the first stylizer's slot count.
func (w *Swap[I]) Slots() int { return len(w.bound) }

// Prepare binds slot to the active stylizer and prepares the frame with it.
func (w *Swap[I]) Prepare(slot int, src I) error {
	w.mu.Lock()
	e := w.active
	e.inFlight++
	w.bound[slot] = e
	w.mu.Unlock()
	if err := e.s.Prepare(slot, src); err != nil {
		w.done(e, false)
		return err
	}
	return nil
}

// Infer runs the slot's stylizer.
func (w *Swap[I]) Infer(slot int) error {
	w.mu.Lock()
	e := w.bound[slot]
	w.mu.Unlock()
	return e.s.Infer(slot)
}

// Finish finishes the slot's frame with its stylizer.
func (w *Swap[I]) Finish(slot int, dst I) error {
	w.mu.Lock()
	e := w.bound[slot]
	w.mu.Unlock()
	err := e.s.Finish(slot, dst)
	w.done(e, err == nil)
	return err
}

func (w *Swap[I]) done(e *swapEntry[I], shown bool) {
	w.mu.Lock()
	e.inFlight--
	first := shown && !e.shown
	if shown {
		e.shown = true
	}
	fn := w.finished
	w.releaseIdle()
	w.mu.Unlock()
	if first && fn != nil {
		fn(e.name)
	}
}

// Close releases every stylizer not yet released, in flight or not. Call
// it only after the pipeline has stopped.
func (w *Swap[I]) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.live {
		if e.release != nil {
			e.release()
		}
	}
	w.live = nil
}
