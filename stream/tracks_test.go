package stream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// makeMedia runs ffmpeg to make a test input.
func makeMedia(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func probe(t *testing.T, path string) *media.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, err := media.Probe(ctx, "", path)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// chapters counts the chapters ffprobe finds in a file.
func chapters(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_chapters", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Fields(string(out)))
}

// grey is a solid BGR frame of one level.
func grey(w, h int, level uint8) gocv.Mat {
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(level), float64(level), float64(level), 0), h, w, gocv.MatTypeCV8UC3)
}

// writeTimed writes solid frames (frame i at level levels[i]) with the
// given times through Write, then closes the file (early: CloseEarly).
func writeTimed(t *testing.T, cfg VideoConfig, pts []time.Duration, levels []uint8, early bool) *VideoFile {
	t.Helper()
	v, err := CreateVideo(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Abort()
	for i, p := range pts {
		m := grey(cfg.Width, cfg.Height, levels[i])
		err := v.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Index: int64(i), PTS: p}, Image: &pipeline.Ref[*gocv.Mat]{V: &m}})
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	closeFn := v.Close
	if early {
		closeFn = v.CloseEarly
	}
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	return v
}

// levels decodes a video and returns each frame's centre pixel (green).
func levels(t *testing.T, path string, w, h int) []int {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	size := w * h * 3
	var got []int
	for off := 0; off+size <= len(out); off += size {
		got = append(got, int(out[off+(h/2*w+w/2)*3+1]))
	}
	return got
}

// TestRetimePlacesFramesBySlot: frames go where their PTS falls at the
// output rate. The first picture fills the slots from 0 (a video that
// starts late), a gap repeats the picture before it, a frame on a slot
// already written is dropped, Close holds the last picture up to End and
// CloseEarly does not.
func TestRetimePlacesFramesBySlot(t *testing.T) {
	ms := time.Millisecond
	pts := []time.Duration{300 * ms, 400 * ms, 800 * ms, 820 * ms, 1000 * ms}
	lv := []uint8{40, 80, 120, 160, 200}
	// Slots at 10 fps: 3, 4, 8, 8 (dropped), 10; End 1.5 s = slot 15.
	want := []int{40, 40, 40, 40, 80, 80, 80, 80, 120, 120, 200, 200, 200, 200, 200}
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("early=%v", early), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o.mp4")
			cfg := VideoConfig{Path: path, Width: 64, Height: 48, Rate: pipeline.Rate{Num: 10, Den: 1}, Retime: true, End: 1500 * ms}
			v := writeTimed(t, cfg, pts, lv, early)
			w := want
			if early {
				w = want[:11]
			}
			if v.Frames() != 5 || v.Slots() != int64(len(w)) || v.dropped != 1 {
				t.Errorf("Frames %d Slots %d dropped %d, want 5 %d 1", v.Frames(), v.Slots(), v.dropped, len(w))
			}
			got := levels(t, path, 64, 48)
			if len(got) != len(w) {
				t.Fatalf("%d frames in the file, want %d: %v", len(got), len(w), got)
			}
			for i := range w {
				if d := got[i] - w[i]; d < -6 || d > 6 {
					t.Fatalf("frame %d shows level %d, want %d (all: %v)", i, got[i], w[i], got)
				}
			}
			if s := probe(t, path).Video(); s.RFrameRate != (media.Ratio{Num: 10, Den: 1}) || s.Frames != int64(len(w)) {
				t.Errorf("ffprobe: rate %v, %d frames", s.RFrameRate, s.Frames)
			}
		})
	}
}

// TestRetimeNoPaddingWhenFramesStopFarShort: a file whose frames stop
// long before the end it declares (cut off) is not padded with a frozen
// picture up to it.
func TestRetimeNoPaddingWhenFramesStopFarShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.mkv")
	r := pipeline.Rate{Num: 30, Den: 1}
	pts := []time.Duration{r.Time(0), r.Time(1), r.Time(2)}
	v := writeTimed(t, VideoConfig{Path: path, Width: 32, Height: 32, Rate: r, Retime: true, End: time.Minute}, pts, []uint8{10, 20, 30}, false)
	if v.Slots() != 3 {
		t.Errorf("%d output frames, want 3", v.Slots())
	}
}

