package main_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// The real-world table (issue "Real-world files come out right"): the
// files phones, cameras and broadcasts write, made in the test by ffmpeg
// with every frame carrying its index (internal/realmedia), run through
// the binary with a model that changes nothing, and checked with ffprobe
// and the index blocks.
//
// What every video row expects of the output, besides its own checks:
//   - every frame shows a source frame, upright as players show the input
//     (the pixels turned, no rotation tag left), at the size shown;
//   - a constant frame rate equal to the source's base rate (ffprobe
//     r_frame_rate: 30000/1001 stays 30000/1001, 26.75 is 107/4), frames
//     repeated or dropped by timestamp;
//   - at 10 instants spread over the whole file, the frame shown is the
//     one the source shows then, give or take one frame;
//   - the video ends where the source's does (within one frame), and the
//     audio, when there is some, ends with the video (within one frame)
//     and starts where the source's does.

// realWorld is one row of the table.
type realWorld struct {
	name string
	// input makes the input in dir.
	input func(t *testing.T, dir string) string
	// out is the output's name (default out.mp4); args are more options.
	out  string
	args []string
	// rate is the r_frame_rate the output must have ("" = the input's).
	rate string
	// frames, when > 0, is given as -frames: the output holds the first
	// frames frames of the source and its audio stops with them.
	frames int
	// still: an image row (no timing, no index checks).
	still bool
	// fields: the input is interlaced with a picture per field; it is
	// read field by field (realmedia.ReadFields).
	fields bool
	// check is the row's own expectations, given the input and output.
	check func(t *testing.T, in, out string)
	// pictures, when set, names the file the input's pictures are read
	// from for the timing checks (an HDR input's SDR original: ffmpeg
	// reading HDR as it is cannot read the index blocks).
	pictures func(in string) string
}

