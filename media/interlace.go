package media

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

// FieldCount is what ffmpeg's idet filter found in the frames it looked
// at: how many it called top field first, bottom field first, progressive
// or could not tell (its multi-frame verdicts, which need a few frames in a
// row to agree before they change).
type FieldCount struct {
	TFF, BFF, Progressive, Undetermined int
}

// Frames is the number of frames counted.
func (c FieldCount) Frames() int { return c.TFF + c.BFF + c.Progressive + c.Undetermined }

// Woven reports whether the frames are woven from two fields filmed at
// different instants (interlaced video, whatever the stream's flags say):
// most of the frames that tell show combs, and of one field order.
// Interlaced video keeps to one order; what fools idet (moving
// progressive graphics with hard edges) tends to both.
func (c FieldCount) Woven() bool {
	major, minor := c.TFF, c.BFF
	if minor > major {
		major, minor = minor, major
	}
	return major >= 8 && minor*10 <= major && major >= 2*c.Progressive
}

// idetLine is idet's summary at the end of a run.
var idetLine = regexp.MustCompile(`Multi frame detection: TFF: *(\d+) BFF: *(\d+) Progressive: *(\d+) Undetermined: *(\d+)`)

// DetectFields decodes the first frames (at most frames of them) of the
// stream index of path through ffmpeg's idet filter and returns its
// count. It is a decode of those frames and nothing else (no output).
//
// A frame counts as interlaced only when one field order matches the
// frames before and after it half as well again as the other (idet's
// intl_thres 1.5, not its 1.04): at 1.04 moving progressive test patterns
// count as interlaced in two frames of three, at 1.5 in none, while
// real footage woven from fields still counts (a hand-held cup, a film
// scene; slow walkers in low light fall to "undetermined", whose combs
// are faint).
func DetectFields(ctx context.Context, ffmpeg, path string, index, frames int) (FieldCount, error) {
	if ffmpeg == "" {
		ffmpeg = "ffmpeg"
	}
	cmd := command(ctx, ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
		"-i", path, "-map", fmt.Sprintf("0:%d", index), "-an", "-sn", "-dn",
		"-frames:v", strconv.Itoa(frames), "-vf", "idet=intl_thres=1.5", "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return FieldCount{}, fmt.Errorf("%w %s: field detection: %w", ErrProbe, path, err)
	}
	m := idetLine.FindSubmatch(out)
	if m == nil {
		return FieldCount{}, fmt.Errorf("%w %s: field detection: no idet summary in ffmpeg's output", ErrProbe, path)
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(string(m[i+1]))
	}
	return FieldCount{TFF: n[0], BFF: n[1], Progressive: n[2], Undetermined: n[3]}, nil
}
