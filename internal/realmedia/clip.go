// Package realmedia makes the kinds of files phones, cameras and
// broadcasts write, for tests of the real binary on real media, and reads
// back what came out of it.
//
// Every video frame IndexedClip makes carries its own index as a row of
// black and white blocks (see the layout in code.go), so that ReadIndices
// can tell, for each frame of any file made from it, which source frame
// it shows, when, and how it is turned. The derivations (Rotated,
// VFRStretch, Sparse, Offset, CutTS, RawH264TS, …) make the awkward
// variants with ffmpeg itself; AlphaPNG and HugeJPEG make still images.
// Probe and Extent read what ffprobe says. Everything runs the real ffmpeg
// and ffprobe; a test without them is skipped.
//
// It is imported by tests only.
package realmedia

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Opts shapes a clip made by IndexedClip. The zero value is 60 frames of
// 320×180 at 30 fps, H.264 (x264 veryfast, CRF 23, yuv420p) in clip.mp4,
// no audio.
type Opts struct {
	// Name is the file's name in dir; its extension picks the container
	// unless Args has -f (default "clip.mp4").
	Name string
	// W and H are the frame size (default 320×180).
	W, H int
	// Rate is the frame rate as ffmpeg writes it, "30000/1001" or "25"
	// (default "30").
	Rate string
	// Frames is the number of frames (default 60); frame i shows index i.
	Frames int
	// Video is the encoder options (default -c:v libx264 -preset veryfast
	// -crf 23 -pix_fmt yuv420p). Give, e.g., -pix_fmt yuv420p10le,
	// yuv444p, -flags +ildct+ilme -top 1, or -c:v mpeg2video.
	Video []string
	// Audio adds a 440 Hz sine as long as the video (AudioSeconds when
	// set), encoded with AudioCodec.
	Audio        bool
	AudioSeconds float64
	// AudioCodec is the audio encoder options (default -c:a aac).
	AudioCodec []string
	// Beeps, with Audio, puts a 40 ms 2 kHz beep at the start of each of
	// these frames (the tone is quiet elsewhere), for sync checks.
	Beeps []int
	// Inputs are more ffmpeg inputs, each its options ending in -i X
	// (a second audio: -f lavfi -i sine=frequency=660:duration=2; a
	// subtitle file). Each is mapped whole, after the video and the audio.
	Inputs [][]string
	// Args are more output options, placed before the file name: tags
	// (-metadata title=x, -colorspace bt709 …), filters (-vf setsar=16/15),
	// codecs for Inputs (-c:s srt), a format (-f mpegts).
	Args []string
}

func (o Opts) withDefaults() Opts {
	if o.Name == "" {
		o.Name = "clip.mp4"
	}
	if o.W == 0 {
		o.W = 320
	}
	if o.H == 0 {
		o.H = 180
	}
	if o.Rate == "" {
		o.Rate = "30"
	}
	if o.Frames == 0 {
		o.Frames = 60
	}
	if o.Video == nil {
		o.Video = []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"}
	}
	if o.AudioCodec == nil {
		o.AudioCodec = []string{"-c:a", "aac"}
	}
	return o
}

// RateSeconds is the duration of one frame at an ffmpeg rate ("30000/1001",
// "25", "107/4"); it fails the test for a rate it cannot read.
func RateSeconds(t testing.TB, rate string) float64 {
	t.Helper()
	num, den, ok := strings.Cut(rate, "/")
	if !ok {
		den = "1"
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		t.Fatalf("realmedia: rate %q is not a positive ratio", rate)
	}
	return d / n
}

// Tools skips the test when ffmpeg or ffprobe is missing.
func Tools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