// identityModel writes the identity ONNX graph into dir.
func identityModel(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(p, testmodels.IdentityGraph(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// helpLists reports whether vidstyle -h lists a flag.
func helpLists(t *testing.T, name string) bool {
	t.Helper()
	out, _ := exec.Command(binary, "-h").CombinedOutput()
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "-"+name {
			return true
		}
	}
	return false
}

func realWorldRows() []realWorld {
	clip := func(o rm.Opts) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string { return rm.IndexedClip(t, dir, o) }
	}
	interlaced := func(o rm.Opts) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string { return rm.Interlaced(t, dir, o) }
	}
	rotated := func(deg int) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string {
			return rm.Rotated(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 30, Audio: true}), deg)
		}
	}
	x264 := func(more ...string) []string {
		return append([]string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "23"}, more...)
	}
	tracks := func(t *testing.T, dir string) string {
		srt := filepath.Join(dir, "subs.srt")
		if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,000 --> 00:00:02,000\nworld\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return rm.IndexedClip(t, dir, rm.Opts{Name: "tracks.mkv", Frames: 60, Audio: true,
			Inputs: [][]string{{"-f", "lavfi", "-i", "sine=frequency=660:duration=2"}, {"-i", srt}},
			Args:   []string{"-c:s", "srt", "-metadata", "title=Real World", "-metadata:s:a:1", "language=fra"}})
	}
	ac3 := clip(rm.Opts{Name: "ac3.mp4", Frames: 45, Audio: true, AudioCodec: []string{"-c:a", "ac3"}})
	rows := []realWorld{
		{name: "rotate=90", input: rotated(90)},
		{name: "rotate=180", input: rotated(180)},
		{name: "rotate=270 (a phone held upright)", input: rotated(270)},
		{name: "VFR: 30 fps with a 10 fps stretch", input: func(t *testing.T, dir string) string {
			return rm.VFRStretch(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 90, Audio: true}), 30, 60, 3)
		}, rate: "30/1"},
		// Remuxed into Matroska, the same file declares its average rate
		// (a default duration of 1/23.4 s): at that rate two pictures of
		// the 30 fps parts would share a frame and one be dropped.
		{name: "VFR in MKV, declaring its average rate", input: func(t *testing.T, dir string) string {
			vfr := rm.VFRStretch(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 90, Audio: true}), 30, 60, 3)
			mkv := rm.Derive(t, vfr, "vfr.mkv", "-map", "0", "-c", "copy")
			if r := rm.Probe(t, mkv).Video(t).RFrameRate; r == "30/1" {
				t.Fatalf("the MKV declares 30/1: it no longer tests a declared average rate")
			}
			return mkv
		}, rate: "30/1", check: everyPicture},
		{name: "numbered PNG sequence (img_NNN.png as a printf pattern, read at 25 fps as ffmpeg does)", input: func(t *testing.T, dir string) string {
			return rm.Derive(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 30}), "img_%03d.png")
		}, rate: "25/1"},
		{name: "sparse Cinepak AVI (20 frames over 7.7 s, declared 15 fps)", input: func(t *testing.T, dir string) string {
			return rm.Sparse(t, dir, 20, 6, "15")
		}, rate: "15/1"},
		{name: "video starts 0.5 s after the audio", input: func(t *testing.T, dir string) string {
			return rm.Offset(t, dir, rm.Opts{Frames: 45}, 500*time.Millisecond)
		}},
		{name: "MPEG-TS cut mid-stream", input: func(t *testing.T, dir string) string {
			return rm.CutTSAt(t, rm.LongTS(t, dir), 2200*time.Millisecond)
		}, rate: "30/1"},
		{name: "raw H.264 in MPEG-TS, no rate in the stream (26.75 fps)", input: func(t *testing.T, dir string) string {
			return rm.RawH264TS(t, dir, 54, "107/4")
		}, rate: "107/4"},
		{name: "NTSC rate 30000/1001", input: clip(rm.Opts{Rate: "30000/1001", Frames: 45, Audio: true}), rate: "30000/1001"},
		{name: "-frames 20 cuts the audio too", input: clip(rm.Opts{Frames: 60, Audio: true}), frames: 20},
		{name: "SAR 16:15 (720x576 PAL)", input: clip(rm.Opts{Name: "pal.mp4", W: 720, H: 576, Rate: "25", Frames: 10, Args: []string{"-vf", "setsar=16/15"}}),
			check: func(t *testing.T, in, out string) {
				v := rm.Probe(t, out).Video(t)
				if v.SAR != "16:15" || v.DAR != "4:3" || v.Width != 720 || v.Height != 576 {
					t.Errorf("output %dx%d SAR %q DAR %q, want 720x576 SAR 16:15 DAR 4:3 (the input's)", v.Width, v.Height, v.SAR, v.DAR)
				}
			}},
		{name: "SAR 512:351 (PAL 16:9 at the ITU's rate, as DVDs and captures have it)", input: clip(rm.Opts{Name: "pal.mp4", W: 720, H: 576, Rate: "25", Frames: 10, Args: []string{"-vf", "setsar=r=512/351:max=1000"}}),
			check: func(t *testing.T, in, out string) {
				v := rm.Probe(t, out).Video(t)
				if v.SAR != "512:351" || v.DAR != "640:351" || v.Width != 720 || v.Height != 576 {
					t.Errorf("output %dx%d SAR %q DAR %q, want 720x576 SAR 512:351 DAR 640:351 (the input's)", v.Width, v.Height, v.SAR, v.DAR)
				}
			}},
		{name: "AC-3 audio in MP4: AAC by default", input: ac3, check: audioCodecs("aac")},
		{name: "AC-3 audio in MP4: -audio copy keeps AC-3", input: ac3, args: []string{"-audio", "copy"}, check: audioCodecs("ac3")},
		{name: "AC-3 audio in MP4: -audio none drops it", input: ac3, args: []string{"-audio", "none"}, check: audioCodecs()},
		// Surround layouts libopus cannot code as they are (it takes the
		// Vorbis orders only) and more channels than AAC takes: remixed to
		// the nearest layout the encoder has, as ffmpeg's filter graph
		// chooses it.
		{name: "5.1(side) AC-3 (a DVD's) into WebM", input: clip(rm.Opts{Name: "side.mkv", Frames: 30, Audio: true,
			AudioCodec: []string{"-c:a", "ac3", "-af", "aformat=channel_layouts=5.1(side)"}}),
			out: "out.webm", check: audioLayouts("opus:5.1")},
		{name: "2.1 and 4.0 AAC into WebM", input: clip(rm.Opts{Name: "21.mp4", Frames: 30, Audio: true,
			AudioCodec: []string{"-c:a", "aac", "-filter:a:0", "aformat=channel_layouts=2.1"},
			Inputs:     [][]string{{"-f", "lavfi", "-i", "sine=frequency=660:duration=1,aformat=channel_layouts=4.0"}}}),
			out: "out.webm", check: audioLayouts("opus:stereo", "opus:5.0")},
		{name: "5.1(side) AC-3 into MP4", input: clip(rm.Opts{Name: "side.mkv", Frames: 30, Audio: true,
			AudioCodec: []string{"-c:a", "ac3", "-af", "aformat=channel_layouts=5.1(side)"}}),
			check: audioLayouts("aac:5.1")},
		{name: "22.2 PCM (broadcast sound) into MP4", input: clip(rm.Opts{Name: "222.mkv", Frames: 30, Audio: true,
			AudioCodec: []string{"-c:a", "pcm_s16le", "-af", "aformat=channel_layouts=22.2"}}),
			check: audioLayouts("aac:7.1")},
		// ffmpeg's Matroska, TS and FLV muxers start the video 21 ms in (the
		// AAC encoder's priming comes first) and keep milliseconds: at 24
		// fps that is half a frame off a grid laid from the file's start.
		{name: "23.976 fps MKV with AAC (the video 21 ms in, as ffmpeg remuxes it)", input: clip(rm.Opts{Name: "film.mkv", Rate: "24000/1001", Frames: 48, Audio: true}),
			rate: "24000/1001", check: samePictures},
		{name: "WMV (ASF's durations count from the file's start)", input: clip(rm.Opts{Name: "old.wmv", Rate: "25", Frames: 40, Audio: true,
			Video: []string{"-c:v", "wmv2", "-q:v", "2"}, AudioCodec: []string{"-c:a", "wmav2"}}), check: func(t *testing.T, in, out string) {
			everyPicture(t, in, out)
			// The last picture is not held past the source's end (the
			// file's play time, read as the video's length, did that).
			src, dst := rm.ReadIndices(t, in), rm.ReadIndices(t, out)
			if e0, e1 := rm.End(src, 40*time.Millisecond), rm.End(dst, 40*time.Millisecond); e1 > e0+20*time.Millisecond {
				t.Errorf("the output's video ends at %v, the source's at %v", e1, e0)
			}
		}},
		// A phone's or action camera's high-speed mode, written at its
		// real rate (not slowed down in the file): every picture kept.
		{name: "480 fps high-speed recording", input: clip(rm.Opts{Name: "hs.mp4", Rate: "480", Frames: 120, Audio: true}),
			check: everyPicture},
		{name: "MKV with two audio tracks, subtitles and a title, into MKV", input: tracks, out: "out.mkv",
			check: streamsAndTitle("out.mkv", "audio:aac audio:aac subtitle:subrip")},
		{name: "MKV with two audio tracks, subtitles and a title, into MP4", input: tracks,
			check: streamsAndTitle("out.mp4", "audio:aac audio:aac subtitle:mov_text")},
		// A camera's or an editor's ProRes MOV: its timecode is its video
		// and tmcd tracks', not the file's.
		{name: "ProRes MOV with a timecode, into MP4", input: clip(rm.Opts{Name: "cam.mov", Rate: "25", Frames: 25, Audio: true,
			Video: []string{"-c:v", "prores_ks"}, AudioCodec: []string{"-c:a", "pcm_s16le"}, Args: []string{"-timecode", "10:00:00:00"}}),
			check: func(t *testing.T, in, out string) {
				v := rm.Probe(t, out).Video(t)
				if tc := v.Tags["timecode"]; tc != "10:00:00:00" {
					t.Errorf("output video timecode %q, want the input's 10:00:00:00", tc)
				}
			}},
		// HDR from phones and cameras: tone-mapped to SDR BT.709, tagged
		// so, and close to the SDR picture it was made from.
		{name: "HDR10 (PQ, BT.2020, 10-bit HEVC) into MP4", input: hdrClip("smpte2084"), check: toneMapped, pictures: sdrOriginal},
		{name: "HLG (an iPhone's HDR) into MP4", input: hdrClip("arib-std-b67"), check: toneMapped, pictures: sdrOriginal},
		{name: "BT.709 tags", input: clip(rm.Opts{Name: "709.mp4", Frames: 30, Args: rm.BT709()}),
			check: func(t *testing.T, in, out string) {
				v := rm.Probe(t, out).Video(t)
				got := strings.Join([]string{v.ColorPrim, v.ColorTransfer, v.ColorSpace, v.ColorRange}, " ")
				if got != "bt709 bt709 bt709 tv" {
					t.Errorf("output colour primaries/transfer/space/range %q, want %q (the input's)", got, "bt709 bt709 bt709 tv")
				}
			}},
		{name: "10-bit 4:2:0", input: clip(rm.Opts{Name: "10bit.mp4", Frames: 30, Video: x264("-pix_fmt", "yuv420p10le")}), check: pixFmt("yuv420p")},
		{name: "8-bit 4:4:4", input: clip(rm.Opts{Name: "444.mp4", Frames: 30, Video: x264("-pix_fmt", "yuv444p")}), check: pixFmt("yuv420p")},
		// Each field shows its own index; the output must show readable
		// (deinterlaced) pictures at 25 fps, each the field shown then.
		{name: "interlaced H.264 (top field first)", input: interlaced(rm.Opts{Name: "tff.mp4", Rate: "25", Frames: 25, Video: x264("-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-top", "1")}),
			fields: true, check: progressive},
		{name: "interlaced MPEG-2", input: interlaced(rm.Opts{Name: "mpeg2.mpg", Rate: "25", Frames: 25, Video: []string{"-c:v", "mpeg2video", "-q:v", "3", "-flags", "+ilme+ildct", "-top", "1"}}),
			fields: true, check: progressive},
		// Told by their content, as browsers and ffmpeg tell them: an APNG is
		// a video, a JPEG saved as .jfif (Windows does) a photo.
		{name: "animated PNG (APNG) into MP4", input: func(t *testing.T, dir string) string {
			return rm.Derive(t, rm.IndexedClip(t, dir, rm.Opts{Rate: "10", Frames: 20}), "anim.png", "-f", "apng")
		}, check: everyPicture},
		{name: "JPEG photo named .jfif, into .jfif", input: func(t *testing.T, dir string) string {
			return rm.Derive(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 1}), "photo.jfif", "-f", "image2", "-c:v", "mjpeg")
		}, out: "out.jfif", still: true, check: func(t *testing.T, in, out string) {
			v := rm.Probe(t, out).Video(t)
			if v.CodecName != "mjpeg" || v.Width != 320 || v.Height != 180 {
				t.Errorf("output %s %dx%d, want a 320x180 JPEG", v.CodecName, v.Width, v.Height)
			}
			if got := rm.Indices(rm.ReadIndices(t, out)); !slices.Equal(got, []int{0}) {
				t.Errorf("output shows %v, want the photo (index 0)", got)
			}
		}},
		{name: "PNG with alpha", input: func(t *testing.T, dir string) string { return rm.AlphaPNG(t, dir, 240, 136) },
			out: "out.png", still: true, check: sameAlpha},
		// An animated GIF: a browser's rate (a 60 fps source's every other
		// frame), no sound, square pixels. Its delays are in hundredths of
		// a second, so the constant-rate checks do not apply: still.
		{name: "60 fps MP4 with audio into GIF", input: clip(rm.Opts{Name: "60.mp4", Rate: "60", Frames: 40, Audio: true}),
			out: "out.gif", still: true, check: gifOf(320, 180, 30, 0, 2)},
		{name: "anamorphic (SAR 4:3) into GIF", input: clip(rm.Opts{Name: "sq.mp4", W: 240, H: 180, Frames: 10, Args: []string{"-vf", "setsar=4/3"}}),
			out: "out.gif", still: true, check: gifOf(320, 180, 30, 0, 1)},
		// Pictures only ffmpeg reads keep their transparency too.
		{name: "Targa with alpha", input: alphaAs("alpha.tga", "-c:v", "targa"), out: "out.png", still: true, check: sameAlphaAsPNG},
		{name: "QOI with alpha", input: alphaAs("alpha.qoi", "-c:v", "qoi"), out: "out.png", still: true, check: sameAlphaAsPNG},
		{name: "JPEG XL with alpha (lossless)", input: alphaAs("alpha.jxl", "-c:v", "libjxl", "-distance", "0"), out: "out.png", still: true, check: sameAlphaAsPNG},
	}
	return rows
}

