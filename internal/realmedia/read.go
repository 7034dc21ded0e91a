package realmedia

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Frame is one decoded frame of a video as a player shows it.
type Frame struct {
	// PTS is when it is shown, from the start of the file (ffmpeg's
	// timeline: the earliest stream starts at 0).
	PTS time.Duration
	// Index is the source frame index its blocks carry (-1: none found).
	Index int
	// Rotation is how the picture is turned clockwise from the one
	// IndexedClip drew: 0, 90, 180, 270, or Mirrored, or Unknown.
	Rotation int
	// W and H are its size as shown (after the display rotation).
	W, H int
	// Patch is the mean B, G, R of the red patch (upright; zero when the
	// code was not found).
	Patch [3]float64
	// Interlaced is true when the decoder marked the frame interlaced.
	Interlaced bool
}

var showinfoLine = regexp.MustCompile(`n:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+).*?\bi:(\S).*?`)
var showinfoSize = regexp.MustCompile(` s:(\d+)x(\d+) `)

// ReadIndices decodes the first video stream of path as players do (the
// display rotation applied) and reads every frame's blocks. Frames come
// in presentation order with their times; none is added or dropped.
func ReadIndices(t testing.TB, path string) []Frame {
	t.Helper()
	return readIndices(t, path, "")
}

// ReadFields is ReadIndices for an interlaced video: it shows every field
// as a frame of its own (yadif at the field rate), as a deinterlacing
// player does, so that each field's index reads back at its own time.
func ReadFields(t testing.TB, path string) []Frame {
	t.Helper()
	return readIndices(t, path, "yadif=mode=send_field:parity=auto:deint=all,")
}

// syncNull is a second output that reads every video, audio and subtitle
// track into nothing: ffmpeg starts an MPEG-TS clock at the earliest of
// the streams a process uses, so a reader of one stream alone would put
// its times on another clock than a player's (which plays them all).
func syncNull() []string {
	return []string{"-map", "0:V?", "-map", "0:a?", "-map", "0:s?", "-c", "copy", "-f", "null", "-"}
}

// readIndices decodes path through the filters vf (each followed by a
// comma) and reads the frames' blocks.
func readIndices(t testing.TB, path, vf string) []Frame {
	t.Helper()
	Tools(t)
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostats", "-loglevel", "info", "-i", path,
		"-map", "0:v:0", "-vf", vf + "showinfo", "-fps_mode", "passthrough",
		"-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"}, syncNull()...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("realmedia: decoding %s: %v\n%s", path, err, tail(stderr.String()))
	}
	var frames []Frame
	data := stdout.Bytes()
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "showinfo") {
			continue
		}
		m := showinfoLine.FindStringSubmatch(line)
		s := showinfoSize.FindStringSubmatch(line)
		if m == nil || s == nil {
			continue
		}
		secs, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("realmedia: %s: frame %s has pts_time %q", path, m[1], m[3])
		}
		w, _ := strconv.Atoi(s[1])
		h, _ := strconv.Atoi(s[2])
		n := 3 * w * h
		if len(data) < n {
			t.Fatalf("realmedia: %s: ffmpeg gave %d bytes for frame %s (%dx%d)", path, len(data), m[1], w, h)
		}
		img := bgrImage{w: w, h: h, pix: data[:n]}
		data = data[n:]
		f := Frame{PTS: time.Duration(math.Round(secs * 1e9)), W: w, H: h, Interlaced: m[4] != "P"}
		var up bgrImage
		f.Index, f.Rotation, up = readAny(img)
		if f.Index >= 0 {
			b, g, r := meanRect(up, 1, 8, 4, Rows-0.25)
			f.Patch = [3]float64{b, g, r}
		}
		frames = append(frames, f)
	}
	if len(data) != 0 {
		t.Fatalf("realmedia: %s: %d bytes of frames left over after %d frames described by showinfo", path, len(data), len(frames))
	}
	return frames
}

// tail is the last lines of ffmpeg's messages.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// ShownAt is the position in frames of the frame a player shows at time
// at: the last one whose PTS is at most at (-1 before the first).
func ShownAt(frames []Frame, at time.Duration) int {
	shown := -1
	for i, f := range frames {
		if f.PTS <= at {
			shown = i
		} else {
			break
		}
	}
	return shown
}

// IndexAt is the source index of the frame shown at time at, or -1 before
// the first frame.
func IndexAt(frames []Frame, at time.Duration) int {
	if i := ShownAt(frames, at); i >= 0 {
		return frames[i].Index
	}
	return -1
}

// Indices lists the frames' indices, for messages.
func Indices(frames []Frame) []int {
	out := make([]int, len(frames))
	for i, f := range frames {
		out[i] = f.Index
	}
	return out
}

// Intervals lists the differences between consecutive PTS.
func Intervals(frames []Frame) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(frames); i++ {
		out = append(out, frames[i].PTS-frames[i-1].PTS)
	}
	return out
}

// End is when the last frame stops being shown: its PTS plus frame (one
// frame at the stream's base rate, as containers count it).
func End(frames []Frame, frame time.Duration) time.Duration {
	if len(frames) == 0 {
		return 0
	}
	return frames[len(frames)-1].PTS + frame
}

// Summary describes frames compactly for failure messages: count, first
// and last PTS, the indices and the rotations seen.
func Summary(frames []Frame) string {
	if len(frames) == 0 {
		return "no frames"
	}
	rots := map[int]int{}
	for _, f := range frames {
		rots[f.Rotation]++
	}
	idx := Indices(frames)
	if len(idx) > 40 {
		idx = append(idx[:20:20], idx[len(idx)-20:]...)
	}
	return fmt.Sprintf("%d frames %dx%d, pts %v..%v, indices %v, rotations %v",
		len(frames), frames[0].W, frames[0].H, frames[0].PTS, frames[len(frames)-1].PTS, idx, rots)
}

// Beeps finds the onsets of the beeps (Opts.Beeps) in the first audio
// stream of path, on the same timeline as ReadIndices: the audio is
// decoded to 48 kHz mono with silence filled in from the file's start, and
// a beep starts where the level rises above 5 % of full scale after at
// least 20 ms below it.
func Beeps(t testing.TB, path string) []time.Duration {
	t.Helper()
	Tools(t)
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostats", "-v", "error", "-i", path,
		"-map", "0:a:0", "-af", "aresample=48000:async=1:first_pts=0", "-ac", "1", "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"},
		syncNull()...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("realmedia: decoding the audio of %s: %v\n%s", path, err, tail(stderr.String()))
	}
	const rate, quiet = 48000, 20 * 48 // samples; 20 ms
	data := stdout.Bytes()
	var onsets []time.Duration
	below := quiet
	for i := 0; i+1 < len(data); i += 2 {
		v := int16(uint16(data[i]) | uint16(data[i+1])<<8)
		if v > 1600 || v < -1600 {
			if below >= quiet {
				onsets = append(onsets, time.Duration(i/2)*time.Second/rate)
			}
			below = 0
		} else {
			below++
		}
	}
	return onsets
}
