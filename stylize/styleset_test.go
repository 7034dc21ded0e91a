package stylize_test

import (
	"errors"
	"testing"

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