// TestExactRateWritten: the written stream has exactly the source's
// rate, as ffprobe reports both its base and its average rate.
func TestExactRateWritten(t *testing.T) {
	for _, c := range []struct {
		ext  string
		rate pipeline.Rate
	}{{".mp4", pipeline.Rate{Num: 30000, Den: 1001}}, {".mkv", pipeline.Rate{Num: 30000, Den: 1001}}, {".mp4", pipeline.Rate{Num: 107, Den: 4}}, {".mov", pipeline.Rate{Num: 24000, Den: 1001}}} {
		t.Run(c.ext+" "+c.rate.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o"+c.ext)
			var pts []time.Duration
			var lv []uint8
			for i := range 30 {
				pts = append(pts, c.rate.Time(int64(i)))
				lv = append(lv, uint8(i*8))
			}
			writeTimed(t, VideoConfig{Path: path, Width: 64, Height: 36, Rate: c.rate, Retime: true}, pts, lv, false)
			s := probe(t, path).Video()
			want := media.Ratio{Num: c.rate.Num, Den: c.rate.Den}
			if s.RFrameRate != want || s.AvgFrameRate != want {
				t.Errorf("r_frame_rate %v, avg_frame_rate %v, want %v", s.RFrameRate, s.AvgFrameRate, want)
			}
		})
	}
}

// tracksSource makes a 2 s MKV with two audio tracks (AAC English, AC-3
// French titled "Commentary"), an ASS subtitle track (German), a title
// two chapters and an attached font; its audio lasts 4 s.
func tracksSource(t *testing.T, dir string) *media.Info {
	t.Helper()
	srt := filepath.Join(dir, "s.srt")
	meta := filepath.Join(dir, "meta.txt")
	os.WriteFile(srt, []byte("1\n00:00:00,100 --> 00:00:00,800\nHello\n\n2\n00:00:01,000 --> 00:00:01,500\nWorld\n"), 0o644)
	os.WriteFile(meta, []byte(";FFMETADATA1\ntitle=My Title\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\n"), 0o644)
	font := filepath.Join(dir, "font.ttf")
	os.WriteFile(font, []byte("not really a font"), 0o644)
	src := filepath.Join(dir, "src.mkv")
	makeMedia(t, "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:d=2", "-f", "lavfi", "-i", "sine=d=4:f=440",
		"-f", "lavfi", "-i", "sine=d=4:f=880", "-i", srt, "-i", meta,
		"-map", "0", "-map", "1", "-map", "2", "-map", "3", "-map_metadata", "4", "-map_chapters", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a:0", "aac", "-c:a:1", "ac3", "-ac:a:1", "2", "-c:s", "ass",
		"-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Commentary",
		"-metadata:s:s:0", "language=deu", "-attach", font, "-metadata:s:t", "mimetype=font/ttf", src)
	return probe(t, src)
}

// TestTracksCarriedAcross: every audio and subtitle track, the title,
// the languages, a track's title and the chapters reach the output as the
// container allows, by the audio policy: MKV keeps everything as it is;
// MP4 re-encodes AC-3 to AAC (auto, with one line saying so) or keeps it
// (copy), converts the subtitles to mov_text, and -audio none drops only
// the audio; WebM gets Opus and WebVTT.
func TestTracksCarriedAcross(t *testing.T) {
	dir := t.TempDir()
	in := tracksSource(t, dir)
	const reencoded = "audio track 2 (ac3) re-encoded to AAC: browsers play AC-3 in MP4 silent; -audio copy keeps it"
	for _, c := range []struct {
		out         string
		audio       Audio
		audioCodecs []string
		subCodec    string
		commentary  string // the tag "Commentary" is in
		log         string
		attachments int
	}{
		{"o.mkv", AudioAuto, []string{"aac", "ac3"}, "ass", "title", "", 1},
		{"o.mp4", AudioAuto, []string{"aac", "aac"}, "mov_text", "handler_name", reencoded, 0},
		{"c.mp4", AudioCopy, []string{"aac", "ac3"}, "mov_text", "handler_name", "", 0},
		{"n.mp4", AudioNone, nil, "mov_text", "", "", 0},
		{"o.webm", AudioAuto, []string{"opus", "opus"}, "webvtt", "title", "audio track 1 (aac) re-encoded to Opus: WebM cannot hold AAC; .mkv keeps it", 0},
	} {
		t.Run(c.out+" "+string(c.audio), func(t *testing.T) {
			var log bytes.Buffer
			path := filepath.Join(dir, c.out)
			pts := []time.Duration{0, 40 * time.Millisecond, 80 * time.Millisecond}
			writeTimed(t, VideoConfig{Path: path, Width: 160, Height: 90, Rate: pipeline.Rate{Num: 25, Den: 1}, Retime: true,
				Input: in, Audio: c.audio, Log: slog.New(slog.NewTextHandler(&log, nil))}, pts, []uint8{50, 100, 150}, false)
			out := probe(t, path)
			var codecs []string
			for _, s := range out.OfType("audio") {
				codecs = append(codecs, s.Codec)
			}
			if !slices.Equal(codecs, c.audioCodecs) {
				t.Errorf("audio tracks %v, want %v", codecs, c.audioCodecs)
			}
			subs := out.OfType("subtitle")
			if len(subs) != 1 || subs[0].Codec != c.subCodec || subs[0].Tags["language"] != "deu" {
				t.Errorf("subtitles %+v, want one %s in German", subs, c.subCodec)
			}
			if a := out.OfType("audio"); len(a) == 2 {
				if a[0].Tags["language"] != "eng" || a[1].Tags["language"] != "fra" || a[1].Tags[c.commentary] != "Commentary" {
					t.Errorf("audio tags %v / %v", a[0].Tags, a[1].Tags)
				}
			}
			if title := out.Tags["title"]; title != "My Title" {
				t.Errorf("title %q", title)
			}
			if n := chapters(t, path); n != 2 {
				t.Errorf("%d chapters, want 2", n)
			}
			if n := len(out.OfType("attachment")); n != c.attachments {
				t.Errorf("%d attachments, want %d", n, c.attachments)
			}
			if len(out.OfType("video")) != 1 {
				t.Errorf("video streams: %d", len(out.OfType("video")))
			}
			if c.log != "" && !strings.Contains(log.String(), c.log) {
				t.Errorf("log %q does not say %q", log.String(), c.log)
			}
			if c.log == "" && strings.Contains(log.String(), "re-encoded") {
				t.Errorf("log: %s", log.String())
			}
		})
	}
}