// IndexedClip writes a video whose frame i shows index i (as blocks, see
// the package doc) into dir and returns its path. The frames are made in
// Go and piped raw into ffmpeg, which encodes them as o says.
func IndexedClip(t testing.TB, dir string, o Opts) string {
	t.Helper()
	Tools(t)
	o = o.withDefaults()
	if o.Frames > MaxIndex+1 {
		t.Fatalf("realmedia: %d frames, but the code holds indices up to %d", o.Frames, MaxIndex)
	}
	out := filepath.Join(dir, o.Name)
	args := []string{"-hide_banner", "-v", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "bgr24", "-s", fmt.Sprintf("%dx%d", o.W, o.H), "-framerate", o.Rate, "-i", "pipe:0"}
	maps := []string{"-map", "0:v:0"}
	next := 1
	if o.Audio {
		frame := RateSeconds(t, o.Rate)
		secs := o.AudioSeconds
		if secs == 0 {
			secs = float64(o.Frames) * frame
		}
		args = append(args, "-f", "lavfi", "-i", audioSource(beepTimes(o.Beeps, frame, 0), secs))
		maps = append(maps, "-map", fmt.Sprintf("%d:a:0", next))
		next++
	}
	for _, in := range o.Inputs {
		args = append(args, in...)
		maps = append(maps, "-map", strconv.Itoa(next))
		next++
	}
	args = append(args, maps...)
	args = append(args, o.Video...)
	if o.Audio {
		args = append(args, o.AudioCodec...)
	}
	args = append(args, o.Args...)
	args = append(args, out)

	cmd := exec.Command("ffmpeg", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("realmedia: starting ffmpeg: %v", err)
	}
	pix := make([]byte, 3*o.W*o.H)
	var werr error
	for i := range o.Frames {
		drawFrame(pix, o.W, o.H, i)
		if _, werr = stdin.Write(pix); werr != nil {
			break
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		t.Fatalf("realmedia: ffmpeg %s: %v %v\n%s", strings.Join(args, " "), err, werr, stderr.String())
	}
	return out
}

// beepTimes is when beep frames start, in seconds, at frame seconds a
// frame, delay seconds from the audio's start.
func beepTimes(frames []int, frame, delay float64) []float64 {
	var at []float64
	for _, f := range frames {
		at = append(at, delay+float64(f)*frame)
	}
	return at
}

// audioSource is a lavfi source: a 440 Hz tone of secs seconds, or, with
// beeps, silence broken by a 40 ms 2 kHz beep at each of those times.
func audioSource(beeps []float64, secs float64) string {
	if len(beeps) == 0 {
		return fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%g", secs)
	}
	var gates []string
	for _, at := range beeps {
		gates = append(gates, fmt.Sprintf("between(t\\,%g\\,%g)", at, at+0.04))
	}
	return fmt.Sprintf("aevalsrc=0.6*sin(2*PI*2000*t)*(%s):s=48000:d=%g", strings.Join(gates, "+"), secs)
}

// Derive runs ffmpeg -i in ARGS out, where out is name in in's folder, and
// returns out. Args are output options (-c copy, -vf …, -f mpegts).
func Derive(t testing.TB, in, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(filepath.Dir(in), name)
	FFmpeg(t, append(append([]string{"-i", in}, args...), out)...)
	return out
}

// FFmpeg runs ffmpeg with args (quiet, overwriting) and fails the test
// with its messages if it fails.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-hide_banner", "-v", "error", "-y"}, args...)
	out, err := exec.Command("ffmpeg", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("realmedia: ffmpeg %s: %v\n%s", strings.Join(full, " "), err, out)
	}
}

// Rotated copies a clip with a display-matrix rotation, as phones write
// it: `-c copy -metadata:s:v:0 rotate=DEG`. A player turns the picture DEG
// degrees clockwise (ffprobe reports "rotation of -DEG degrees", folded
// into -180..180).
func Rotated(t testing.TB, in string, deg int) string {
	t.Helper()
	return Derive(t, in, fmt.Sprintf("rot%d%s", deg, filepath.Ext(in)),
		"-map", "0", "-c", "copy", "-metadata:s:v:0", fmt.Sprintf("rotate=%d", deg))
}

// VFRStretch copies a clip with frames [from,to) thinned to every keep-th
// one, their timestamps unchanged, so that the file runs at the clip's
// rate with a stretch at rate/keep (a phone's variable frame rate). The
// video is re-encoded, the audio copied.
func VFRStretch(t testing.TB, in string, from, to, keep int) string {
	t.Helper()
	sel := fmt.Sprintf("select='lt(n\\,%d)+gte(n\\,%d)+not(mod(n-%d\\,%d))'", from, to, from, keep)
	return Derive(t, in, "vfr"+filepath.Ext(in), "-map", "0", "-vf", sel, "-fps_mode", "vfr",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "copy")
}

// Sparse writes a Cinepak AVI in dir declaring rate fps whose frames are
// only every step-th slot: frames indices 0..frames-1 at times i·step/rate.
// AVI then declares frames·step frames of which most are missing (empty
// chunks), as old camera and screen-capture files do.
func Sparse(t testing.TB, dir string, frames, step int, rate string) string {
	t.Helper()
	slow := fmt.Sprintf("(%s)/%d", rate, step)
	if !strings.Contains(rate, "/") {
		slow = fmt.Sprintf("%s/%d", rate, step)
	}
	src := IndexedClip(t, dir, Opts{Name: "sparse-src.mkv", Frames: frames, Rate: slow,
		Video: []string{"-c:v", "ffv1"}})
	return Derive(t, src, "sparse.avi", "-c:v", "cinepak", "-r", rate, "-fps_mode", "vfr")
}

