package media

import (
	"math"
	"math/rand/v2"
	"testing"
)

// times makes presentation times in seconds: n pictures at each rate in
// turn, rounded to a time base of 1/tb s (Matroska's is 1/1000), with
// ±jitter seconds of noise.
func times(tb float64, jitter float64, parts ...[2]float64) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	var ts []float64
	t := 0.0
	for _, p := range parts {
		for range int(p[1]) {
			v := t + jitter*(2*r.Float64()-1)
			ts = append(ts, math.Round(max(v, 0)*tb)/tb)
			t += 1 / p[0]
		}
	}
	return ts
}

// TestFitRate: a declared rate that shows every picture is kept, a
// declared average of a variable-rate file is replaced by the base rate
// the pictures fall on (not a multiple of it, not its NTSC neighbour),
// and a file no common rate shows whole keeps the fewest drops.
func TestFitRate(t *testing.T) {
	ntsc := Ratio{30000, 1001}
	cases := []struct {
		name     string
		times    []float64
		declared Ratio
		want     Ratio
		dropped  int
	}{
		{"30 fps, declared 30", times(1000, 0, [2]float64{30, 300}), Ratio{30, 1}, Ratio{30, 1}, 0},
		{"30 fps with ±4 ms of jitter, declared 30", times(1e6, 0.004, [2]float64{30, 300}), Ratio{30, 1}, Ratio{30, 1}, 0},
		{"25 fps, declared 25", times(1000, 0, [2]float64{25, 100}), Ratio{25, 1}, Ratio{25, 1}, 0},
		{"30 then 15 fps, declared the average", times(1000, 0, [2]float64{30, 45}, [2]float64{15, 23}), Ratio{680, 29}, Ratio{30, 1}, 0},
		{"15 then 30 fps for a minute, declared the average", times(1000, 0, [2]float64{15, 150}, [2]float64{30, 1800}), Ratio{26, 1}, Ratio{30, 1}, 0},
		{"29.97 fps for a minute and a 15 fps stretch, declared the average", times(1000, 0, [2]float64{30000.0 / 1001, 1800}, [2]float64{15000.0 / 1001, 300}), Ratio{27, 1}, ntsc, 0},
		{"60 and 30 fps (a phone's slow-motion part), declared the average", times(1e5, 0, [2]float64{30, 60}, [2]float64{60, 240}, [2]float64{30, 60}), Ratio{48, 1}, Ratio{60, 1}, 0},
		{"1000 fps bursts: no common rate", times(1000, 0, [2]float64{1000, 50}, [2]float64{10, 50}), Ratio{20, 1}, Ratio{240, 1}, 38},
	}
	for _, c := range cases {
		got, dropped := FitRate(c.times, c.declared)
		if got != c.want || dropped != c.dropped {
			t.Errorf("%s: FitRate gives %v dropping %d, want %v dropping %d", c.name, got, dropped, c.want, c.dropped)
		}
		if d := Collisions(c.times, c.declared); c.declared == c.want && d != 0 {
			t.Errorf("%s: %d collisions at the declared rate", c.name, d)
		}
	}
}