// TestCloseEarlyCutsAudio: a job stopped early (-frames, Ctrl-C) ends its
// audio where its video ends, to within a frame (plus the audio's own
// packet size), and keeps its other tracks.
func TestCloseEarlyCutsAudio(t *testing.T) {
	dir := t.TempDir()
	in := tracksSource(t, dir) // 2 s of video, 4 s of audio
	path := filepath.Join(dir, "o.mp4")
	stopEarly(t, path, in)
	out := probe(t, path)
	video := out.Video().Duration
	if video != 480*time.Millisecond {
		t.Errorf("video lasts %v, want 480ms", video)
	}
	for _, a := range out.OfType("audio") {
		if d := a.Duration - video; d < -40*time.Millisecond || d > 40*time.Millisecond+24*time.Millisecond {
			t.Errorf("audio track %d lasts %v, video %v", a.Index, a.Duration, video)
		}
	}
	if len(out.OfType("audio")) != 2 || len(out.OfType("subtitle")) != 1 {
		t.Errorf("tracks after the cut: %d audio, %d subtitle", len(out.OfType("audio")), len(out.OfType("subtitle")))
	}
}

// stopEarly writes 12 frames at 25 fps of a 2 s input to path and closes
// it early, as -frames 12 does.
func stopEarly(t *testing.T, path string, in *media.Info) {
	t.Helper()
	r := pipeline.Rate{Num: 25, Den: 1}
	var pts []time.Duration
	var lv []uint8
	for i := range 12 {
		pts = append(pts, r.Time(int64(i)))
		lv = append(lv, uint8(20*i))
	}
	writeTimed(t, VideoConfig{Path: path, Width: 160, Height: 90, Rate: r, Retime: true, End: 2 * time.Second, Input: in}, pts, lv, true)
}

