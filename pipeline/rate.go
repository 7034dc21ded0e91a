package pipeline

import "fmt"

// Rate is an exact frame rate, Num frames every Den seconds (30000/1001).
type Rate struct{ Num, Den int }

// FPS is the rate as a number.
func (r Rate) FPS() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// String writes the rate as ffmpeg takes it: "30000/1001".
func (r Rate) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }
