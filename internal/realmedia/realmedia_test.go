package realmedia

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The code reads back at every index and under every turn and mirror,
// at the test clips' sizes, without ffmpeg.
func TestCodeRoundTrip(t *testing.T) {
	for _, size := range [][2]int{{320, 180}, {720, 576}, {160, 90}} {
		w, h := size[0], size[1]
		pix := make([]byte, 3*w*h)
		for _, index := range []int{0, 1, 2, 5, 100, 1234, MaxIndex} {
			drawFrame(pix, w, h, index)
			up := bgrImage{w: w, h: h, pix: slices.Clone(pix)}
			for _, o := range []orientation{{0, false}, {90, false}, {180, false}, {270, false}, {0, true}, {90, true}} {
				seen := turn(up, o)
				got, rot, _ := readAny(seen)
				want := o.turn
				if o.mirror {
					want = Mirrored
				}
				if got != index || rot != want {
					t.Errorf("%dx%d index %d turned %+v: read index %d rotation %d, want %d %d", w, h, index, o, got, rot, index, want)
				}
			}
		}
	}
}

// turn does to an upright picture what o.undo undoes.
func turn(m bgrImage, o orientation) bgrImage {
	// Turning clockwise by t is undone by turning by 360-t; a mirror
	// after the turn is undone by a mirror first.
	out := m
	if o.turn != 0 {
		out = orientation{turn: 360 - o.turn}.undo(m)
	}
	if o.mirror {
		out = orientation{mirror: true}.undo(out)
	}
	return out
}

// A picture without the code, or with one cell wrong, is not read as an
// index.
func TestCodeRejectsGarbage(t *testing.T) {
	w, h := 320, 180
	pix := make([]byte, 3*w*h)
	for i := range pix {
		pix[i] = 128
	}
	if got, rot, _ := readAny(bgrImage{w: w, h: h, pix: pix}); got != -1 || rot != Unknown {
		t.Errorf("grey picture read as index %d rotation %d", got, rot)
	}
	drawFrame(pix, w, h, 77)
	// Flip one data bit: the parity no longer matches.
	x0, y0, x1, y1 := cellRect(w, h, 10, 1, 11, 2)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := 3 * (y*w + x)
			pix[i], pix[i+1], pix[i+2] = 255-pix[i], 255-pix[i+1], 255-pix[i+2]
		}
	}
	if got, _, _ := readAny(bgrImage{w: w, h: h, pix: pix}); got != -1 {
		t.Errorf("a code with one bit flipped read as %d", got)
	}
}

func TestShownAt(t *testing.T) {
	frames := []Frame{{PTS: 100 * time.Millisecond, Index: 0}, {PTS: 200 * time.Millisecond, Index: 3}, {PTS: 500 * time.Millisecond, Index: 4}}
	for _, c := range []struct {
		at         time.Duration
		pos, index int
	}{{0, -1, -1}, {99 * time.Millisecond, -1, -1}, {100 * time.Millisecond, 0, 0}, {499 * time.Millisecond, 1, 3}, {time.Hour, 2, 4}} {
		if pos, index := ShownAt(frames, c.at), IndexAt(frames, c.at); pos != c.pos || index != c.index {
			t.Errorf("at %v: frame %d index %d, want %d %d", c.at, pos, index, c.pos, c.index)
		}
	}
}

// checkFrames says how frames differ from n frames at rate from start,
// indices 0..n-1, upright.
func checkFrames(t *testing.T, what string, frames []Frame, n int, frame float64, start time.Duration) {
	t.Helper()
	if len(frames) != n {
		t.Errorf("%s: %d frames, want %d: %s", what, len(frames), n, Summary(frames))
		return
	}
	for i, f := range frames {
		want := start + time.Duration(float64(i)*frame*1e9)
		if f.Index != i || f.Rotation != 0 || (f.PTS-want).Abs() > 2*time.Millisecond {
			t.Errorf("%s: frame %d is index %d rotation %d at %v, want index %d rotation 0 at %v: %s",
				what, i, f.Index, f.Rotation, f.PTS, i, want, Summary(frames))
			return
		}
	}
}

