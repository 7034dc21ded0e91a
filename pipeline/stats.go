package pipeline

import (
	"slices"
	"time"
)

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
	// recent keeps the last sampleCap durations for percentiles.
	recent []time.Duration
}

// sampleCap is how many recent durations a stage keeps.
const sampleCap = 4096

func (s *StageStats) add(start time.Time) {
	d := time.Since(start)
	if s.recent == nil {
		s.recent = make([]time.Duration, 0, sampleCap)
	}
	if len(s.recent) < sampleCap {
		s.recent = append(s.recent, d)
	} else {
		s.recent[s.Count%sampleCap] = d
	}
	s.Count++
	s.Total += d
	s.Max = max(s.Max, d)
}

// Percentile returns the p-th percentile (0..100) of the recent durations.
func (s StageStats) Percentile(p float64) time.Duration {
	if len(s.recent) == 0 {
		return 0
	}
	sorted := slices.Clone(s.recent)
	slices.Sort(sorted)
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Mean is the average time per frame.
func (s StageStats) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Count)
}
