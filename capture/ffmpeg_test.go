package capture_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// firstFrameByFFmpeg is what ffmpeg itself (as players do, autorotate on)
// shows as the first picture of path, converted to BGR as vidstyle does
// (media.SwsFlags).
func firstFrameByFFmpeg(t *testing.T, path string, w, h int) gocv.Mat {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-frames:v", "1",
		"-vf", "scale=flags="+media.SwsFlags, "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1").Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("ffmpeg decode of %s: %v, %d bytes for %dx%d", path, err, len(out), w, h)
	}
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readAll(t *testing.T, src capture.Source) []pipeline.Timing {
	t.Helper()
	m := gocv.NewMat()
	defer m.Close()
	var times []pipeline.Timing
	for range 10000 {
		tm, err := src.Read(&m)
		if errors.Is(err, io.EOF) {
			return times
		}
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, tm)
	}
	t.Fatal("source never ended")
	return nil
}

// TestRotatedFilesComeUpright: a phone's display-matrix rotation (made as
// phones write it, with ffmpeg's rotate tag) is applied the way ffmpeg and
// browsers apply it, for 90, 180 and 270; OpenCV 4.6's own capture turns
// -90° the wrong way (the test checks it still differs, so that it
// measures something).
func TestRotatedFilesComeUpright(t *testing.T) {
	dir := t.TempDir()
	for _, tag := range []int{90, 180, 270} {
		t.Run(strconv.Itoa(tag), func(t *testing.T) {
			rot := filepath.Join(dir, fmt.Sprintf("rot%d.mp4", tag))
			ffmpeg(t, "-i", testmedia.SmallMP4(t), "-c", "copy", "-metadata:s:v:0", "rotate="+strconv.Itoa(tag), rot)
			src, err := capture.Open(rot, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			p := src.Props()
			wantW, wantH := 560, 320
			if tag != 180 {
				wantW, wantH = 320, 560
			}
			// ffmpeg's rotate tag is the matrix's counter-clockwise angle
			// (ffprobe: "rotation of -90.00 degrees" for rotate=270); the
			// player turns the picture back, clockwise, by 360 minus it.
			if p.Width != wantW || p.Height != wantH || p.Rotation != (360-tag)%360 {
				t.Fatalf("props %dx%d rotation %d, want %dx%d rotation %d", p.Width, p.Height, p.Rotation, wantW, wantH, (360-tag)%360)
			}
			m := gocv.NewMat()
			defer m.Close()
			if _, err := src.Read(&m); err != nil {
				t.Fatal(err)
			}
			want := firstFrameByFFmpeg(t, rot, wantW, wantH)
			defer want.Close()
			if m.Cols() != wantW || m.Rows() != wantH {
				t.Fatalf("frame %dx%d, want %dx%d", m.Cols(), m.Rows(), wantW, wantH)
			}
			if psnr := testmedia.PSNR(m, want); psnr < 40 {
				t.Fatalf("first frame differs from ffmpeg's upright picture: PSNR %.1f dB", psnr)
			}
			// The other quarter turn is far from it: the check can fail.
			if tag != 180 {
				turned := gocv.NewMat()
				defer turned.Close()
				gocv.Rotate(want, &turned, gocv.Rotate180Clockwise)
				if psnr := testmedia.PSNR(m, turned); psnr > 25 {
					t.Fatalf("the picture matches its 180° turn too (PSNR %.1f): the check cannot tell", psnr)
				}
			}
		})
	}
}

// TestFrameTimesFollowTheFile: a variable-rate file (30 fps with a stretch
// at 10 fps) and one whose video starts 0.5 s after its audio give each
// frame the time ffprobe gives it, on the file's clock.
func TestFrameTimesFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	vfr := filepath.Join(dir, "vfr.mp4")
	// Frames 30..59 keep one in three: 10 fps for a second.
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30", "-frames:v", "90",
		"-vf", "select='not(between(n,30,59))+not(mod(n,3))'", "-fps_mode", "vfr",
		"-c:v", "libx264", "-preset", "ultrafast", vfr)
	offset := filepath.Join(dir, "offset.mp4")
	ffmpeg(t, "-itsoffset", "0.5", "-i", testmedia.SmallMP4(t), "-i", testmedia.SmallMP4(t),
		"-map", "0:v", "-map", "1:a", "-c", "copy", offset)
	for _, f := range []string{vfr, offset} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
				"frame=pts_time", "-of", "csv=p=0", f).Output()
			if err != nil {
				t.Fatal(err)
			}
			var want []time.Duration
			for _, l := range strings.Fields(string(out)) {
				v, err := strconv.ParseFloat(strings.Trim(l, ","), 64)
				if err != nil {
					t.Fatalf("ffprobe line %q", l)
				}
				want = append(want, time.Duration(v*float64(time.Second)))
			}
			src, err := capture.Open(f, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got := readAll(t, src)
			if len(got) != len(want) {
				t.Fatalf("%d frames, ffprobe has %d", len(got), len(want))
			}
			var gaps []time.Duration
			for i := range got {
				if d := got[i].PTS - want[i]; d < -time.Millisecond || d > time.Millisecond {
					t.Fatalf("frame %d at %v, ffprobe says %v", i, got[i].PTS, want[i])
				}
				if i > 0 {
					gaps = append(gaps, got[i].PTS-got[i-1].PTS)
				}
			}
			if filepath.Base(f) == "vfr.mp4" && (slicesMax(gaps) < 90*time.Millisecond || slicesMin(gaps) > 40*time.Millisecond) {
				t.Fatalf("gaps %v..%v: the file is not variable-rate", slicesMin(gaps), slicesMax(gaps))
			}
			if filepath.Base(f) == "offset.mp4" {
				if p := src.Props(); p.Start < 490*time.Millisecond || got[0].PTS < 490*time.Millisecond {
					t.Fatalf("video start %v, first frame %v: want 0.5 s after the audio", p.Start, got[0].PTS)
				}
			}
		})
	}
}