// TestRealWorld runs the table.
func TestRealWorld(t *testing.T) {
	notUnderRace(t)
	rm.Tools(t)
	model := identityModel(t, t.TempDir())
	audioFlag := helpLists(t, "audio")
	for _, row := range realWorldRows() {
		t.Run(row.name, func(t *testing.T) {
			if !audioFlag && slices.Contains(row.args, "-audio") {
				t.Fatalf("vidstyle has no -audio flag (issue 12, defect 5: -audio copy|auto|none); vidstyle -h does not list it")
			}
			dir := t.TempDir()
			in := row.input(t, dir)
			outName := row.out
			if outName == "" {
				outName = "out.mp4"
			}
			out := filepath.Join(dir, outName)
			args := append([]string{"-in", in, "-out", out, "-model", model}, row.args...)
			if row.frames > 0 {
				args = append(args, "-frames", strconv.Itoa(row.frames))
			}
			code, stderr := vidstyle(t, dir, nil, args...)
			if code != 0 {
				t.Fatalf("vidstyle %s: exit %d, want 0:\n%s", strings.Join(args, " "), code, stderr)
			}
			if strings.Contains(stderr, "input ended at frame") {
				t.Errorf("a false truncation warning for a complete file:\n%s", stderr)
			}
			if !row.still {
				checkTiming(t, row, in, out)
			}
			if row.check != nil {
				row.check(t, in, out)
			}
		})
	}
}

