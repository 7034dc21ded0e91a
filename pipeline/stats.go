package pipeline

import "time"

// Stats holds per-stage timing counters of a run. Each stage's counter is
// written by that stage's goroutine only; read them after Run returns.
type Stats struct {
	Read, Prepare, Infer, Finish, Write StageStats
}

// StageStats is the time one stage spent on frames.
type StageStats struct {
	Count int64
	Total time.Duration
	Max   time.Duration
}

func (s *StageStats) add(start time.Time) {
	d := time.Since(start)
	s.Count++
	s.Total += d
	s.Max = max(s.Max, d)
}

// Mean is the average time per frame.
func (s StageStats) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Count)
}