// Each kind of clip the real-world table starts from reads back as made:
// every index in order at its time, upright, and ffprobe finds what was
// asked for.
func TestIndexedClipVariants(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	srt := filepath.Join(dir, "subs.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,000 --> 00:00:02,000\nworld\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	x264 := func(more ...string) []string {
		return append([]string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23"}, more...)
	}
	for _, c := range []struct {
		name  string
		o     Opts
		check func(in *Info) string // "" when all is as asked
	}{
		{"default mp4", Opts{}, nil},
		{"NTSC rate with audio", Opts{Rate: "30000/1001", Frames: 30, Audio: true}, func(in *Info) string {
			if v := in.Video(t); v.RFrameRate != "30000/1001" {
				return "r_frame_rate " + v.RFrameRate
			}
			if a := in.OfType("audio"); len(a) != 1 || a[0].CodecName != "aac" {
				return "audio " + in.Kinds()
			}
			return ""
		}},
		{"10-bit", Opts{Name: "10bit.mp4", Frames: 20, Video: x264("-pix_fmt", "yuv420p10le")}, func(in *Info) string {
			return want("pix_fmt", in.Video(t).PixFmt, "yuv420p10le")
		}},
		{"yuv444", Opts{Name: "444.mp4", Frames: 20, Video: x264("-pix_fmt", "yuv444p")}, func(in *Info) string {
			return want("pix_fmt", in.Video(t).PixFmt, "yuv444p")
		}},
		{"BT.709 tags", Opts{Name: "709.mp4", Frames: 20, Args: BT709()}, func(in *Info) string {
			v := in.Video(t)
			return want("colour", strings.Join([]string{v.ColorPrim, v.ColorTransfer, v.ColorSpace, v.ColorRange}, " "), "bt709 bt709 bt709 tv")
		}},
		{"SAR 16:15", Opts{Name: "pal.mp4", W: 720, H: 576, Rate: "25", Frames: 10, Args: []string{"-vf", "setsar=16/15"}}, func(in *Info) string {
			return want("sample_aspect_ratio", in.Video(t).SAR, "16:15")
		}},
		{"AC-3 in mp4", Opts{Name: "ac3.mp4", Frames: 30, Audio: true, AudioCodec: []string{"-c:a", "ac3"}}, func(in *Info) string {
			return want("audio", in.Kinds(), "video:h264 audio:ac3")
		}},
		{"mkv: two audio, subtitles, title", Opts{Name: "tracks.mkv", Frames: 30, Audio: true,
			Inputs: [][]string{{"-f", "lavfi", "-i", "sine=frequency=660:duration=1"}, {"-i", srt}},
			Args:   []string{"-c:s", "srt", "-metadata", "title=Real World", "-metadata:s:a:1", "language=fra"}}, func(in *Info) string {
			if s := want("streams", in.Kinds(), "video:h264 audio:aac audio:aac subtitle:subrip"); s != "" {
				return s
			}
			return want("title", in.Format.Tags["title"], "Real World")
		}},
		{"MPEG-TS", Opts{Name: "clip.ts", Frames: 30, Audio: true}, func(in *Info) string {
			return want("format", in.Format.FormatName, "mpegts")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := IndexedClip(t, dir, c.o)
			o := c.o.withDefaults()
			frames := ReadIndices(t, p)
			in := Probe(t, p)
			start := frames[0].PTS // TS and B-frames shift the first picture
			checkFrames(t, p, frames, o.Frames, RateSeconds(t, o.Rate), start)
			if v := in.Video(t); v.Width != o.W || v.Height != o.H {
				t.Errorf("size %dx%d, want %dx%d", v.Width, v.Height, o.W, o.H)
			}
			if c.check != nil {
				if s := c.check(in); s != "" {
					t.Error(s)
				}
			}
			// The red patch is red: the channel order survived.
			if b, g, r := frames[0].Patch[0], frames[0].Patch[1], frames[0].Patch[2]; r < 150 || b > 90 || g > 90 {
				t.Errorf("red patch reads BGR %.0f,%.0f,%.0f, want about 40,40,200", b, g, r)
			}
		})
	}
}

// want is "" when got (formatted) equals w, else a message.
func want(what string, got any, w string) string {
	if s := fmt.Sprint(got); s != w {
		return fmt.Sprintf("%s is %q, want %q", what, s, w)
	}
	return ""
}

// An interlaced clip holds two instants a frame: read as frames, the
// woven blocks are garbage; read as fields, every index comes back at the
// field rate. ffprobe says top field first.
func TestInterlaced(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	for _, video := range [][]string{
		{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-top", "1"},
		{"-c:v", "mpeg2video", "-q:v", "3", "-flags", "+ilme+ildct", "-top", "1"},
	} {
		p := Interlaced(t, dir, Opts{Name: video[1] + ".mkv", Rate: "25", Frames: 15, Video: video})
		v := Probe(t, p).Video(t)
		if v.FieldOrder != "tt" || v.RFrameRate != "25/1" {
			t.Errorf("%s: field_order %q r_frame_rate %s, want tt 25/1", video[1], v.FieldOrder, v.RFrameRate)
		}
		frames := ReadIndices(t, p)
		for _, f := range frames {
			if f.Index >= 0 {
				t.Errorf("%s: a woven frame reads as index %d: the fields do not differ", video[1], f.Index)
				break
			}
		}
		checkFrames(t, p, ReadFields(t, p), 30, 1.0/50, 0)
	}
}

// Rotated copies are shown turned as tagged: ffprobe reports the rotation
// and the reader finds the picture turned that way, at the turned size.
func TestRotated(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	src := IndexedClip(t, dir, Opts{Frames: 10})
	for _, c := range []struct {
		deg, probe, seen int
	}{{90, 90, 270}, {180, -180, 180}, {270, -90, 90}} {
		p := Rotated(t, src, c.deg)
		if r := Probe(t, p).Video(t).Rotation(); r != float64(c.probe) && !(c.probe == -180 && r == 180) {
			t.Errorf("rotate=%d: ffprobe rotation %v, want %d", c.deg, r, c.probe)
		}
		frames := ReadIndices(t, p)
		if len(frames) != 10 {
			t.Fatalf("rotate=%d: %s", c.deg, Summary(frames))
		}
		w, h := 320, 180
		if c.seen != 180 {
			w, h = h, w
		}
		for i, f := range frames {
			if f.Index != i || f.Rotation != c.seen || f.W != w || f.H != h {
				t.Errorf("rotate=%d: frame %d is index %d turned %d at %dx%d, want %d turned %d at %dx%d",
					c.deg, i, f.Index, f.Rotation, f.W, f.H, i, c.seen, w, h)
				break
			}
		}
	}
	// A mirror image is told from a turn.
	frames := ReadIndices(t, Derive(t, src, "hflip.mp4", "-vf", "hflip"))
	if frames[0].Rotation != Mirrored || frames[0].Index != 0 {
		t.Errorf("hflip: frame 0 read as index %d rotation %d, want 0 Mirrored", frames[0].Index, frames[0].Rotation)
	}
}

// The VFR clip runs at 30 fps with a 10 fps stretch: the frames kept carry
// their original times, so the intervals really vary.
func TestVFRStretch(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	src := IndexedClip(t, dir, Opts{Frames: 90, Audio: true})
	frames := ReadIndices(t, VFRStretch(t, src, 30, 60, 3))
	var want []int
	for i := range 90 {
		if i < 30 || i >= 60 || (i-30)%3 == 0 {
			want = append(want, i)
		}
	}
	if !slices.Equal(Indices(frames), want) {
		t.Fatalf("indices %v, want %v", Indices(frames), want)
	}
	short, long := 0, 0
	for i, f := range frames {
		at := time.Duration(float64(f.Index) / 30 * 1e9)
		if (f.PTS - at).Abs() > 2*time.Millisecond {
			t.Errorf("frame %d (index %d) at %v, want %v", i, f.Index, f.PTS, at)
		}
	}
	for _, d := range Intervals(frames) {
		switch {
		case (d - time.Second/30).Abs() < 2*time.Millisecond:
			short++
		case (d - time.Second/10).Abs() < 2*time.Millisecond:
			long++
		default:
			t.Errorf("interval %v is neither 1/30 nor 1/10 s", d)
		}
	}
	if short < 50 || long != 10 {
		t.Errorf("%d intervals of 1/30 s and %d of 1/10 s, want 58 and 10", short, long)
	}
}

// The sparse AVI declares a rate whose frames are mostly missing; the
// frames it has come at their times.
func TestSparse(t *testing.T) {
	Tools(t)
	p := Sparse(t, t.TempDir(), 20, 6, "15")
	v := Probe(t, p).Video(t)
	if v.CodecName != "cinepak" || v.RFrameRate != "15/1" || v.NbFrames != "115" {
		t.Errorf("codec %s r_frame_rate %s nb_frames %s, want cinepak 15/1 115", v.CodecName, v.RFrameRate, v.NbFrames)
	}
	checkFrames(t, p, ReadIndices(t, p), 20, 6.0/15, 0)
}

// The offset clip's video starts half a second after its audio.
func TestOffset(t *testing.T) {
	Tools(t)
	p := Offset(t, t.TempDir(), Opts{Frames: 30}, 500*time.Millisecond)
	checkFrames(t, p, ReadIndices(t, p), 30, 1.0/30, 500*time.Millisecond)
	a0, a1, ok := Extent(t, p, "a:0")
	if !ok || a0 > 0 || a0 < -30*time.Millisecond || (a1-1500*time.Millisecond).Abs() > 30*time.Millisecond {
		t.Errorf("audio from %v to %v (found %v), want from 0 (less the AAC priming) to 1.5 s", a0, a1, ok)
	}
}

// The cut TS starts with audio, and its first picture that decodes comes
// well after, at its original place relative to the audio.
func TestCutTS(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	long := LongTS(t, dir)
	p := CutTSAt(t, long, 2200*time.Millisecond)
	frames := ReadIndices(t, p)
	a0, _, ok := Extent(t, p, "a:0")
	if !ok {
		t.Fatal("no audio in the cut file")
	}
	if len(frames) == 0 {
		t.Fatal("no frames decode in the cut file")
	}
	// Frame 120 (4 s, the next keyframe) comes first, 1.8 s after the
	// cut; the audio starts at most a few frames from the cut.
	first := frames[0]
	if first.Index != 120 {
		t.Errorf("first decodable frame shows index %d, want 120 (the keyframe at 4 s): %s", first.Index, Summary(frames))
	}
	// The muxer interleaves audio a little ahead of the video (here about
	// 0.3 s), so the first audio can precede the cut's first video packet.
	if gap := first.PTS - a0; gap < 1500*time.Millisecond || gap > 2500*time.Millisecond {
		t.Errorf("first picture %v after the first audio (audio at %v, picture at %v), want 1.8 s and up to the audio's lead", gap, a0, first.PTS)
	}
	for i := range frames {
		frames[i].Index -= 120
	}
	checkFrames(t, p, frames, 120, 1.0/30, first.PTS)
}

// The TS made from a raw H.264 stream has no timing in its headers; ffprobe
// still finds the rate from the timestamps.
func TestRawH264TS(t *testing.T) {
	Tools(t)
	dir := t.TempDir()
	p := RawH264TS(t, dir, 54, "107/4")
	v := Probe(t, p).Video(t)
	if v.RFrameRate != "107/4" {
		t.Errorf("r_frame_rate %s, want 107/4", v.RFrameRate)
	}
	frames := ReadIndices(t, p)
	checkFrames(t, p, frames, 54, 4.0/107, frames[0].PTS)
	timed, err := os.ReadFile(filepath.Join(dir, "timed.h264"))
	if err != nil {
		t.Fatal(err)
	}
	once, err := stripH264Timing(timed)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := stripH264Timing(once)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(once, timed) || !bytes.Equal(once, twice) {
		t.Errorf("stripping changed the stream: %v; stripping again changed it: %v (want true, false)", !bytes.Equal(once, timed), !bytes.Equal(once, twice))
	}
}

// Beeps put at frames are found at those frames' times.
func TestBeeps(t *testing.T) {
	Tools(t)
	p := IndexedClip(t, t.TempDir(), Opts{Frames: 60, Audio: true, Beeps: []int{0, 15, 45}})
	got := Beeps(t, p)
	if len(got) != 3 {
		t.Fatalf("beeps at %v, want 3", got)
	}
	for i, f := range []int{0, 15, 45} {
		if want := time.Duration(f) * time.Second / 30; (got[i] - want).Abs() > 3*time.Millisecond {
			t.Errorf("beep %d at %v, want %v", i, got[i], want)
		}
	}
}

// The PNG has the alpha AlphaAt says, and its colour where opaque is the
// indexed picture's.
func TestAlphaPNG(t *testing.T) {
	p := AlphaPNG(t, t.TempDir(), 240, 135)
	img, hasAlpha := ReadPNG(t, p)
	if !hasAlpha {
		t.Fatal("no alpha channel")
	}
	transparent := 0
	for y := range 135 {
		for x := range 240 {
			c := img.NRGBAAt(x, y)
			if c.A != AlphaAt(240, 135, x, y) {
				t.Fatalf("alpha at %d,%d is %d, want %d", x, y, c.A, AlphaAt(240, 135, x, y))
			}
			if c.A == 0 {
				transparent++
			}
		}
	}
	if transparent < 240*135/4 {
		t.Errorf("%d transparent pixels, want a third", transparent)
	}
	if c := img.NRGBAAt(20, 120); c.R < 190 || c.G > 50 {
		t.Errorf("red patch is %v", c)
	}
}

func TestHugeJPEG(t *testing.T) {
	Tools(t)
	p := HugeJPEG(t, t.TempDir(), 6000, 4000)
	if v := Probe(t, p).Video(t); v.Width != 6000 || v.Height != 4000 {
		t.Errorf("%dx%d, want 6000x4000", v.Width, v.Height)
	}
}

func TestRateSeconds(t *testing.T) {
	for rate, want := range map[string]float64{"30000/1001": 1001.0 / 30000, "25": 0.04, "107/4": 4.0 / 107} {
		if got := RateSeconds(t, rate); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: %v, want %v", rate, got, want)
		}
	}
	if s := Summary(nil); !strings.Contains(s, "no frames") {
		t.Errorf("Summary(nil) = %q", s)
	}
}