// everyPicture checks that every picture of the input is shown in the
// output: a constant-rate copy at too slow a rate drops some.
func everyPicture(t *testing.T, in, out string) {
	t.Helper()
	shown := map[int]bool{}
	for _, f := range rm.ReadIndices(t, out) {
		shown[f.Index] = true
	}
	var lost []int
	for _, f := range rm.ReadIndices(t, in) {
		if !shown[f.Index] {
			lost = append(lost, f.Index)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d pictures of the input are not in the output: %v", len(lost), lost)
	}
}

// hdrClip makes the indexed clip's HDR version with the transfer function
// given (smpte2084 = PQ, arib-std-b67 = HLG), BT.2020, 10-bit HEVC, from
// its SDR pictures placed as ITU-R BT.2408 places SDR in HDR (SDR white at
// the 203-nit reference white); beside it, sdr.mp4 is the SDR clip it was
// made from.
func hdrClip(transfer string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		sdr := rm.IndexedClip(t, dir, rm.Opts{Name: "sdr.mp4", Frames: 20, Video: []string{"-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"}})
		return rm.Derive(t, sdr, "hdr.mp4", "-vf", "zscale=t="+transfer+":p=bt2020:m=bt2020nc:tin=bt709:pin=bt709:min=bt709:npl=203,format=yuv420p10le",
			"-c:v", "libx265", "-x265-params", "log-level=error", "-crf", "12", "-tag:v", "hvc1",
			"-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc")
	}
}

// sdrOriginal is the SDR clip an hdrClip was made from.
func sdrOriginal(in string) string { return filepath.Join(filepath.Dir(in), "sdr.mp4") }

