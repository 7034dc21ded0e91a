package pipeline

import (
	"sync"
	"sync/atomic"
)

// Latest is a one-frame mailbox for live video where the newest frame
// wins: Put replaces a frame nobody has taken yet (releasing it and
// counting it as dropped), so a slow consumer always gets the freshest
// picture and never a queue of stale ones.
type Latest[I any] struct {
	mu      sync.Mutex
	frame   *Frame[I]
	closed  bool
	ready   chan struct{}
	dropped atomic.Int64
}

// NewLatest makes an empty mailbox.
func NewLatest[I any]() *Latest[I] {
	return &Latest[I]{ready: make(chan struct{}, 1)}
}

// Put hands over f (and its reference). After Close it only releases f.
func (l *Latest[I]) Put(f Frame[I]) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		f.Image.Release()
		return
	}
	old := l.frame
	l.frame = &f
	l.mu.Unlock()
	if old != nil {
		old.Image.Release()
		l.dropped.Add(1)
	}
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when a frame may be waiting; TryTake tells.
func (l *Latest[I]) Ready() <-chan struct{} { return l.ready }

// TryTake takes the waiting frame, if any; the caller releases it.
func (l *Latest[I]) TryTake() (Frame[I], bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frame == nil {
		return Frame[I]{}, false
	}
	f := *l.frame
	l.frame = nil
	return f, true
}

// Dropped counts the frames replaced before anyone took them.
func (l *Latest[I]) Dropped() int64 { return l.dropped.Load() }

// Close releases a waiting frame; later Puts release theirs at once.
func (l *Latest[I]) Close() {
	l.mu.Lock()
	f := l.frame
	l.frame = nil
	l.closed = true
	l.mu.Unlock()
	if f != nil {
		f.Image.Release()
	}
}