// Offset writes a clip made as o says whose video starts delay after its
// audio: the video is put in with -itsoffset, the audio (as long as the
// video plus delay, with o.Beeps at the times their frames are shown)
// starts at 0; o.Audio and o.AudioCodec are not used (the audio is AAC).
// The container is o.Name's.
func Offset(t testing.TB, dir string, o Opts, delay time.Duration) string {
	t.Helper()
	o = o.withDefaults()
	name := o.Name
	o.Audio, o.Name = false, "offset-video"+filepath.Ext(name)
	v := IndexedClip(t, dir, o)
	secs := float64(o.Frames)*RateSeconds(t, o.Rate) + delay.Seconds()
	out := filepath.Join(dir, "offset"+filepath.Ext(name))
	FFmpeg(t, "-itsoffset", fmt.Sprintf("%g", delay.Seconds()), "-i", v,
		"-f", "lavfi", "-i", audioSource(beepTimes(o.Beeps, RateSeconds(t, o.Rate), delay.Seconds()), secs),
		"-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", out)
	return out
}

// CutTS copies the part of an MPEG-TS file from byte offset at (rounded
// down to a 188-byte packet) to its end, as a recording started in the
// middle of a broadcast: the first audio comes before the first picture
// that can be decoded.
func CutTS(t testing.TB, in string, at int64) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(at/188*188, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(in), "cut-"+filepath.Base(in))
	g, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(g, f); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Interlaced writes an interlaced clip into dir as o says, except that
// its frames are made at twice o.Rate (2·o.Frames of them) and woven in
// pairs (the interlace filter): frame k holds index 2k in its top field and
// 2k+1 in its bottom one, as a camera filming fields at different
// instants does. o.Video must encode interlaced, top field first (x264:
// -flags +ildct+ilme -top 1). ReadFields reads the indices back.
func Interlaced(t testing.TB, dir string, o Opts) string {
	t.Helper()
	o = o.withDefaults()
	num, den, ok := strings.Cut(o.Rate, "/")
	if !ok {
		den = "1"
	}
	n, err1 := strconv.Atoi(num)
	d, err2 := strconv.Atoi(den)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		t.Fatalf("realmedia: Interlaced needs a rate of whole numbers, not %q", o.Rate)
	}
	o.Rate = fmt.Sprintf("%d/%d", 2*n, d)
	o.Frames *= 2
	o.Video = append([]string{"-vf", "interlace=scan=tff:lowpass=0"}, o.Video...)
	return IndexedClip(t, dir, o)
}

// BT709 is the output options that tag a stream BT.709, limited range.
func BT709() []string {
	return []string{"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"}
}

// LongTS writes long.ts in dir: 240 frames (8 s) at 30 fps, a keyframe
// every 2 s exactly (frames 0, 60, 120, 180), AAC audio, for CutTSAt.
func LongTS(t testing.TB, dir string) string {
	t.Helper()
	return IndexedClip(t, dir, Opts{Name: "long.ts", Frames: 240, Audio: true,
		Video: []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
			"-g", "60", "-keyint_min", "60", "-sc_threshold", "0"}})
}

// CutTSAt cuts an MPEG-TS (CutTS) at the first video packet at least at
// after the video's start, so that the file begins inside a group of
// pictures: what comes before the next keyframe cannot be decoded.
func CutTSAt(t testing.TB, in string, at time.Duration) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,pos", "-of", "csv=p=0", in).Output()
	if err != nil {
		t.Fatalf("realmedia: ffprobe packets of %s: %v", in, err)
	}
	first := math.NaN()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		p, err1 := strconv.ParseFloat(f[0], 64)
		b, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if math.IsNaN(first) {
			first = p
		}
		if p-first >= at.Seconds() {
			return CutTS(t, in, b)
		}
	}
	t.Fatalf("realmedia: %s has no video packet %v after its start", in, at)
	return ""
}

// RawH264TS writes an MPEG-TS in dir holding frames frames of H.264 that
// was a raw elementary stream with no timing in its headers (VUI timing
// removed) and was read at rate (e.g. "107/4", 26.75 fps): the TS
// timestamps are the only timing left, and the stream declares no rate.
func RawH264TS(t testing.TB, dir string, frames int, rate string) string {
	t.Helper()
	raw := IndexedClip(t, dir, Opts{Name: "timed.h264", Frames: frames, Rate: rate,
		Video: []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-bf", "0"},
		Args:  []string{"-f", "h264"}})
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	untimed, err := stripH264Timing(data)
	if err != nil {
		t.Fatalf("realmedia: removing the timing from %s: %v", raw, err)
	}
	bare := filepath.Join(dir, "untimed.h264")
	if err := os.WriteFile(bare, untimed, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "raw.ts")
	FFmpeg(t, "-framerate", rate, "-i", bare, "-c", "copy", out)
	return out
}