// toneMapped checks an HDR row: the output is SDR BT.709, and its first
// picture is near the SDR picture the HDR one was made from, much nearer
// than the HDR picture read as it is (what vidstyle did before).
func toneMapped(t *testing.T, in, out string) {
	t.Helper()
	v := rm.Probe(t, out).Video(t)
	if got := v.ColorPrim + " " + v.ColorTransfer + " " + v.ColorSpace; got != "bt709 bt709 bt709" {
		t.Errorf("output primaries/transfer/space %q, want bt709 (SDR)", got)
	}
	first := func(p string) []byte {
		t.Helper()
		b, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sdr := first(sdrOriginal(in))
	diff := func(b []byte) float64 {
		if len(b) != len(sdr) {
			t.Fatalf("%d bytes, the SDR picture %d", len(b), len(sdr))
		}
		s := 0.0
		for i := range b {
			s += math.Abs(float64(b[i]) - float64(sdr[i]))
		}
		return s / float64(len(b))
	}
	mapped, asIs := diff(first(out)), diff(first(in))
	if mapped > 6 || mapped*3 > asIs {
		t.Errorf("the output's picture is %.1f levels from the SDR one (the HDR read as it is: %.1f); want at most 6, and under a third of that", mapped, asIs)
	}
	t.Logf("from the SDR picture: tone-mapped %.1f levels, read as it is %.1f", mapped, asIs)
}

// samePictures checks that the output shows every picture of the input
// once, in order: none dropped, none repeated.
func samePictures(t *testing.T, in, out string) {
	t.Helper()
	if got, want := rm.Indices(rm.ReadIndices(t, out)), rm.Indices(rm.ReadIndices(t, in)); !slices.Equal(got, want) {
		t.Errorf("output pictures %v, want the input's %v", got, want)
	}
}

// checkTiming checks what every video row expects (see the top of the
// file) of row's output out, made from in.
func checkTiming(t *testing.T, row realWorld, in, out string) {
	t.Helper()
	rate, limit := row.rate, row.frames
	keepAudio := !slices.Contains(row.args, "none")
	pictures := in
	if row.pictures != nil {
		pictures = row.pictures(in)
	}
	src, dst := rm.ReadIndices(t, pictures), rm.ReadIndices(t, out)
	if row.fields {
		src = rm.ReadFields(t, in)
	}
	inInfo, outInfo := rm.Probe(t, in), rm.Probe(t, out)
	if rate == "" {
		rate = inInfo.Video(t).RFrameRate
	}
	if len(src) == 0 {
		t.Fatalf("the input %s decodes to no frames", in)
	}
	if len(dst) == 0 {
		t.Fatalf("the output decodes to no frames")
	}
	ov := outInfo.Video(t)
	frame := time.Duration(rm.RateSeconds(t, rate) * 1e9)

	// Orientation and size as shown.
	if r := ov.Rotation(); r != 0 {
		t.Errorf("the output keeps a rotation of %v degrees; want the pixels turned and no tag", r)
	}
	if d := dst[0]; d.Rotation != src[0].Rotation || d.W != src[0].W || d.H != src[0].H {
		t.Errorf("the output shows its picture turned %d° at %dx%d; players show the input turned %d° at %dx%d (want the same)",
			d.Rotation, d.W, d.H, src[0].Rotation, src[0].W, src[0].H)
	}
	for i, f := range dst {
		if f.Index < 0 {
			t.Errorf("output frame %d (at %v) carries no readable index (combed, smeared or cropped?): %s", i, f.PTS, rm.Summary(dst))
			break
		}
	}

	// A constant rate, the source's.
	if ov.RFrameRate != rate {
		t.Errorf("the output's r_frame_rate is %s, want %s (the source's base rate)", ov.RFrameRate, rate)
	}
	for i, d := range rm.Intervals(dst) {
		if (d - frame).Abs() > time.Millisecond {
			t.Errorf("output frames %d and %d are %v apart; want a constant %v (%s fps): %s", i, i+1, d, frame, rate, rm.Summary(dst))
			break
		}
	}

	// The frame shown at 10 instants is the source's, ±1 frame.
	end := rm.End(src, frame)
	if limit > 0 && limit < len(src) {
		end = src[limit].PTS
		if len(dst) != limit {
			t.Errorf("-frames %d wrote %d frames: %s", limit, len(dst), rm.Summary(dst))
		}
	}
	var bad []string
	for k := range 10 {
		at := time.Duration(float64(end) * (float64(k) + 0.5) / 10)
		got := rm.IndexAt(dst, at)
		if !shownNear(src, at, frame, got) {
			bad = append(bad, fmt.Sprintf("at %v the output shows %d, the source %d", at.Round(time.Millisecond), got, rm.IndexAt(src, at)))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of 10 instants show the wrong frame (±1 frame allowed):\n  %s\n  source: %s\n  output: %s",
			len(bad), strings.Join(bad, "\n  "), rm.Summary(src), rm.Summary(dst))
	}
	// The video ends with the source's; where the source's audio goes on
	// longer, holding the last frame to its end is right too.
	latest := end
	s0, s1, sok := rm.Extent(t, in, "a:0")
	if sok && limit <= 0 && s1 > latest {
		latest = s1
	}
	if outEnd := rm.End(dst, frame); outEnd < end-frame || outEnd > latest+frame {
		t.Errorf("the output's video ends at %v, the source's at %v (its audio at %v; want from the video's end to the later of the two, ±1 frame, %v)", outEnd, end, latest, frame)
	}

	// Audio: with the video, from where the source's starts.
	if len(inInfo.OfType("audio")) == 0 || !keepAudio {
		return
	}
	if len(outInfo.OfType("audio")) == 0 {
		t.Fatalf("the input's audio is not in the output (streams: %s)", outInfo.Kinds())
	}
	a0, a1, ok := rm.Extent(t, out, "a:0")
	if !ok || !sok {
		return
	}
	videoEnd := rm.End(dst, frame)
	if (a1 - videoEnd).Abs() > frame {
		t.Errorf("the output's audio ends at %v, its video at %v (want within one frame, %v)", a1, videoEnd, frame)
	}
	// AAC priming puts the first packet up to 1024 samples early.
	if (a0 - s0).Abs() > frame+25*time.Millisecond {
		t.Errorf("the output's audio starts at %v, the source's at %v on the file's timeline (want within one frame, %v)", a0, s0, frame)
	}
}

// shownNear reports whether index is a source frame shown at some moment
// within one frame of at (before the source's first frame: nothing, -1,
// or the first frame held).
func shownNear(src []rm.Frame, at, frame time.Duration, index int) bool {
	lo, hi := rm.ShownAt(src, at-frame), rm.ShownAt(src, at+frame)
	if lo < 0 && (index == -1 || index == src[0].Index) {
		return true
	}
	for j := max(lo, 0); j <= hi; j++ {
		if src[j].Index == index {
			return true
		}
	}
	return false
}

// audioCodecs checks that the output's audio streams are these codecs.
func audioCodecs(want ...string) func(t *testing.T, in, out string) {
	return func(t *testing.T, in, out string) {
		var got []string
		for _, s := range rm.Probe(t, out).OfType("audio") {
			got = append(got, s.CodecName)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("output audio %v, want %v", got, want)
		}
	}
}

// audioLayouts checks the output's audio tracks as "codec:layout" (ffprobe's
// channel_layout), in order.
func audioLayouts(want ...string) func(t *testing.T, in, out string) {
	return func(t *testing.T, in, out string) {
		var got []string
		for _, s := range rm.Probe(t, out).OfType("audio") {
			got = append(got, s.CodecName+":"+s.ChannelLayout)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("output audio %v, want %v", got, want)
		}
	}
}

// streamsAndTitle checks the output's audio and subtitle streams (as
// "type:codec" in file order) and its title tag.
func streamsAndTitle(name, want string) func(t *testing.T, in, out string) {
	return func(t *testing.T, in, out string) {
		info := rm.Probe(t, out)
		var got []string
		for _, s := range info.Streams {
			if s.CodecType != "video" {
				got = append(got, s.CodecType+":"+s.CodecName)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s has tracks %q besides the video, want %q (every audio and subtitle track of the input)", name, strings.Join(got, " "), want)
		}
		if title := info.Format.Tags["title"]; title != "Real World" {
			t.Errorf("%s has title %q, want %q (the input's)", name, title, "Real World")
		}
	}
}

// pixFmt checks the output's pixel format (and so its bit depth).
func pixFmt(want string) func(t *testing.T, in, out string) {
	return func(t *testing.T, in, out string) {
		if v := rm.Probe(t, out).Video(t); v.PixFmt != want {
			t.Errorf("output pix_fmt %s (profile %s), want %s: it plays everywhere", v.PixFmt, v.Profile, want)
		}
	}
}

// progressive checks that an interlaced input came out deinterlaced.
func progressive(t *testing.T, in, out string) {
	if v := rm.Probe(t, in).Video(t); v.FieldOrder != "tt" {
		t.Fatalf("the input's field_order is %q: the test did not make an interlaced file", v.FieldOrder)
	}
	if v := rm.Probe(t, out).Video(t); v.FieldOrder != "progressive" {
		t.Errorf("output field_order %q, want progressive (deinterlaced)", v.FieldOrder)
	}
}

// sameAlpha checks that the output PNG has the input's alpha, and its
// colour where opaque (the model is the identity).
func sameAlpha(t *testing.T, in, out string) {
	a, _ := rm.ReadPNG(t, in)
	b, hasAlpha := rm.ReadPNG(t, out)
	if !hasAlpha {
		t.Fatalf("the output PNG has no alpha channel; the input has one")
	}
	if a.Bounds() != b.Bounds() {
		t.Fatalf("output %v, input %v", b.Bounds(), a.Bounds())
	}
	alphaOff, colourOff, worst := 0, 0, 0
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			ca, cb := a.NRGBAAt(x, y), b.NRGBAAt(x, y)
			if d := levelDiff(ca.A, cb.A); d > 1 {
				alphaOff++
			}
			if ca.A == 255 {
				d := max(levelDiff(ca.R, cb.R), levelDiff(ca.G, cb.G), levelDiff(ca.B, cb.B))
				worst = max(worst, d)
				if d > 3 {
					colourOff++
				}
			}
		}
	}
	if alphaOff > 0 {
		t.Errorf("%d pixels have an alpha other than the input's (±1)", alphaOff)
	}
	if colourOff > 0 {
		t.Errorf("%d opaque pixels differ in colour by more than 3 levels (worst %d)", colourOff, worst)
	}
}