func slicesMax(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d {
		m = max(m, v)
	}
	return m
}

func slicesMin(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d {
		m = min(m, v)
	}
	return m
}

// TestNetworkStream: an MPEG-TS served over HTTP from loopback opens as a
// stream (a URL is not "no such file") and gives its frames.
func TestNetworkStream(t *testing.T) {
	ts := filepath.Join(t.TempDir(), "clip.ts")
	ffmpeg(t, "-i", testmedia.SmallMP4(t), "-frames:v", "30", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", ts)
	data, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "clip.ts", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	src, err := capture.Open(srv.URL+"/clip.ts", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if p := src.Props(); p.Kind != capture.KindStream || p.Width != 560 || p.Height != 320 {
		t.Fatalf("props %+v", p)
	}
	if n := len(readAll(t, src)); n != 30 {
		t.Fatalf("%d frames from the stream, want 30", n)
	}
	// A URL nobody answers says so in one line, and is no "no such file".
	srv.Close()
	_, err = capture.Open(srv.URL+"/clip.ts", slog.New(slog.DiscardHandler))
	if err == nil || strings.Contains(err.Error(), "no such file") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("closed server: %v", err)
	}
}

// TestRetimeSkipsFramesThatShareAnOutputFrame: a 60 fps burst read for a
// 30 fps output keeps one frame in two; the indices stay consecutive.
func TestRetimeSkipsFramesThatShareAnOutputFrame(t *testing.T) {
	f := filepath.Join(t.TempDir(), "burst.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=60", "-frames:v", "60", "-c:v", "libx264", "-preset", "ultrafast", f)
	src, err := capture.Open(f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r := capture.Retime(src, pipeline.Rate{Num: 30, Den: 1})
	got := readAll(t, r)
	if len(got) != 30 || r.Dropped != 30 {
		t.Fatalf("%d frames kept, %d dropped; want 30 and 30", len(got), r.Dropped)
	}
	for i, tm := range got {
		if tm.Index != int64(i) {
			t.Fatalf("frame %d has index %d", i, tm.Index)
		}
	}
}

// TestLoopedDamagedFileWarnsOnce: a cut file played round and round
// (-live -loop) says it is damaged once, not at every round.
func TestLoopedDamagedFileWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.mp4")
	ffmpeg(t, "-i", testmedia.SmallMP4(t), "-frames:v", "40", "-c:v", "libx264", "-preset", "ultrafast", "-an", "-movflags", "+faststart", full)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	src, err := capture.Open(cut, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rounds := 0
	looped := capture.Loop(src, func() { rounds++ })
	defer looped.Close()
	m := gocv.NewMat()
	defer m.Close()
	for range 1000 {
		if rounds == 3 {
			break
		}
		if _, err := looped.Read(&m); err != nil {
			t.Fatal(err)
		}
	}
	if rounds != 3 {
		t.Fatalf("%d rounds in 1000 frames", rounds)
	}
	if n := strings.Count(logs.String(), "truncated"); n != 1 {
		t.Fatalf("%d truncation warnings over 3 rounds, want 1:\n%s", n, logs.String())
	}
}

// TestJoinedRecordingsAreOneVideo: two MPEG-TS recordings joined with cat
// (what recorders, DVRs and stream dumps leave) are one video to ffmpeg;
// their times start again at the join. Every picture is read, the count
// is the pictures' (not the one the first part's duration gives), and no
// warning calls the file damaged or cut: the only complaint ffmpeg makes
// is about the timestamps of the other tracks it copies.
func TestJoinedRecordingsAreOneVideo(t *testing.T) {
	dir := t.TempDir()
	var parts []byte
	for i, secs := range []string{"3", "1"} {
		f := filepath.Join(dir, strconv.Itoa(i)+".ts")
		ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", secs, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, data...)
	}
	// One part alone: TS holds no count, but every packet was read.
	part, err := capture.Open(filepath.Join(dir, "0.ts"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p := part.Props(); p.Frames != 75 || p.FramesEstimated {
		t.Errorf("one part: Props.Frames %d (estimated %v), want its 75 pictures", p.Frames, p.FramesEstimated)
	}
	part.Close()
	joined := filepath.Join(dir, "joined.ts")
	if err := os.WriteFile(joined, parts, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets:format=duration", "-of", "default=nw=1:nk=1", joined).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out)) // the stream's count (as program and stream), the duration
	if len(f) < 2 {
		t.Fatalf("ffprobe: %q", out)
	}
	want, _ := strconv.Atoi(f[0])
	duration, _ := strconv.ParseFloat(f[len(f)-1], 64)
	if want != 100 || duration > 3.5 {
		t.Fatalf("joined file has %d pictures and a duration of %.2f s: want 100, and the first part's 3 s (else it tests nothing)", want, duration)
	}
	var logs strings.Builder
	src, err := capture.Open(joined, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.Props()
	if p.Frames != int64(want) || p.FramesEstimated {
		t.Errorf("Props.Frames %d (estimated %v), want the %d pictures", p.Frames, p.FramesEstimated, want)
	}
	if p.End != 0 {
		t.Errorf("Props.End %v: the container's duration spans the first part only", p.End)
	}
	got := readAll(t, src)
	if len(got) != want {
		t.Errorf("read %d frames of %d", len(got), want)
	}
	if tr, ok := src.(interface{ Truncated() bool }); !ok || tr.Truncated() {
		t.Errorf("the joined file is called truncated (or cannot say)")
	}
	if l := logs.String(); strings.Contains(l, "level=WARN") {
		t.Errorf("warned about a whole file:\n%s", l)
	}
}

// TestEditListCountsTheShownPictures: an MP4 cut with -ss and -c copy
// keeps its packets back to the keyframe before the cut and hides them
// with an edit list, so the container counts pictures nobody sees. The
// count the start line and progress show is that of the pictures decoded.
func TestEditListCountsTheShownPictures(t *testing.T) {
	dir := t.TempDir()
	whole, cut := filepath.Join(dir, "whole.mp4"), filepath.Join(dir, "cut.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30:duration=6", "-c:v", "libx264", "-preset", "ultrafast", whole)
	ffmpeg(t, "-ss", "1.5", "-i", whole, "-c", "copy", cut)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=nb_frames",
		"-of", "csv=p=0", cut).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(out))); n < 170 {
		t.Fatalf("the cut file counts %d pictures: want the 180 of the whole (else it tests nothing)", n)
	}
	src, err := capture.Open(cut, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.Props()
	got := readAll(t, src)
	if len(got) != 135 || p.Frames != int64(len(got)) {
		t.Errorf("Props.Frames %d, %d frames decoded: want 135 of both", p.Frames, len(got))
	}
}

// TestStalledStreamCanBeInterrupted: a server that sends the first part
// of a stream and then nothing (a stalled camera feed, a sender gone)
// blocks the next Read; Interrupt, which a stopped job calls from another
// goroutine, ends that Read with io.EOF at once, and nothing is called
// damaged. Before, the read blocked for ever and Ctrl-C kept nothing.
func TestStalledStreamCanBeInterrupted(t *testing.T) {
	url := testmedia.StallingStream(t)
	var logs strings.Builder
	src, err := capture.Open(url, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	frames := make(chan int, 100)
	done := make(chan error, 1)
	go func() {
		m := gocv.NewMat()
		defer m.Close()
		for n := 0; ; n++ {
			if _, err := src.Read(&m); err != nil {
				done <- err
				return
			}
			frames <- n
		}
	}()
	// Some frames come, then the reads wait on the stalled server.
	select {
	case <-frames:
	case err := <-done:
		t.Fatalf("the stream ended before a frame: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no frame from the stream")
	}
	in, ok := src.(capture.Interrupter)
	if !ok {
		t.Fatal("a stream source cannot be interrupted")
	}
	in.Interrupt()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("the read ended with %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Interrupt did not end the waiting read")
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a warning for an input stopped on purpose:\n%s", logs.String())
	}
}

// combing is the fraction of a picture's pixels that zigzag against the
// lines above and below (both more than 8 levels away on the same side):
// the combs two fields filmed at different instants leave on what moves
// when woven into one frame; a progressive picture has few.
func combing(t *testing.T, m gocv.Mat) float64 {
	t.Helper()
	g := gocv.NewMat()
	defer g.Close()
	gocv.CvtColor(m, &g, gocv.ColorBGRToGray)
	b, err := g.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	w, h := g.Cols(), g.Rows()
	n := 0
	for y := 1; y+1 < h; y++ {
		for x := range w {
			p := int(b[y*w+x])
			up, down := p-int(b[(y-1)*w+x]), p-int(b[(y+1)*w+x])
			if up*down > 64 && (up > 8 && down > 8 || up < -8 && down < -8) {
				n++
			}
		}
	}
	return float64(n) / float64(w*(h-2))
}

// TestWovenFilesAreDeinterlaced: a file of frames woven from fields
// (an interlaced capture encoded as progressive: its stream says nothing
// of fields) is found by its pictures and read deinterlaced, while
// progressive files, a moving test pattern that fools ffmpeg's idet at
// its default threshold among them, are read as they are.
func TestWovenFilesAreDeinterlaced(t *testing.T) {
	dir := t.TempDir()
	woven, prog := filepath.Join(dir, "woven.mp4"), filepath.Join(dir, "prog.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50", "-frames:v", "30", "-vf", "interlace=scan=tff:lowpass=0",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", woven)
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "30",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", prog)
	read := func(path string) (capture.Props, []gocv.Mat) {
		t.Helper()
		src, err := capture.Open(path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		p := src.Props()
		src.Close()
		return p, testmedia.DecodeAll(t, path)
	}
	meanCombing := func(frames []gocv.Mat) float64 {
		s := 0.0
		for _, m := range frames {
			s += combing(t, m)
		}
		return s / float64(len(frames))
	}

	p, frames := read(woven)
	if !p.Deinterlaced || len(frames) != 30 {
		t.Errorf("woven file: Deinterlaced %v, %d frames; want true, 30", p.Deinterlaced, len(frames))
	}
	asStored := firstFrameByFFmpeg(t, woven, 320, 240)
	defer asStored.Close()
	stored := combing(t, asStored)
	if stored < 0.02 {
		t.Fatalf("%.1f%% of the woven file's first frame as stored is combed: the test made no combs to take out", 100*stored)
	}
	if c := meanCombing(frames); c > stored/3 {
		t.Errorf("%.2f%% of the woven file's frames read is combed on average, its first frame as stored %.2f%%: want a third of it at most (deinterlaced)", 100*c, 100*stored)
	}

	p, frames = read(prog)
	if p.Deinterlaced || len(frames) != 30 {
		t.Errorf("progressive file: Deinterlaced %v, %d frames; want false, 30", p.Deinterlaced, len(frames))
	}
	first := firstFrameByFFmpeg(t, prog, 320, 240)
	defer first.Close()
	if d := testmedia.PSNR(first, frames[0]); !math.IsInf(d, 1) {
		t.Errorf("the progressive file's first frame is %.1f dB from ffmpeg's own decode, want the same picture", d)
	}
	if p, _ := read(testmedia.SmallMP4(t)); p.Deinterlaced {
		t.Errorf("small.mp4 read deinterlaced")
	}
}

// TestProgramStreamCountsEveryPicture: an MPEG program stream (.mpg, a
// DVD's .vob) times only some of its packets; the frame count (the start
// line's, the progress bar's) counts them all, as the decoder shows them.
// It counted only the timed ones: 34 of 60 for MPEG-1, 50 of 60 for a VOB.
func TestProgramStreamCountsEveryPicture(t *testing.T) {
	dir := t.TempDir()
	m1, vob := filepath.Join(dir, "m1.mpg"), filepath.Join(dir, "dvd.vob")
	// Real footage, whose small frames share the muxer's packs (only the
	// first of a pack gets a time); a test pattern's fill theirs.
	small := testmedia.SmallMP4(t)
	ffmpeg(t, "-i", small, "-vf", "scale=176:96", "-frames:v", "60", "-c:v", "mpeg1video", "-q:v", "4", "-c:a", "mp2", m1)
	ffmpeg(t, "-i", small, "-t", "2", "-target", "ntsc-dvd", vob)
	for _, p := range []string{m1, vob} {
		src, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		props := src.Props()
		got := readAll(t, src)
		src.Close()
		if props.Frames != int64(len(got)) || len(got) < 59 {
			t.Errorf("%s: Props.Frames %d (estimated %v), %d frames decoded: want the same, about 60", filepath.Base(p), props.Frames, props.FramesEstimated, len(got))
		}
	}
}

// TestVideoWithTransparency: a video with an alpha channel (ProRes 4444,
// QuickTime Animation, VP9 and VP8 with alpha in WebM, whose pixel format
// shows none: the container's alpha_mode says so, PNG in MOV, an animated
// PNG), its alpha a ramp from transparent to opaque:
//   - not asked for (AlphaNone): BGR frames and one warning that it is
//     painted opaque; AlphaDrop: the same with no warning;
//   - AlphaIfUsed and AlphaAlways: BGRA frames whose alpha is the ramp
//     (mean about 127: a decoder that leaves VP9's alpha out gives 255),
//     with no warning.
//
// The same files with an alpha channel that is opaque all through (as PNG
// in MOV and screen captures often are, and most GIFs) get no warning and
// BGR frames with AlphaIfUsed (one line says so), BGRA with AlphaAlways. An
// opaque video gets no warning and BGR frames in every mode.
func TestVideoWithTransparency(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		alpha bool // the format carries an alpha channel vidstyle reads
	}{
		{"prores4444.mov", []string{"-pix_fmt", "yuva444p10le", "-c:v", "prores_ks", "-profile:v", "4"}, true},
		{"qtrle.mov", []string{"-c:v", "qtrle"}, true},
		{"vp9-alpha.webm", []string{"-pix_fmt", "yuva420p", "-c:v", "libvpx-vp9", "-deadline", "realtime"}, true},
		{"vp8-alpha.webm", []string{"-pix_fmt", "yuva420p", "-c:v", "libvpx", "-auto-alt-ref", "0", "-deadline", "realtime"}, true},
		{"png-in.mov", []string{"-c:v", "png"}, true},
		{"anim.apng", []string{"-f", "apng"}, true},
		{"opaque.mp4", []string{"-c:v", "libx264", "-pix_fmt", "yuv420p"}, false},
		// One bit: on where the ramp is at least half (a palette with a
		// transparent entry, as ffmpeg makes one for a GIF).
		{"anim.gif", []string{"-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"}, true},
	}
	open := func(t *testing.T, path string, mode capture.AlphaMode) (channels int, alpha float64, logs string) {
		t.Helper()
		var buf bytes.Buffer
		src, err := capture.OpenWith(context.Background(), path, capture.OpenOptions{Alpha: mode}, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		m := gocv.NewMat()
		defer m.Close()
		if _, err := src.Read(&m); err != nil {
			t.Fatal(err)
		}
		if src.Props().Alpha != (m.Channels() == 4) {
			t.Errorf("Props.Alpha %v with %d channels", src.Props().Alpha, m.Channels())
		}
		if m.Channels() == 4 {
			a := gocv.NewMat()
			defer a.Close()
			gocv.ExtractChannel(m, &a, 3)
			alpha = a.Mean().Val1
		}
		return m.Channels(), alpha, buf.String()
	}
	for _, used := range []bool{true, false} {
		for _, c := range cases {
			name := c.name
			pattern := "testsrc2=size=160x96:rate=25:duration=0.4,format=rgba"
			if used {
				pattern += ",geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/W'"
			} else {
				name = "opaque-alpha-" + name
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name)
				ffmpeg(t, append(append([]string{"-f", "lavfi", "-i", pattern}, c.args...), path)...)
				for _, mode := range []capture.AlphaMode{capture.AlphaNone, capture.AlphaDrop, capture.AlphaIfUsed, capture.AlphaAlways} {
					n, alpha, logs := open(t, path, mode)
					kept := c.alpha && (mode == capture.AlphaAlways || mode == capture.AlphaIfUsed && used)
					warned := strings.Count(logs, "is a video with transparency")
					if want := map[bool]int{true: 4, false: 3}[kept]; n != want {
						t.Errorf("mode %d: %d channels, want %d", mode, n, want)
					}
					if wantWarn := c.alpha && used && mode == capture.AlphaNone; warned != map[bool]int{true: 1}[wantWarn] {
						t.Errorf("mode %d: %d warnings of transparency, want %v:\n%s", mode, warned, wantWarn, logs)
					}
					said := strings.Contains(logs, "opaque in every frame")
					if wantSaid := c.alpha && !used && mode == capture.AlphaIfUsed; said != wantSaid {
						t.Errorf("mode %d: said the alpha is unused: %v, want %v:\n%s", mode, said, wantSaid, logs)
					}
					switch {
					case !kept:
					case used && (alpha < 120 || alpha > 135):
						t.Errorf("mode %d: alpha mean %.1f, want the ramp's, about 127", mode, alpha)
					case !used && alpha < 254:
						t.Errorf("mode %d: alpha mean %.1f, want 255 (opaque)", mode, alpha)
					}
				}
			})
		}
	}
}

// TestUntaggedHDIsBT709: an HD video with no colour tags (BT.709 bars, as
// most HD sources are, written without tags) is decoded with BT.709, as
// players guess for HD, and its props say so, so that the output is
// written and tagged the same way; an untagged SD one keeps BT.601. Before:
// swscale's BT.601 for both: the bars off by up to 30 levels.
func TestUntaggedHDIsBT709(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		w, h  int
		space string
	}{{1280, 720, "bt709"}, {720, 480, ""}} {
		path := filepath.Join(dir, fmt.Sprintf("bars%d.mkv", c.h))
		matrix := map[string]string{"bt709": "bt709", "": "bt601"}[c.space]
		ffmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("smptebars=size=%dx%d:rate=25:duration=0.2", c.w, c.h),
			"-vf", "scale=out_color_matrix="+matrix+",format=yuv444p", "-c:v", "libx264", "-qp", "0", path)
		src, err := capture.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.Props().Color.Space; got != c.space {
			t.Errorf("%dx%d untagged: colour space %q, want %q", c.w, c.h, got, c.space)
		}
		m := gocv.NewMat()
		_, err = src.Read(&m)
		src.Close()
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		// The top bars, 75 % (191): grey, yellow, cyan, green, magenta,
		// red, blue; as BGR.
		want := [][3]int{{191, 191, 191}, {0, 191, 191}, {191, 191, 0}, {0, 191, 0}, {191, 0, 191}, {0, 0, 191}, {191, 0, 0}}
		for bar, w := range want {
			p := m.GetVecbAt(c.h/4, (2*bar+1)*c.w/14)
			for ch := range 3 {
				if d := int(p[ch]) - w[ch]; d > 6 || d < -6 {
					t.Errorf("%dx%d: bar %d decodes as BGR %v, want %v: the wrong matrix", c.w, c.h, bar, p, w)
					break
				}
			}
		}
		m.Close()
	}
}
