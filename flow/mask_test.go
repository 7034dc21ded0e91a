package flow_test

import (
	"testing"

	"github.com/vidstyle/vidstyle/flow"
)

func TestMaskDropsOcclusionsAndMotionBoundaries(t *testing.T) {
	const w, h = 8, 1
	valid := make([]float32, w*h)
	b := make([]float32, 2*w*h)
	ft := make([]float32, 2*w*h)
	for x := range w {
		b[2*x] = 1 // all move by one to the right…
		ft[2*x] = -1
	}
	ft[2*2] = 3 // …but pixel 2's forward flow disagrees: occluded
	b[2*6] = 4  // pixel 6 differs from its neighbours: motion boundary
	if got := flow.Mask(valid, b, ft, w, h); got == w {
		t.Fatalf("kept all %d", got)
	}
	want := []bool{true, true, false, true, true, false, false, false} // 5 and 7 touch pixel 6's jump; 7 also leaves the frame
	for i := range w {
		if (valid[i] == 1) != want[i] {
			t.Errorf("pixel %d valid %v, want %v", i, valid[i], want[i])
		}
	}
}