// gifOf checks that the output is a GIF of w×h at fps frames a second on
// average (its delays are whole hundredths: 3, 3, 4 for 30 fps), with no
// sound, whose frames show the input's from first, every step-th, to its
// end.
func gifOf(w, h int, fps float64, first, step int) func(t *testing.T, in, out string) {
	return func(t *testing.T, in, out string) {
		info := rm.Probe(t, out)
		v := info.Video(t)
		if v.CodecName != "gif" || v.Width != w || v.Height != h {
			t.Errorf("output %s %dx%d, want a %dx%d GIF", v.CodecName, v.Width, v.Height, w, h)
		}
		if n := len(info.OfType("audio")); n != 0 {
			t.Errorf("the GIF has %d audio streams", n)
		}
		var want []int
		for i := first; i < len(rm.ReadIndices(t, in)); i += step {
			want = append(want, i)
		}
		frames := rm.ReadIndices(t, out)
		if got := rm.Indices(frames); !slices.Equal(got, want) {
			t.Errorf("the GIF shows %v, want %v", got, want)
		}
		if n := len(frames); n > 1 {
			mean := (frames[n-1].PTS - frames[0].PTS) / time.Duration(n-1)
			if d := mean - time.Duration(float64(time.Second)/fps); d.Abs() > 2*time.Millisecond {
				t.Errorf("the GIF's frames are %v apart on average, want %v (%g fps)", mean, time.Duration(float64(time.Second)/fps), fps)
			}
		}
	}
}

