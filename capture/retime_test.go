package capture

import (
	"io"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// timedSource gives frames at the times it holds, with the props given.
type timedSource struct {
	props Props
	times []time.Duration
	next  int
}

func (s *timedSource) Props() Props { return s.props }
func (s *timedSource) Close() error { return nil }
func (s *timedSource) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if s.next >= len(s.times) {
		return pipeline.Timing{}, io.EOF
	}
	s.next++
	return pipeline.Timing{PTS: s.times[s.next-1]}, nil
}

// TestRetimeLaysTheGridOnTheFirstPicture: pictures a steady frame apart,
// in milliseconds as Matroska keeps them, starting part of a frame after
// the file's start, land on consecutive output frames (none dropped, none
// left empty); the first at the frame the start rounds to as Retime says
// (a start under 45 ms and 0.9 of a frame dropped, else rounded); Start
// and End move with the times.
func TestRetimeLaysTheGridOnTheFirstPicture(t *testing.T) {
	ntsc := pipeline.Rate{Num: 24000, Den: 1001}
	for _, c := range []struct {
		name  string
		rate  pipeline.Rate
		start time.Duration
		first int64 // the first picture's output frame
	}{
		{"23.976 fps, 21 ms in (AAC priming)", ntsc, 21 * time.Millisecond, 0},
		{"24 fps, half a frame in", pipeline.Rate{Num: 24, Den: 1}, 20833 * time.Microsecond, 0},
		{"30 fps, 0.5 s in (video after the audio)", pipeline.Rate{Num: 30, Den: 1}, 500 * time.Millisecond, 15},
		{"30 fps, 0.95 of a frame in", pipeline.Rate{Num: 30, Den: 1}, 31667 * time.Microsecond, 1},
		{"2 fps, 0.3 s in: more than 45 ms, rounded", pipeline.Rate{Num: 2, Den: 1}, 300 * time.Millisecond, 1},
		{"2 fps, 0.2 s in: more than 45 ms, rounded", pipeline.Rate{Num: 2, Den: 1}, 200 * time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var times []time.Duration
			frame := float64(time.Second) / c.rate.FPS()
			for i := range 240 {
				at := c.start + time.Duration(float64(i)*frame)
				times = append(times, at.Round(time.Millisecond))
			}
			end := c.start + time.Duration(240*frame)
			r := Retime(&timedSource{props: Props{Rate: c.rate, Start: c.start, End: end}, times: times}, c.rate)
			p := r.Props()
			if got := c.rate.Slot(p.Start); got != c.first || (p.Start-c.rate.Time(c.first)).Abs() > time.Microsecond {
				t.Errorf("Props.Start %v (frame %d), want frame %d's start", p.Start, got, c.first)
			}
			if got, want := p.End-p.Start, end-c.start; got != want {
				t.Errorf("Props.End moved by another amount than Start: %v long, want %v", got, want)
			}
			m := gocv.NewMat()
			defer m.Close()
			for i := range times {
				tm, err := r.Read(&m)
				if err != nil {
					t.Fatalf("picture %d: %v (dropped %d)", i, err, r.Dropped)
				}
				if got := c.rate.Slot(tm.PTS); got != c.first+int64(i) {
					t.Fatalf("picture %d (at %v) lands on frame %d, want %d", i, times[i], got, c.first+int64(i))
				}
			}
		})
	}
}

// TestDecimate: a 60 fps source with times in milliseconds (a frame's
// half-way times round either way) kept one frame in two gives the even
// frames, on a 30 fps grid, and where one is missing (a dropped frame) the
// next, at the missing one's time; one in four of 59.94 gives 14.985 fps; its Props say the rate and
// the frames left.
func TestDecimate(t *testing.T) {
	sixty := pipeline.Rate{Num: 60, Den: 1}
	var times []time.Duration
	for i := range 24 {
		if i == 6 {
			continue // missing: frame 7 stands in for it
		}
		times = append(times, (time.Duration(i) * time.Second / 60).Round(time.Millisecond))
	}
	d := Decimate(&timedSource{props: Props{Rate: sixty, Frames: 24}, times: times}, 2)
	if p := d.Props(); p.Rate != (pipeline.Rate{Num: 30, Den: 1}) || p.Frames != 12 {
		t.Errorf("props: %v fps, %d frames; want 30/1, 12", p.Rate, p.Frames)
	}
	var got []time.Duration
	m := gocv.NewMat()
	defer m.Close()
	for i := 0; ; i++ {
		tm, err := d.Read(&m)
		if err == io.EOF {
			break
		}
		if tm.Index != int64(i) {
			t.Fatalf("frame %d has index %d", i, tm.Index)
		}
		got = append(got, tm.PTS)
	}
	// Frames 0, 2, 4, 7 (for the missing 6), 8, …, 22, each at its 30 fps
	// slot's time (7 at 6's: the writer then puts it in slot 3, not 4).
	var want []time.Duration
	for i := range 12 {
		want = append(want, sixty.Time(int64(2*i)))
	}
	if len(got) != len(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("kept %v, want %v", got, want)
		}
	}
	ntsc := Decimate(&timedSource{props: Props{Rate: pipeline.Rate{Num: 60000, Den: 1001}}}, 4)
	if r := ntsc.Props().Rate; r != (pipeline.Rate{Num: 15000, Den: 1001}) {
		t.Errorf("59.94 fps, one in four: %v, want 15000/1001", r)
	}
	if src := (&timedSource{}); Decimate(src, 1) != Source(src) {
		t.Error("one in one: wrapped")
	}
}

// TestSameTimes: the rate lines count the pictures that have the very
// time of the one before them, which media.Collisions leaves out (a file
// said 3 of its pictures were dropped, and 9 were).
func TestSameTimes(t *testing.T) {
	if got := sameTimes([][]float64{{0, 0.1, 0.2}}); got != 0 {
		t.Errorf("no same times: %d", got)
	}
	if got := sameTimes([][]float64{{0, 0.1, 0.1, 0.2, 0.2}, {5, 5}}); got != 3 {
		t.Errorf("three same times: %d", got)
	}
}