// TestCloseEarlyEndsTheSubtitles: a job stopped early ends where its
// video ends even when the next subtitle cue is a minute later (the
// empty sample MP4 and MOV put before it was kept whole: a 0.48 s file
// lasted 60 s), and the cues it keeps are copied as they were (encoding
// mov_text again moved its bold and italics).
func TestCloseEarlyEndsTheSubtitles(t *testing.T) {
	dir := t.TempDir()
	cues := map[string]string{
		"early": "1\n00:00:00,100 --> 00:00:00,300\n<b>Hello</b> <i>world</i> plain\n\n2\n00:01:00,000 --> 00:01:02,000\nLate\n",
		"late":  "1\n00:01:00,000 --> 00:01:02,000\nLate\n",
	}
	chapters := filepath.Join(dir, "chapters.txt")
	if err := os.WriteFile(chapters, []byte(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A MOV with chapters holds a chapter track the cut copied, and the
	// muxer refused: the cut failed, and the file kept its whole length.
	for _, c := range []struct{ cues, in, out string }{
		{"early", "src.mkv", "o.mp4"}, {"early", "src.mp4", "o.mov"}, {"late", "late.mp4", "late.mp4"}, {"early", "chapters.mkv", "chapters.mov"},
	} {
		t.Run(c.out, func(t *testing.T) {
			srt := filepath.Join(dir, c.cues+".srt")
			if err := os.WriteFile(srt, []byte(cues[c.cues]), 0o600); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(dir, c.in)
			makeMedia(t, "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:d=2", "-f", "lavfi", "-i", "sine=d=2", "-i", srt, "-i", chapters,
				"-map", "0", "-map", "1", "-map", "2", "-map_chapters", "3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
				"-c:s", map[bool]string{true: "mov_text", false: "srt"}[strings.HasSuffix(c.in, ".mp4")], src)
			in := probe(t, src)
			path := filepath.Join(dir, "out-"+c.out)
			stopEarly(t, path, in)
			out := probe(t, path)
			if len(out.OfType("subtitle")) != 1 {
				t.Fatalf("%d subtitle tracks, want 1", len(out.OfType("subtitle")))
			}
			if video := out.Video().Duration; out.Duration > video+100*time.Millisecond {
				t.Errorf("the file lasts %v, its video %v", out.Duration, video)
			}
			if c.cues == "early" && strings.HasSuffix(c.in, ".mp4") {
				first := func(p string) string {
					b, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-map", "0:s", "-f", "srt", "-").Output()
					if err != nil {
						t.Fatalf("ffmpeg: %v", err)
					}
					lines := strings.Split(string(b), "\n")
					if len(lines) < 3 {
						t.Fatalf("no cue in %s: %q", p, b)
					}
					return strings.TrimSpace(lines[2])
				}
				if got, want := first(path), first(src); got != want {
					t.Errorf("the first cue reads %q, the source's %q", got, want)
				}
			}
		})
	}
}

// TestTrackRules: what each container does with tracks vidstyle cannot
// make with ffmpeg here (bitmap subtitles, TrueHD, PCM), from a made-up
// description: which tracks are mapped, with which codec, what is said.
func TestTrackRules(t *testing.T) {
	in := &media.Info{Path: "in.mkv", Streams: []media.Stream{
		{Index: 0, Type: "video", Codec: "h264", Default: true, Width: 320, Height: 180},
		{Index: 8, Type: "video", Codec: "mjpeg", AttachedPic: true},
		{Index: 9, Type: "video", Codec: "hevc", Width: 640, Height: 360},
		{Index: 1, Type: "audio", Codec: "truehd", Channels: 8, ChannelLayout: "7.1"},
		{Index: 2, Type: "audio", Codec: "pcm_s16le", Channels: 2, ChannelLayout: "stereo"},
		{Index: 3, Type: "subtitle", Codec: "hdmv_pgs_subtitle"},
		{Index: 4, Type: "subtitle", Codec: "subrip"},
		{Index: 5, Type: "subtitle", Codec: "dvd_subtitle"},
		{Index: 6, Type: "data", Codec: "bin_data"},
		{Index: 7, Type: "attachment", Codec: "ttf"},
	}}
	for _, c := range []struct {
		format string
		audio  Audio
		want   string // the options, space-joined (tags and metadata left out)
		log    []string
		err    string
	}{
		{"matroska", AudioAuto, "-map 1:1 -map 1:2 -map 1:3 -map 1:4 -map 1:5 -map 1:7 -c:a:0 copy -c:a:1 copy -c:s:0 copy -c:s:1 copy -c:s:2 copy -c:t copy", nil, ""},
		{"mp4", AudioAuto, "-map 1:1 -map 1:2 -map 1:4 -c:a:0 aac -b:a:0 576k -c:a:1 aac -b:a:1 192k -c:s:0 mov_text",
			[]string{"audio track 1 (truehd) re-encoded to AAC: MP4 cannot hold TrueHD; .mkv keeps it",
				"audio track 2 (pcm_s16le) re-encoded to AAC: MP4 cannot hold PCM; .mkv keeps it",
				"subtitle tracks 1 (hdmv_pgs_subtitle), 3 (dvd_subtitle) dropped: MP4 holds text subtitles only (as mov_text); .mkv keeps them"}, ""},
		{"mov", AudioCopy, "", nil, "output o.mov: -audio copy: .mov cannot hold audio track 1 (truehd)"},
		{"mp4", AudioNone, "-map 1:4 -c:s:0 mov_text", []string{"subtitle tracks 1 (hdmv_pgs_subtitle), 3 (dvd_subtitle) dropped"}, ""},
		{"webm", AudioAuto, "-map 1:1 -map 1:2 -map 1:4 -c:a:0 libopus -b:a:0 384k -filter:a:0 " + opusLayouts + " -c:a:1 libopus -b:a:1 128k -filter:a:1 " + opusLayouts + " -c:s:0 webvtt", nil, ""},
	} {
		var log bytes.Buffer
		ext := map[string]string{"matroska": ".mkv", "mp4": ".mp4", "mov": ".mov", "webm": ".webm"}[c.format]
		args, err := trackArgs(c.format, "o"+ext, in, c.audio, false, pipeline.Rate{Num: 25, Den: 1}, slog.New(slog.NewTextHandler(&log, nil)))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err %v, want %q", c.format, c.audio, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.format, c.audio, err)
			continue
		}
		var kept []string
		for i := 0; i < len(args); i += 2 {
			if o := args[i]; !strings.HasPrefix(o, "-metadata") && !strings.HasPrefix(o, "-map_") {
				kept = append(kept, o, args[i+1])
			}
		}
		if got := strings.Join(kept, " "); got != c.want {
			t.Errorf("%s %s:\n got %s\nwant %s", c.format, c.audio, got, c.want)
		}
		for _, l := range c.log {
			if !strings.Contains(log.String(), l) {
				t.Errorf("%s %s: log %q does not say %q", c.format, c.audio, log.String(), l)
			}
		}
		if n := strings.Count(log.String(), "dropped"); n > 1 {
			t.Errorf("%s: %d warnings about dropped tracks, want one line", c.format, n)
		}
		if want := "video stream 9 (hevc, 640x360) not used: vidstyle stylizes one video stream, 0 (h264, 320x180, the file's default)"; c.err == "" && !strings.Contains(log.String(), want) {
			t.Errorf("%s: log %q does not say %q (cover art is no video stream)", c.format, log.String(), want)
		}
	}
}

// TestMatroskaCopiesWhatItHolds: a phone .3gp's AMR goes into .mkv as it
// is, under -audio auto and copy (Matroska holds it with a WAV tag);
// Blu-ray LPCM does not, and -audio copy says so before anything is done.
func TestMatroskaCopiesWhatItHolds(t *testing.T) {
	for codec, copied := range map[string]bool{"amr_nb": true, "amr_wb": true, "g723_1": true, "pcm_s64le": true, "pcm_bluray": false, "pcm_u16le": false, "pcm_s16le_planar": false} {
		in := &media.Info{Path: "in.3gp", Streams: []media.Stream{{Index: 0, Type: "video", Codec: "h264", Default: true}, {Index: 1, Type: "audio", Codec: codec, Channels: 1, ChannelLayout: "mono"}}}
		for _, audio := range []Audio{AudioAuto, AudioCopy} {
			args, err := trackArgs("matroska", "o.mkv", in, audio, false, pipeline.Rate{Num: 25, Den: 1}, slog.New(slog.DiscardHandler))
			got := err == nil && strings.Contains(strings.Join(args, " "), "-c:a:0 copy")
			if got != copied || (audio == AudioAuto && err != nil) || (audio == AudioCopy && !copied && err == nil) {
				t.Errorf("%s into .mkv, -audio %s: %v %v, want copied %v", codec, audio, args, err, copied)
			}
		}
	}
}

// TestSampleAspectKept: a 720×576 picture with 16:15 pixels is written
// with that sample aspect, so players show it 4:3.
func TestSampleAspectKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.mp4")
	writeTimed(t, VideoConfig{Path: path, Width: 720, Height: 576, Rate: pipeline.Rate{Num: 25, Den: 1}, SAR: media.Ratio{Num: 16, Den: 15}},
		[]time.Duration{0, 40 * time.Millisecond}, []uint8{30, 60}, false)
	s := probe(t, path).Video()
	if s.SAR != (media.Ratio{Num: 16, Den: 15}) || s.DAR != (media.Ratio{Num: 4, Den: 3}) {
		t.Errorf("sample aspect %v, display aspect %v; want 16/15, 4/3", s.SAR, s.DAR)
	}
}