// alphaAs makes AlphaPNG's picture (beside it, as alpha.png) into another
// format with ffmpeg.
func alphaAs(name string, args ...string) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		png := rm.AlphaPNG(t, dir, 240, 136)
		return rm.Derive(t, png, name, append(args, "-frames:v", "1")...)
	}
}

// sameAlphaAsPNG is sameAlpha against the PNG alphaAs made the input from.
func sameAlphaAsPNG(t *testing.T, in, out string) {
	sameAlpha(t, filepath.Join(filepath.Dir(in), "alpha.png"), out)
}

func levelDiff(a, b uint8) int {
	return int(math.Abs(float64(a) - float64(b)))
}

// A/V sync on the VFR and offset files: beeps at ten frames of the source
// are heard in the output while the frame the source shows then is shown
// (±1 frame), and the output's audio and video end together.
func TestRealWorldAVSync(t *testing.T) {
	notUnderRace(t)
	rm.Tools(t)
	model := identityModel(t, t.TempDir())
	beeps := []int{4, 13, 22, 31, 40, 49, 58, 67, 76, 85}
	for _, c := range []struct {
		name  string
		input func(t *testing.T, dir string) string
	}{
		{"VFR", func(t *testing.T, dir string) string {
			return rm.VFRStretch(t, rm.IndexedClip(t, dir, rm.Opts{Frames: 90, Audio: true, Beeps: beeps}), 30, 60, 3)
		}},
		{"video 0.5 s after the audio", func(t *testing.T, dir string) string {
			return rm.Offset(t, dir, rm.Opts{Frames: 90, Beeps: beeps}, 500*time.Millisecond)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := c.input(t, dir)
			out := filepath.Join(dir, "out.mp4")
			if code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model); code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			src, dst := rm.ReadIndices(t, in), rm.ReadIndices(t, out)
			frame := time.Second / 30
			inBeeps, outBeeps := rm.Beeps(t, in), rm.Beeps(t, out)
			if len(inBeeps) != len(beeps) {
				t.Fatalf("the input has beeps at %v, want %d", inBeeps, len(beeps))
			}
			if len(outBeeps) != len(beeps) {
				t.Fatalf("the output has beeps at %v, want %d (the input's at %v)", outBeeps, len(beeps), inBeeps)
			}
			var bad []string
			for k := range beeps {
				want, got := rm.IndexAt(src, inBeeps[k]), rm.IndexAt(dst, outBeeps[k])
				if !shownNear(src, inBeeps[k], frame, got) {
					bad = append(bad, fmt.Sprintf("beep %d: heard at %v in the source with frame %d, at %v in the output with frame %d",
						k, inBeeps[k].Round(time.Millisecond), want, outBeeps[k].Round(time.Millisecond), got))
				}
			}
			if len(bad) > 0 {
				t.Errorf("%d of %d beeps out of sync (±1 frame allowed):\n  %s\n  output: %s", len(bad), len(beeps), strings.Join(bad, "\n  "), rm.Summary(dst))
			}
			_, a1, ok := rm.Extent(t, out, "a:0")
			if !ok {
				t.Fatal("the output has no audio")
			}
			if v1 := rm.End(dst, frame); (a1 - v1).Abs() > frame {
				t.Errorf("the output's audio ends at %v, its video at %v (want within one frame)", a1, v1)
			}
		})
	}
}

