package media

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// fitCase is one of TestFitRate's: pictures at times, what FitRate
// makes of their declared rate, and how many it drops.
type fitCase struct {
	name     string
	times    []float64
	declared Ratio
	want     Ratio
	dropped  int
}

// TestFitRate: a declared rate that shows every picture is kept, a
// declared average of a variable-rate file is replaced by the base rate
// the pictures fall on (not a multiple of it, not its NTSC neighbour),
// and a file no common rate shows whole keeps the fewest drops.
func TestFitRate(t *testing.T) {
	ntsc := Ratio{30000, 1001}
	cases := []fitCase{
		{"30 fps, declared 30", times(1000, 0, [2]float64{30, 300}), Ratio{30, 1}, Ratio{30, 1}, 0},
		{"30 fps with ±4 ms of jitter, declared 30", times(1e6, 0.004, [2]float64{30, 300}), Ratio{30, 1}, Ratio{30, 1}, 0},
		{"25 fps, declared 25", times(1000, 0, [2]float64{25, 100}), Ratio{25, 1}, Ratio{25, 1}, 0},
		{"30 then 15 fps, declared the average", times(1000, 0, [2]float64{30, 45}, [2]float64{15, 23}), Ratio{680, 29}, Ratio{30, 1}, 0},
		{"15 then 30 fps for a minute, declared the average", times(1000, 0, [2]float64{15, 150}, [2]float64{30, 1800}), Ratio{26, 1}, Ratio{30, 1}, 0},
		{"29.97 fps for a minute and a 15 fps stretch, declared the average", times(1000, 0, [2]float64{30000.0 / 1001, 1800}, [2]float64{15000.0 / 1001, 300}), Ratio{27, 1}, ntsc, 0},
		{"60 and 30 fps (a phone's slow-motion part), declared the average", times(1e5, 0, [2]float64{30, 60}, [2]float64{60, 240}, [2]float64{30, 60}), Ratio{48, 1}, Ratio{60, 1}, 0},
		{"1000 fps bursts: no common rate, the declared one is kept", times(1000, 0, [2]float64{1000, 50}, [2]float64{10, 50}), Ratio{20, 1}, Ratio{20, 1}, 49},
	}
	// 30 fps where one picture in a hundred has a second one 2 ms later:
	// no rate up to 240 shows both, so the declared one stays.
	doubled := times(1000, 0, [2]float64{30, 600})
	for i := 0; i < 600; i += 100 {
		doubled = append(doubled, doubled[i]+0.002)
	}
	slices.Sort(doubled)
	cases = append(cases, fitCase{"30 fps with a few doubled pictures", doubled, Ratio{30, 1}, Ratio{30, 1}, 6})
	// A canvas recorded by Chromium's MediaRecorder as MP4 (declared
	// 456000/14947, 30.5 frames/s): its first two pictures 1.7 ms apart,
	// then 20 to 45 ms between pictures. The declared rate dropped 16 of
	// its 76 pictures; 50 frames/s drops the first pair's second alone.
	browser := []float64{0, 0.0017, 0.040733, 0.075533, 0.1063, 0.142233, 0.172267, 0.21, 0.240333, 0.2768, 0.3047, 0.3422, 0.3703, 0.4089, 0.436167, 0.4754, 0.502467, 0.5421, 0.568267, 0.608767, 0.634067, 0.675633, 0.7002, 0.7419, 0.7659, 0.808733, 0.831867, 0.875233, 0.897833, 0.942, 0.963967, 1.0085, 1.0299, 1.0751, 1.095667, 1.1419, 1.161667, 1.2086, 1.227733, 1.275233, 1.293667, 1.341767, 1.3598, 1.408433, 1.425533, 1.475267, 1.491933, 1.5246, 1.5576, 1.5914, 1.623567, 1.658067, 1.689667, 1.724733, 1.755767, 1.791367, 1.8215, 1.8581, 1.8875, 1.924667, 1.953467, 1.9914, 2.019833, 2.058433, 2.085433, 2.124633, 2.1512, 2.1913, 2.217367, 2.257933, 2.2834, 2.3245, 2.349133, 2.3912, 2.415167, 2.457867}
	cases = append(cases, fitCase{"a browser's recording, its first pair 2 ms apart", browser, Ratio{456000, 14947}, Ratio{50, 1}, 1})
	// A minute of the same, jittered 30 frames/s with 32 pairs 2 ms
	// apart: the slowest rate that drops 2 % at most, not the 240 that
	// drops fewest.
	var long []float64
	for i, at := 0, 0.0; i < 1800; i++ {
		long = append(long, at)
		if i%58 == 0 {
			long = append(long, at+0.002)
		}
		at += []float64{0.0207, 0.0459}[i%2]
	}
	cases = append(cases, fitCase{"a minute of a browser's recording, 32 pairs 2 ms apart", long, Ratio{30, 1}, Ratio{50, 1}, 32})
	for _, c := range cases {
		segs := [][]float64{c.times}
		got, dropped := FitRate(segs, c.declared)
		// The same pictures 0.023 s after the file's start (video after
		// audio, as a remuxed MKV has it), and half a frame late with the
		// times rounded to milliseconds (Matroska's ticks, an AAC
		// encoder's 21 ms of priming at 24 fps, where rounding from the
		// file's start would put neighbours in one frame): the same rate.
		late := make([]float64, len(c.times))
		half := make([]float64, len(c.times))
		for i, v := range c.times {
			late[i] = v + 0.023
			half[i] = math.Round((v+0.5/c.declared.Float())*1000) / 1000
		}
		if r, _ := FitRate([][]float64{late}, c.declared); r != got {
			t.Errorf("%s, 0.023 s late: %v, on time: %v", c.name, r, got)
		}
		if r, d := FitRate([][]float64{half}, c.declared); r != got || c.dropped == 0 && d != 0 {
			t.Errorf("%s, half a frame late in milliseconds: %v dropping %d, on time: %v", c.name, r, d, got)
		}
		if got != c.want || dropped != c.dropped {
			t.Errorf("%s: FitRate gives %v dropping %d, want %v dropping %d", c.name, got, dropped, c.want, c.dropped)
		}
		if d := Collisions(segs, c.declared); c.declared == c.want && c.dropped == 0 && d != 0 {
			t.Errorf("%s: %d collisions at the declared rate", c.name, d)
		}
	}
}

