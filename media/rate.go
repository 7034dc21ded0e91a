package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// commonRates are the frame rates cameras, screen recorders and editors
// write, slowest first: what FitRate tries when a declared rate would put
// two pictures in one frame.
var commonRates = [...]Ratio{
	{24000, 1001}, {24, 1}, {25, 1}, {30000, 1001}, {30, 1}, {48, 1}, {50, 1},
	{60000, 1001}, {60, 1}, {90, 1}, {100, 1}, {120000, 1001}, {120, 1}, {144, 1}, {240, 1},
}

// PacketTimes reads the presentation times, in seconds, of one stream's
// first packets (at most packets of them), in segments: a time more than
// a second before the latest one so far starts a new segment (a joined
// MPEG-TS, a timestamp reset), as the decoder's times do. Each segment is
// sorted (decode order is not presentation order with B-frames). It only
// demuxes (ffprobe, found beside ffmpeg as Probe does). Packets without a
// time are left out of the segments but counted in read, the number of
// packets read (MPEG program streams time only some of theirs: a DVD's
// VOB one in six). inputArgs go before the input, as in ProbeWith.
func PacketTimes(ctx context.Context, ffmpeg, path string, index, packets int, inputArgs ...string) (segs [][]float64, read int, err error) {
	probe := probePath(ffmpeg)
	args := append([]string{"-v", "error", "-hide_banner",
		"-select_streams", strconv.Itoa(index),
		"-read_intervals", fmt.Sprintf("%%+#%d", packets),
		"-show_entries", "packet=pts_time", "-of", "csv=p=0"}, inputArgs...)
	cmd := command(ctx, probe, append(args, "--", path)...)
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("%w %s: packet times: %w", ErrProbe, path, err)
	}
	var ts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		read++
		field, _, _ := strings.Cut(line, ",")
		if v, err := strconv.ParseFloat(field, 64); err == nil {
			ts = append(ts, v)
		}
	}
	return segments(ts), read, nil
}

// TextTail tells how many packets of a text subtitle stream (an MP4's
// mov_text) to keep in a copy cut at end: those before end, less the
// empty samples at their tail that run past it. MP4 fills each gap
// between cues with an empty sample (2 bytes), which a copy cut with -t
// keeps whole: one that starts before the cut and runs to a cue a minute
// later made a 1 s file last 60 s. cut is false when none is left out.
func TextTail(ctx context.Context, ffmpeg, path string, index int, end time.Duration) (keep int, cut bool, err error) {
	cmd := command(ctx, probePath(ffmpeg), "-v", "error", "-hide_banner", "-select_streams", strconv.Itoa(index),
		"-show_entries", "packet=pts_time,duration_time,size", "-of", "csv=p=0", "--", path)
	out, err := cmd.Output()
	if err != nil {
		return 0, false, fmt.Errorf("%w %s: subtitle packets: %w", ErrProbe, path, err)
	}
	type packet struct {
		end  float64
		size int
	}
	var before []packet
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 {
			continue
		}
		pts, err1 := strconv.ParseFloat(f[0], 64)
		dur, err2 := strconv.ParseFloat(f[1], 64)
		size, err3 := strconv.Atoi(f[2])
		if err1 != nil || err3 != nil || pts >= end.Seconds() {
			continue
		}
		if err2 != nil {
			dur = 0
		}
		before = append(before, packet{pts + dur, size})
	}
	keep = len(before)
	for keep > 0 && before[keep-1].size <= 2 && before[keep-1].end > end.Seconds() {
		keep--
	}
	return keep, keep < len(before), nil
}

// CountPackets counts the packets of the first video stream of a file
// (ffprobe -count_packets: a demux of the whole file, no decoding).
func CountPackets(ctx context.Context, ffmpeg, path string) (int64, error) {
	return countPackets(ctx, ffmpeg, path, "v:0")
}

// CountStreamPackets is CountPackets for the stream of index (ffmpeg's
// 0:N).
func CountStreamPackets(ctx context.Context, ffmpeg, path string, index int) (int64, error) {
	return countPackets(ctx, ffmpeg, path, strconv.Itoa(index))
}

func countPackets(ctx context.Context, ffmpeg, path, stream string) (int64, error) {
	cmd := command(ctx, probePath(ffmpeg), "-v", "error", "-hide_banner", "-select_streams", stream,
		"-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", "--", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		return 0, fmt.Errorf("%w %s: %s", ErrProbe, path, msg)
	}
	field, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
	n, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %s: no video stream to count", ErrProbe, path)
	}
	return n, nil
}

