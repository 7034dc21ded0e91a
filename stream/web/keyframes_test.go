package web

import (
	"testing"
	"time"
)

// TestKeyframeRequestsAreBounded: a burst of keyframe requests (a viewer
// sending PLIs in a loop) asks the encoder for one at once and one more
// after keyframeEvery, for all the rest; none is lost.
func TestKeyframeRequestsAreBounded(t *testing.T) {
	calls := make(chan time.Time, 1000)
	k := &keyframes{ask: func() { calls <- time.Now() }, every: keyframeEvery}
	start := time.Now()
	for range 500 {
		k.request()
	}
	if n := len(calls); n != 1 {
		t.Fatalf("500 requests at once asked the encoder %d times at once, want 1", n)
	}
	<-calls
	select {
	case at := <-calls:
		if d := at.Sub(start); d < keyframeEvery {
			t.Errorf("the held request was asked %v after the first, before %v", d, keyframeEvery)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the requests held back were never asked for")
	}
	// No third: every request was served by the second.
	select {
	case <-calls:
		t.Error("a third keyframe asked for")
	case <-time.After(3 * keyframeEvery):
	}
}
