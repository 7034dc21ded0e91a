package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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

// PacketTimes reads the presentation times of one stream's packets over
// the first window of a file, sorted, in seconds from the first. It only
// demuxes (ffprobe, found beside ffmpeg as Probe does), so it costs a
// fraction of a second for minutes of video. Packets without a time are
// left out.
func PacketTimes(ctx context.Context, ffmpeg, path string, index int, window time.Duration) ([]float64, error) {
	probe := "ffprobe"
	if ffmpeg != "" && strings.ContainsRune(ffmpeg, filepath.Separator) {
		probe = filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	}
	cmd := exec.CommandContext(ctx, probe, "-v", "error", "-hide_banner",
		"-select_streams", strconv.Itoa(index),
		"-read_intervals", fmt.Sprintf("%%+%d", int(window.Seconds()+0.5)),
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", "--", path)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w %s: packet times: %w", ErrProbe, path, err)
	}
	var ts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		field, _, _ := strings.Cut(strings.TrimSpace(sc.Text()), ",")
		if v, err := strconv.ParseFloat(field, 64); err == nil {
			ts = append(ts, v)
		}
	}
	slices.Sort(ts) // decode order is not presentation order (B-frames)
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i] -= ts[0]
	}
	return ts, nil
}

// Collisions counts the pictures of a constant-rate copy at rate r that
// would be dropped: times (sorted, seconds) that round to the same frame
// as the one before them. Pictures with the very same time as the one
// before are not counted: no rate shows both.
func Collisions(times []float64, r Ratio) int {
	if !r.Valid() {
		return 0
	}
	fps := r.Float()
	n := 0
	for i := 1; i < len(times); i++ {
		if times[i] > times[i-1] && roundSlot(times[i]*fps) == roundSlot(times[i-1]*fps) {
			n++
		}
	}
	return n
}

func roundSlot(x float64) int64 { return int64(x + 0.5) }

// misfit is how far times sit from the frames of rate r: the mean square
// of each time's distance to its nearest frame, in frames (0 when every
// picture falls on a frame; about 1/12 for times that ignore the grid).
func misfit(times []float64, r Ratio) float64 {
	if len(times) == 0 {
		return 0
	}
	fps, sum := r.Float(), 0.0
	for _, t := range times {
		d := t*fps - float64(roundSlot(t*fps))
		sum += d * d
	}
	return sum / float64(len(times))
}

// FitRate checks a declared frame rate against a stream's packet times
// (PacketTimes). When at most one picture in 500 would share a frame with
// another at that rate, it is kept. Otherwise (a variable-rate file whose
// declared rate is its average, as Matroska's default duration often is)
// FitRate picks, among the common rates above it up to 240 frames/s that
// show every picture to within one in 500, the one the pictures fall on
// best (the slowest of those that fit about equally: 30 rather than 60
// for a file that mixes 30 and 15, and 30 rather than 29.97). dropped is
// how many pictures the returned rate still drops. When none fits, the
// rate that drops the fewest comes back, with its count.
func FitRate(times []float64, declared Ratio) (rate Ratio, dropped int) {
	allowed := len(times) / 500
	d := Collisions(times, declared)
	if d <= allowed {
		return declared, d
	}
	type cand struct {
		r       Ratio
		dropped int
		misfit  float64
	}
	var fits []cand
	best := cand{r: declared, dropped: d}
	for _, c := range commonRates {
		if c.Float() <= declared.Float()*1.001 {
			continue
		}
		n := Collisions(times, c)
		if n <= allowed {
			fits = append(fits, cand{c, n, misfit(times, c)})
		} else if n < best.dropped {
			best = cand{r: c, dropped: n}
		}
	}
	if len(fits) == 0 {
		return best.r, best.dropped
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
