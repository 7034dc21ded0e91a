package stylize_test

import (
	"errors"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/stylize"
)

func builtinSet(t *testing.T, preload bool, names ...string) *stylize.StyleSet {
	t.Helper()
	s, err := stylize.NewStyleSet(sharedRT, testort.Models(t, names...), stylize.Config{FrameWidth: 64, FrameHeight: 48, Device: stylize.DeviceCPU}, preload)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStyleSetSwitching: Next and Prev wrap around, Switch refuses an
// index out of range, Current and the Swap follow.
func TestStyleSetSwitching(t *testing.T) {
	for _, preload := range []bool{false, true} {
		s := builtinSet(t, preload, "toon", "pencil")
		steps := []struct {
			do   func() error
			want int
		}{{s.Next, 1}, {s.Next, 0}, {s.Prev, 1}, {s.Prev, 0}, {func() error { return s.Switch(1) }, 1}}
		for i, st := range steps {
			if err := st.do(); err != nil || s.Current() != st.want || s.Swap().Active() != s.Names()[st.want] {
				t.Errorf("preload %v, step %d: %v, current %d (%s), want %d", preload, i, err, s.Current(), s.Swap().Active(), st.want)
			}
		}
		if err := s.Switch(2); err == nil {
			t.Errorf("preload %v: style 3 of 2 accepted", preload)
		}
		s.Close()
	}
}

// TestStyleSetSwitchAfterClose: a switch asked for once the set is closed
// (a key press whose goroutine ran late) is refused and opens nothing.
func TestStyleSetSwitchAfterClose(t *testing.T) {
	s := builtinSet(t, false, "toon", "pencil")
	s.Close()
	if err := s.Next(); !errors.Is(err, stylize.ErrClosed) {
		t.Fatalf("switch after Close: %v", err)
	}
	s.Close() // idempotent
	if s.Current() != 0 {
		t.Errorf("current %d after a refused switch", s.Current())
	}
}

// TestStyleSetResetsAPreloadedStyleSwitchedBackTo: a preloaded style keeps
// its stabiliser while others paint; when it is made active again, its
// next frame starts afresh (another time: nothing of its old frames is
// carried onto it), and the frames after carry again.
func TestStyleSetResetsAPreloadedStyleSwitchedBackTo(t *testing.T) {
	s, err := stylize.NewStyleSet(sharedRT, testort.Models(t, "toon", "pencil"), stylize.Config{FrameWidth: 64, FrameHeight: 48, Device: stylize.DeviceCPU, Temporal: 0.6}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 120, 200, 0), 48, 64, gocv.MatTypeCV8UC3)
	defer in.Close()
	out := gocv.NewMat()
	defer out.Close()
	paint := func(n int) {
		t.Helper()
		for range n {
			sw := s.Swap()
			if err := sw.Prepare(0, &in); err != nil {
				t.Fatal(err)
			}
			if err := sw.Infer(0); err != nil {
				t.Fatal(err)
			}
			if err := sw.Finish(0, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	stab := s.First().Temporal()
	if stab == nil {
		t.Fatal("no stabiliser with Temporal 0.6")
	}
	paint(3)
	if got := stab.Fresh(); got != 1 {
		t.Fatalf("%d fresh frames after 3 of one style, want 1 (the first)", got)
	}
	for _, i := range []int{1, 0} {
		if err := s.Switch(i); err != nil {
			t.Fatal(err)
		}
		paint(2)
	}
	if got := stab.Fresh(); got != 2 {
		t.Errorf("%d fresh frames for toon after switching away and back, want 2", got)
	}
}
