package web

import (
	"sync"
	"time"
)

// keyframeEvery is the shortest time between two keyframes that viewers
// ask for. A viewer that sends PLIs in a loop made every frame a keyframe
// (the bitrate of everyone's stream many times over), and while paused
// re-encoded the last picture once per PLI, as fast as they came.
const keyframeEvery = 250 * time.Millisecond

// keyframes passes keyframe requests (a viewer joined, a PLI or FIR) on
// to ask, at most one every every: a request that comes sooner is held
// until then, one for all that come meanwhile, so that none is lost.
type keyframes struct {
	ask   func()
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	pending bool
}

func (k *keyframes) request() {
	if k.ask == nil {
		return
	}
	k.mu.Lock()
	if k.pending {
		k.mu.Unlock()
		return
	}
	wait := k.every - time.Since(k.last)
	if wait <= 0 {
		k.last = time.Now()
		k.mu.Unlock()
		k.ask()
		return
	}
	k.pending = true
	k.mu.Unlock()
	// It may fire after the server has closed: ask must not block then
	// (the broadcaster's RequestKeyframe sets a flag and kicks a channel
	// without waiting).
	time.AfterFunc(wait, func() {
		k.mu.Lock()
		k.pending, k.last = false, time.Now()
		k.mu.Unlock()
		k.ask()
	})
}