// File names with a colon, as a camera's clock or a user writes them
// ("12:30.mp4", "take:2", a folder "a:b"), given relative to the working
// folder: ffmpeg would take "12" for a protocol. The whole job works,
// the audio cut at -frames included (a second ffmpeg pass on the output).
func TestRealWorldColonNames(t *testing.T) {
	rm.Tools(t)
	model := identityModel(t, t.TempDir())
	dir := t.TempDir()
	rm.IndexedClip(t, dir, rm.Opts{Name: "12:30.mp4", Frames: 45, Audio: true})
	if err := os.Mkdir(filepath.Join(dir, "a:b"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("a:b", "take:2.mp4")
	code, stderr := vidstyle(t, dir, nil, "-in", "12:30.mp4", "-out", out, "-model", model, "-frames", "20")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a warning:\n%s", stderr)
	}
	full := filepath.Join(dir, out)
	if got, want := rm.Indices(rm.ReadIndices(t, full)), rm.Indices(rm.ReadIndices(t, filepath.Join(dir, "12:30.mp4")))[:20]; !slices.Equal(got, want) {
		t.Errorf("output frames %v, want %v", got, want)
	}
	if _, a1, ok := rm.Extent(t, full, "a:0"); !ok || (a1-20*time.Second/30).Abs() > time.Second/30 {
		t.Errorf("output audio ends at %v (ok %v), want with the 20th frame at 667 ms", a1, ok)
	}
}

// Two MPEG-TS recordings joined with cat (a DVR's or a stream dump's
// parts): their times start again at the join, and the container's
// duration spans the first part only. The output is both parts in order at
// the one constant rate, with their audio, and no warning calls the file
// damaged; the start line counts the pictures of both.
func TestRealWorldJoinedRecordings(t *testing.T) {
	rm.Tools(t)
	model := identityModel(t, t.TempDir())
	dir := t.TempDir()
	var joined []byte
	var want []int
	for _, n := range []int{60, 30} {
		part := rm.IndexedClip(t, dir, rm.Opts{Name: fmt.Sprintf("part%d.ts", n), Frames: n, Audio: true})
		data, err := os.ReadFile(part)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, data...)
		for i := range n {
			want = append(want, i)
		}
	}
	in := filepath.Join(dir, "joined.ts")
	if err := os.WriteFile(in, joined, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a warning for a whole file:\n%s", stderr)
	}
	if !strings.Contains(stderr, "90 frames") {
		t.Errorf("the start line does not count the 90 pictures of both parts:\n%s", stderr)
	}
	dst := rm.ReadIndices(t, out)
	got := rm.Indices(dst)
	if len(got) == len(want)+1 && got[0] == got[1] {
		// The audio starts 23 ms before the video (AAC's priming): the
		// first picture also fills the frame before it, as for one part.
		got = got[1:]
	}
	if !slices.Equal(got, want) {
		t.Errorf("the output shows %s, want frames 0..59 then 0..29", rm.Summary(dst))
	}
	frame := time.Second / 30
	for i, d := range rm.Intervals(dst) {
		if (d - frame).Abs() > time.Millisecond {
			t.Errorf("output frames %d and %d are %v apart, want %v: %s", i, i+1, d, frame, rm.Summary(dst))
			break
		}
	}
	_, a1, ok := rm.Extent(t, out, "a:0")
	if !ok {
		t.Fatal("the output has no audio")
	}
	if v1 := rm.End(dst, frame); (a1-v1).Abs() > 2*frame || v1 < 3*time.Second-frame {
		t.Errorf("the output's video ends at %v and its audio at %v, want both at 3 s", v1, a1)
	}
}

// A photo too big for memory is refused up front with an estimate and a
// way out, unless -force. 12000x8000 (96 Mpx, a medium-format camera's)
// with a Johnson-shaped net needs about 64 GB at full size.
func TestRealWorldHugePhotoIsRefused(t *testing.T) {
	rm.Tools(t)
	if !helpLists(t, "force") {
		t.Skip("blocked on -force (issue 12, defect 9: refuse a job that needs more memory than there is, unless forced): vidstyle -h does not list it")
	}
	const w, h = 12000, 8000
	if avail := realMemAvailable(t); avail > 700*w*h {
		t.Skipf("this machine has %d GB available: the job may fit", avail>>30)
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "johnson.onnx")
	if err := os.WriteFile(model, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644); err != nil {
		t.Fatal(err)
	}
	in := rm.HugeJPEG(t, dir, w, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Were it not refused, the job would try to take 64 GB: cap it.
	cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -v 16000000; exec "$@"`, "sh", binary, "-in", in, "-out", filepath.Join(dir, "out.png"), "-model", model)
	cmd.Dir = dir
	cmd.Env = command(dir, nil).Env
	code, stderr := runCmd(t, cmd)
	if ctx.Err() != nil {
		t.Fatalf("not refused: still running after 60 s:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code == 0 || !strings.Contains(last, "-size") || !strings.Contains(last, "-scale") || !strings.Contains(last, "-force") || !strings.Contains(last, "GB") {
		t.Errorf("exit %d, last line %q: want a non-zero exit and one line with the memory estimate (GB) suggesting -size, -scale or -force:\n%s", code, last, stderr)
	}
	if fileExists(filepath.Join(dir, "out.png")) {
		t.Error("an output was written")
	}
}

// realMemAvailable is MemAvailable from /proc/meminfo, in bytes.
func realMemAvailable(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no MemAvailable in /proc/meminfo")
	return 0
}
