package pipeline

import (
	"fmt"
	"math/bits"
	"time"
)

// Rate is an exact frame rate, Num frames every Den seconds (30000/1001).
type Rate struct{ Num, Den int }

// FPS is the rate as a number.
func (r Rate) FPS() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Slower is the rate of one frame in k (60/1 in 2 is 30/1, 60000/1001 in
// 4 is 15000/1001), in lowest terms.
func (r Rate) Slower(k int) Rate {
	num, den := r.Num, r.Den*k
	a, b := num, den
	for b != 0 {
		a, b = b, a%b
	}
	if a <= 0 {
		return r
	}
	return Rate{Num: num / a, Den: den / a}
}

// String writes the rate as ffmpeg takes it: "30000/1001".
func (r Rate) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Slot is the frame of a constant-rate stream at this rate that shows a
// picture presented at pts: pts·rate rounded to the nearest frame, never
// below 0.
func (r Rate) Slot(pts time.Duration) int64 {
	if r.Num <= 0 || r.Den <= 0 || pts <= 0 {
		return 0
	}
	// pts in ns · Num / (Den · 1e9), rounded, without overflow for any
	// file length (128-bit product).
	hi, lo := bits.Mul64(uint64(pts), uint64(r.Num))
	d := uint64(r.Den) * uint64(time.Second)
	q, rem := bits.Div64(hi%d, lo, d)
	if rem >= d-rem {
		q++
	}
	return int64(q)
}

// Time is when slot n of a constant-rate stream at this rate begins.
func (r Rate) Time(n int64) time.Duration {
	if r.Num <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(n), uint64(r.Den)*uint64(time.Second))
	q, _ := bits.Div64(hi%uint64(r.Num), lo, uint64(r.Num))
	return time.Duration(q)
}
