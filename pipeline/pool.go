package pipeline

import (
	"sync"
	"sync/atomic"
)

// Pool recycles frame buffers (OpenCV Mats in vidstyle) so that the steady
// state allocates nothing, neither in C nor in Go. It is safe for concurrent
// use.
type Pool[I any] struct {
	mu     sync.Mutex
	free   []*Ref[I]
	closed bool
	live   atomic.Int64
	newFn  func() I
	freeFn func(I)
}

// NewPool makes a pool that creates buffers with newFn and destroys them
// with freeFn.
func NewPool[I any](newFn func() I, freeFn func(I)) *Pool[I] {
	return &Pool[I]{newFn: newFn, freeFn: freeFn}
}

// Get returns a buffer holding one reference, reusing a free one if any.
func (p *Pool[I]) Get() *Ref[I] {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		r.refs.Store(1)
		return r
	}
	p.mu.Unlock()
	r := &Ref[I]{V: p.newFn(), pool: p}
	p.live.Add(1)
	r.refs.Store(1)
	return r
}

func (p *Pool[I]) put(r *Ref[I]) {
	p.mu.Lock()
	if !p.closed {
		p.free = append(p.free, r)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.freeFn(r.V)
	p.live.Add(-1)
}

// Live counts the buffers that exist, free or in use.
func (p *Pool[I]) Live() int64 { return p.live.Load() }

// Close destroys the free buffers; a buffer still in use is destroyed when
// its last reference is released. Close is idempotent.
func (p *Pool[I]) Close() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.closed = true
	p.mu.Unlock()
	for _, r := range free {
		p.freeFn(r.V)
		p.live.Add(-1)
	}
}

// Ref is a reference-counted buffer from a Pool. The buffer goes back to the
// pool when the last holder calls Release; nobody may touch V after its own
// Release.
type Ref[I any] struct {
	V    I
	refs atomic.Int32
	pool *Pool[I]
}

// Retain adds a holder: a consumer that keeps the frame past the call that
// handed it over (a second output, say) calls Retain first and Release when
// done.
func (r *Ref[I]) Retain() { r.refs.Add(1) }

// Release drops a holder; the last one returns the buffer to the pool.
func (r *Ref[I]) Release() {
	if r.refs.Add(-1) == 0 {
		r.pool.put(r)
	}
}