// segments splits packet times, in the order read, where one is more
// than a second before the latest so far, and sorts each part.
func segments(ts []float64) [][]float64 {
	var segs [][]float64
	var cur []float64
	latest := 0.0
	for _, v := range ts {
		if len(cur) > 0 && v < latest-1 {
			segs, cur = append(segs, cur), nil
		}
		if len(cur) == 0 || v > latest {
			latest = v
		}
		cur = append(cur, v)
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	for _, seg := range segs {
		slices.Sort(seg)
	}
	return segs
}

// Collisions counts the pictures of a constant-rate copy at rate r that
// would be dropped: times that round to the same frame as the one before
// them in their segment (PacketTimes), each segment's frames counted from
// its own first time, as the writer lays its grid (capture.Retime: from
// the first picture; after a jump, the decoder goes on from its last
// frame). Pictures with the very same time as the one before are not
// counted: no rate shows both.
func Collisions(segs [][]float64, r Ratio) int {
	if !r.Valid() {
		return 0
	}
	fps := r.Float()
	n := 0
	for _, seg := range segs {
		if len(seg) == 0 {
			continue
		}
		o := seg[0]
		for i := 1; i < len(seg); i++ {
			if seg[i] > seg[i-1] && roundSlot((seg[i]-o)*fps) == roundSlot((seg[i-1]-o)*fps) {
				n++
			}
		}
	}
	return n
}

func roundSlot(x float64) int64 { return int64(math.Floor(x + 0.5)) }

// misfit is how far times sit from the frames of rate r, the grid put
// on each segment's first time (a file whose pictures all sit a third of
// a frame after the grid's origin still falls on its rate): the mean
// square of each time's distance to its nearest frame, in frames (0 when
// every picture falls on a frame; about 1/12 for times that ignore it).
func misfit(segs [][]float64, r Ratio) float64 {
	fps, sum, n := r.Float(), 0.0, 0
	for _, seg := range segs {
		if len(seg) == 0 {
			continue
		}
		o := seg[0]
		for _, t := range seg {
			x := (t - o) * fps
			d := x - float64(roundSlot(x))
			sum += d * d
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// FitRate checks a declared frame rate against a stream's packet times
// (PacketTimes). When at most one picture in 500 would share a frame with
// another at that rate, or the pictures that would are a stray 2 % at
// most, it is kept. Otherwise (a variable-rate file whose
// declared rate is its average, as Matroska's default duration often is)
// FitRate picks, among the common rates above it up to 240 frames/s that
// drop at most one picture in 500, the one the pictures fall on best (the
// slowest of those that fit about equally: 30 rather than 60 for a file
// that mixes 30 and 15, and 30 rather than 29.97). When none fits (a file
// with pictures a few milliseconds apart here and there), the declared
// rate is kept, unless it drops more than a stray 2 % and a faster one
// drops no more than that (the slowest of those):
// a faster one fills the file with repeated frames and still drops some.
// dropped is how many pictures the returned rate drops.
func FitRate(segs [][]float64, declared Ratio) (rate Ratio, dropped int) {
	total := 0
	for _, seg := range segs {
		total += len(seg)
	}
	allowed := total / 500
	d := Collisions(segs, declared)
	if d <= allowed || d*50 <= total {
		// Within the allowance, or a few stray pictures (a doubled frame
		// here and there, 2 % at most): no rate change is worth a file
		// of repeated frames.
		return declared, d
	}
	type cand struct {
		r       Ratio
		dropped int
		misfit  float64
	}
	var fits, strays []cand
	for _, c := range commonRates {
		if c.Float() <= declared.Float()*1.001 {
			continue
		}
		switch n := Collisions(segs, c); {
		case n <= allowed:
			fits = append(fits, cand{c, n, misfit(segs, c)})
		case n*50 <= total:
			strays = append(strays, cand{c, n, misfit(segs, c)})
		}
	}
	if len(fits) == 0 && len(strays) > 0 {
		// None shows every picture, but some drop a stray 2 % at most
		// (a browser's recording: two pictures 2 ms apart at its start,
		// where the declared rate drops a fifth of its jittered 30): the
		// slowest, as a declared rate that drops as few is kept (the one
		// that drops fewest is nearly always the fastest: 240 frames/s
		// of repeats to keep 0.5 % more pictures).
		return strays[0].r, strays[0].dropped
	}
	if len(fits) == 0 {
		return declared, d
	}
	least := fits[0].misfit
	for _, f := range fits {
		least = min(least, f.misfit)
	}
	for _, f := range fits { // slowest first
		if f.misfit <= 1.5*least+1e-4 {
			return f.r, f.dropped
		}
	}
	return fits[0].r, fits[0].dropped
}
