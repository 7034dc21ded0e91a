package live

import (
	"testing"
	"time"
)

// TestRateAt: the shown rate stands while frames come at it, a slow model
// keeps its rate between its frames, and a picture that stops moving falls
// to at most one frame over the time since the last.
func TestRateAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		rate  float64
		since time.Duration
		want  float64
	}{
		{"no frame yet", 0, -1, 0},
		{"moving", 30, 30 * time.Millisecond, 30},
		{"a second since", 30, time.Second, 30},
		{"stopped 2 s", 30, 2 * time.Second, 0.5},
		{"stopped 20 s", 30, 20 * time.Second, 0.05},
		{"a slow model between frames", 0.4, 3 * time.Second, 0.4},
		{"a slow model stopped", 0.4, 10 * time.Second, 0.1},
	} {
		s := stats{rate: c.rate}
		if c.since >= 0 {
			s.lastShown = t0
		}
		if got := s.rateAt(t0.Add(max(c.since, 0))); got != c.want {
			t.Errorf("%s: rate %.3f, want %.3f", c.name, got, c.want)
		}
	}
}