// TestBT709KeptAndColoursRoundTrip: a BT.709 input decoded to BGR as the
// decoder does (by its tags) and written back is tagged BT.709, and a
// saturated colour decodes to within a few levels of the input's (the
// default BT.601 conversion would shift it by 18).
func TestBT709KeptAndColoursRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.mp4")
	makeMedia(t, "-f", "lavfi", "-i", "color=c=0xFF2010:size=160x90:rate=25", "-frames:v", "3",
		"-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p", "-c:v", "libx264", "-crf", "0",
		"-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv", src)
	in := probe(t, src).Video()
	decoded, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
	if err != nil || len(decoded) < 160*90*3 {
		t.Fatalf("decode: %v", err)
	}
	path := filepath.Join(dir, "o.mkv")
	v, err := CreateVideo(VideoConfig{Path: path, Width: 160, Height: 90, Rate: pipeline.Rate{Num: 25, Den: 1}, Color: in.Color, CRF: new(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Abort()
	frame, err := gocv.NewMatFromBytes(90, 160, gocv.MatTypeCV8UC3, decoded[:160*90*3])
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	for range 3 {
		if err := v.WriteMat(&frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	out := probe(t, path).Video()
	if want := (media.Color{Range: "tv", Space: "bt709", Transfer: "bt709", Primaries: "bt709"}); out.Color != want {
		t.Errorf("colour tags %+v, want %+v", out.Color, want)
	}
	again, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
	if err != nil || len(again) < 160*90*3 {
		t.Fatalf("decode output: %v", err)
	}
	at := (45*160 + 80) * 3
	for c := range 3 {
		if d := math.Abs(float64(again[at+c]) - float64(decoded[at+c])); d > 4 {
			t.Errorf("channel %d: %d after the round trip, %d before", c, again[at+c], decoded[at+c])
		}
	}
}

// TestCRFDefaultAndLossless: no CRF is the container's default, and 0 is
// passed on (lossless H.264), not taken as "default".
func TestCRFDefaultAndLossless(t *testing.T) {
	for _, c := range []struct {
		ext  string
		crf  *int
		want string
	}{{".mp4", nil, "18"}, {".mp4", new(0), "0"}, {".webm", nil, "32"}, {".mkv", new(23), "23"}} {
		v, err := CreateVideo(VideoConfig{Path: filepath.Join(t.TempDir(), "o"+c.ext), Width: 32, Height: 32, Rate: pipeline.Rate{Num: 25, Den: 1}, CRF: c.crf})
		if err != nil {
			t.Fatal(err)
		}
		args := v.cmd.Args
		v.Abort()
		i := slices.Index(args, "-crf")
		if i < 0 || args[i+1] != c.want {
			t.Errorf("%s %v: ffmpeg %v, want -crf %s", c.ext, c.crf, args, c.want)
		}
	}
}

// TestCRF0IsRGB: -crf 0 encodes the BGR frames in RGB (no 4:2:0 pad, no
// YUV matrix), tagged with the source's primaries and transfer and the
// RGB matrix; an odd size is kept as it is.
func TestCRF0IsRGB(t *testing.T) {
	for _, ext := range []string{".mkv", ".mp4", ".webm"} {
		path := filepath.Join(t.TempDir(), "o"+ext)
		writeTimed(t, VideoConfig{Path: path, Width: 33, Height: 17, Rate: pipeline.Rate{Num: 25, Den: 1}, CRF: new(0),
			Color: media.Color{Range: "tv", Space: "bt709", Transfer: "bt709", Primaries: "bt709"}},
			[]time.Duration{0, 40 * time.Millisecond}, []uint8{30, 60}, false)
		s := probe(t, path).Video()
		if s.Width != 33 || s.Height != 17 || s.Color.Space != "gbr" || s.Color.Primaries != "bt709" || s.Color.Transfer != "bt709" {
			t.Errorf("%s: %dx%d, colour %+v; want 33x17, gbr, bt709", ext, s.Width, s.Height, s.Color)
		}
	}
}

func TestParseAudio(t *testing.T) {
	for in, want := range map[string]Audio{"": AudioAuto, "auto": AudioAuto, "COPY": AudioCopy, "none": AudioNone} {
		if got, err := ParseAudio(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := ParseAudio("aac"); err == nil {
		t.Error("aac accepted")
	}
}

// A drop-frame timecode needs a multiple of 29.97 fps: at another output
// rate ffmpeg would drop it without a word, so it is left out with a
// warning (and a global one cleared); a non-drop one goes at any rate.
func TestDropFrameTimecodeAtAnotherRate(t *testing.T) {
	ntsc, pal := pipeline.Rate{Num: 30000, Den: 1001}, pipeline.Rate{Num: 25, Den: 1}
	for _, c := range []struct {
		tc   string
		rate pipeline.Rate
		want bool
	}{
		{"01:00:00;00", ntsc, true}, {"01:00:00;00", pipeline.Rate{Num: 60000, Den: 1001}, true},
		{"01:00:00;00", pipeline.Rate{Num: 30, Den: 1}, true}, {"01:00:00.00", ntsc, true},
		{"01:00:00;00", pal, false}, {"01:00:00.12", pipeline.Rate{Num: 24000, Den: 1001}, false},
		{"01:00:00;00", pipeline.Rate{Num: 50, Den: 1}, false},
		{"10:00:00:00", pal, true}, {"10:00:00:00", pipeline.Rate{Num: 24000, Den: 1001}, true},
		{"01:00:00;00", pipeline.Rate{}, true}, {"garbage", pal, true},
	} {
		if got := timecodeFits(c.tc, c.rate); got != c.want {
			t.Errorf("timecodeFits(%q, %s) = %v, want %v", c.tc, c.rate, got, c.want)
		}
	}
	for _, c := range []struct {
		name    string
		in      *media.Info
		rate    pipeline.Rate
		want    string // the timecode options, space-joined
		warning bool
	}{
		{"track, 29.97", &media.Info{Streams: []media.Stream{{Index: 0, Type: "video", Tags: map[string]string{"timecode": "01:00:00;00"}}}}, ntsc, "-timecode 01:00:00;00", false},
		{"track, 25", &media.Info{Streams: []media.Stream{{Index: 0, Type: "video", Tags: map[string]string{"timecode": "01:00:00;00"}}}}, pal, "", true},
		{"data track, 25, non-drop", &media.Info{Streams: []media.Stream{{Index: 0, Type: "video"}, {Index: 1, Type: "data", Tags: map[string]string{"timecode": "10:00:00:00"}}}}, pal, "-timecode 10:00:00:00", false},
		{"global, 25", &media.Info{Tags: map[string]string{"TIMECODE": "01:00:00;00"}, Streams: []media.Stream{{Index: 0, Type: "video"}}}, pal, "-metadata timecode=", true},
		{"global, 29.97", &media.Info{Tags: map[string]string{"TIMECODE": "01:00:00;00"}, Streams: []media.Stream{{Index: 0, Type: "video"}}}, ntsc, "", false},
	} {
		var log bytes.Buffer
		args, err := trackArgs("mp4", "o.mp4", c.in, AudioAuto, false, c.rate, slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-timecode" || args[i] == "-metadata" && strings.HasPrefix(args[i+1], "timecode") {
				got = append(got, args[i], args[i+1])
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: timecode options %q, want %q", c.name, got, c.want)
		}
		if warned := strings.Contains(log.String(), "is not kept: it is drop-frame"); warned != c.warning {
			t.Errorf("%s: warning %v, want %v (log %q)", c.name, warned, c.warning, log.String())
		}
	}
}

// TestEveryTransferTagIsKept: each transfer ffmpeg can tag comes back as
// ffprobe read it from the input, the BT.470 gammas too (ffprobe names
// them bt470m and bt470bg, the option gamma22 and gamma28), lossless or
// not.
func TestEveryTransferTagIsKept(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []struct{ trc, primaries, space string }{
		{"gamma28", "bt470bg", "bt470bg"}, {"gamma22", "bt470m", "smpte170m"}, {"smpte170m", "smpte170m", "smpte170m"},
		{"iec61966-2-1", "bt709", "bt709"}, {"linear", "bt709", "bt709"},
	} {
		src := filepath.Join(dir, fmt.Sprintf("in%d.mkv", i))
		makeMedia(t, "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=25", "-frames:v", "2", "-c:v", "libx264",
			"-color_primaries", c.primaries, "-color_trc", c.trc, "-colorspace", c.space, "-color_range", "tv", src)
		in := probe(t, src).Video()
		for _, crf := range []int{18, 0} {
			path := filepath.Join(dir, fmt.Sprintf("o%d-%d.mkv", i, crf))
			v, err := CreateVideo(VideoConfig{Path: path, Width: 64, Height: 36, Rate: pipeline.Rate{Num: 25, Den: 1}, Color: in.Color, CRF: new(crf)})
			if err != nil {
				t.Fatal(err)
			}
			frame := grey(64, 36, 128)
			for range 2 {
				if err := v.WriteMat(&frame); err != nil {
					t.Fatal(err)
				}
			}
			frame.Close()
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			out := probe(t, path).Video().Color
			if out.Transfer != in.Color.Transfer || out.Primaries != in.Color.Primaries {
				t.Errorf("-color_trc %s, crf %d: the input probes as %+v, the output as %+v", c.trc, crf, in.Color, out)
			}
		}
	}
}

// TestStripMetadataOptions: with strip, neither the file's tags nor the
// tracks' are copied, whatever their keys (one with "=", one ffprobe
// shows as U+FFFD); the tracks get their languages again, a Matroska
// attachment its own tags (its file name and type, which it needs), and
// the file its timecode.
func TestStripMetadataOptions(t *testing.T) {
	in := &media.Info{Tags: map[string]string{"location": "+37.7-122.4/", "TIMECODE": "01:00:00:00", "\ufffdgps": "+37/"},
		Streams: []media.Stream{{Index: 0, Type: "video"},
			{Index: 1, Type: "audio", Codec: "aac", Tags: map[string]string{"language": "fra", "title": "Voice", "a=b": "c"}},
			{Index: 2, Type: "attachment", Codec: "ttf", Tags: map[string]string{"filename": "f.ttf", "MIMETYPE": "font/ttf", "title": "My font"}}}}
	args, err := trackArgs("matroska", "o.mkv", in, AudioAuto, true, pipeline.Rate{Num: 25, Den: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, want := range []string{"-map_metadata:g -1 -map_metadata:s -1 -map_chapters 1 ", "-metadata timecode=01:00:00:00",
		"-metadata:s:a:0 language=fra", "-map 1:2 -metadata:s:t:0 filename=f.ttf -metadata:s:t:0 mimetype=font/ttf"} {
		if !strings.Contains(got, want) {
			t.Errorf("options %q lack %q", got, want)
		}
	}
	for _, not := range []string{"-map_metadata 1", "Voice", "a=b", "gps", "location", "My font", "1:s:2"} {
		if strings.Contains(got, not) {
			t.Errorf("options %q hold %q", got, not)
		}
	}
}

// TestDiscAndBroadcastAudio: audio that Matroska or MOV cannot hold as it
// is (Blu-ray LPCM from an .m2ts, DVD LPCM from a .vob, SMPTE 302M from a
// broadcast TS, QuickTime's IMA ADPCM from an old camera's MOV) is made
// into a track each output plays: PCM of its depth for .mov and .mkv,
// AAC for .mp4 (and for ADPCM). Before, .mov got Blu-ray LPCM under a tag
// nothing decodes (the job "succeeded" without sound), and .mkv and DVD
// LPCM into .mov failed after the job had started.
func TestDiscAndBroadcastAudio(t *testing.T) {
	dir := t.TempDir()
	video := []string{"-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:d=1", "-f", "lavfi", "-i", "sine=d=1:sample_rate=48000"}
	for _, c := range []struct {
		name string
		make []string
		want map[string]string // output extension → its audio codec
	}{
		{"bluray24.m2ts", []string{"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_bluray", "-sample_fmt", "s32", "-ac", "2", "-f", "mpegts", "-mpegts_m2ts_mode", "1"},
			map[string]string{".mov": "pcm_s24le", ".mkv": "pcm_s24le", ".mp4": "aac"}},
		{"dvd.vob", []string{"-c:v", "mpeg2video", "-c:a", "pcm_dvd", "-ac", "2", "-f", "vob"},
			map[string]string{".mov": "pcm_s16le", ".mkv": "pcm_s16le", ".mp4": "aac"}},
		{"broadcast.ts", []string{"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "s302m", "-strict", "-2", "-ac", "2"},
			map[string]string{".mov": "pcm_s16le", ".mkv": "pcm_s16le"}},
		{"camera.mov", []string{"-c:v", "mjpeg", "-c:a", "adpcm_ima_qt", "-ar", "11025", "-ac", "1"},
			map[string]string{".mkv": "aac", ".mov": "aac"}},
		// Float samples stay float (nothing above full scale clipped).
		{"float.mov", []string{"-c:v", "mjpeg", "-c:a", "pcm_f64be", "-ac", "2"},
			map[string]string{".mkv": "pcm_f32le", ".mov": "pcm_f64be"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(dir, c.name)
			makeMedia(t, append(append(append([]string{}, video...), c.make...), src)...)
			in := probe(t, src)
			for ext, want := range c.want {
				path := filepath.Join(dir, strings.TrimSuffix(c.name, filepath.Ext(c.name))+"-out"+ext)
				if err := CheckTracks(path, in, AudioAuto); err != nil {
					t.Fatalf("%s: %v", ext, err)
				}
				stopEarly(t, path, in)
				a := probe(t, path).OfType("audio")
				if len(a) != 1 || a[0].Codec != want {
					t.Errorf("%s: audio %+v, want one %s track", ext, a, want)
					continue
				}
				if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a", "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
					t.Errorf("%s: its audio does not decode: %v %s", ext, err, out)
				}
			}
			// -audio copy is refused before anything is done, and does
			// not send the user to .mkv when .mkv cannot hold it either.
			err := CheckTracks(filepath.Join(dir, "copy.mkv"), in, AudioCopy)
			if err == nil || strings.Contains(err.Error(), "use .mkv") {
				t.Errorf("-audio copy into .mkv: %v", err)
			}
		})
	}
}

// TestTracksLeftOutCounts: "one such track", not "1 such tracks".
func TestTracksLeftOutCounts(t *testing.T) {
	if got := TracksLeftOut(1); got != "the input's one such track is left out" {
		t.Errorf("1: %q", got)
	}
	if got := TracksLeftOut(3); got != "the input's 3 such tracks are left out" {
		t.Errorf("3: %q", got)
	}
}