// TestFitRateAcrossAJump: two 29.97 fps recordings joined (a second
// timeline that starts over, as a concatenated MPEG-TS does) are two
// segments, each counted from its own start: nothing collides and the
// rate is kept. Sorted into one list, they would have asked for 59.94.
func TestFitRateAcrossAJump(t *testing.T) {
	a := times(90000, 0, [2]float64{30000.0 / 1001, 300})
	var segs [][]float64
	for _, off := range []float64{1.4, 1.4 + 0.5*1001/30000} { // the second half a frame off
		seg := make([]float64, len(a))
		for i, v := range a {
			seg[i] = v + off
		}
		segs = append(segs, seg)
	}
	ntsc := Ratio{30000, 1001}
	segs[1] = segs[1][:len(segs[1])-1]
	if r, d := FitRate(segs, ntsc); r != ntsc || d != 0 {
		t.Errorf("two segments: %v dropping %d, want %v dropping 0", r, d, ntsc)
	}
	one := append(append([]float64(nil), segs[0]...), segs[1]...)
	slices.Sort(one)
	if Collisions([][]float64{one}, ntsc) == 0 {
		t.Error("merged into one timeline the pictures should collide: the test shows nothing")
	}
}

// TestSegments: B-frame order is sorted within a segment; a jump back of
// more than a second starts a new one.
func TestSegments(t *testing.T) {
	got := segments([]float64{10, 10.1, 10.033, 10.066, 10.2, 1.4, 1.5, 1.433, 1.466})
	want := [][]float64{{10, 10.033, 10.066, 10.1, 10.2}, {1.4, 1.433, 1.466, 1.5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
}

// TestCountPackets: a file's video packets are counted (one per frame for
// H.264 without B-frame tricks), with or without audio beside them; a
// file that is not a video, or an empty Matroska file (what a full disk
// left), is an error.
func TestCountPackets(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "c.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
		"-f", "lavfi", "-i", "sine=duration=2", "-frames:v", "37", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	if n, err := CountPackets(context.Background(), "", clip); err != nil || n != 37 {
		t.Errorf("%d packets (%v), want 37", n, err)
	}
	empty := filepath.Join(dir, "empty.mkv")
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(text, []byte("not a video\n"), 0o644)
	for _, p := range []string{empty, text, filepath.Join(dir, "none.mkv")} {
		if n, err := CountPackets(context.Background(), "", p); err == nil {
			t.Errorf("%s: %d packets and no error", filepath.Base(p), n)
		}
	}
}
