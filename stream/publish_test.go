package stream

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

func TestPublishTarget(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://live.example/app/KEY": TargetRTMP, "RTMPS://x/app/k": TargetRTMP, "srt://h:9000?streamid=a": TargetSRT,
		"rtsp://h:8554/live": TargetRTSP, "dir/stream.m3u8": TargetHLS, "out.mp4": "", "C:x.mkv": "",
	} {
		if got, err := PublishTarget(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"http://h/x.m3u8", "udp://127.0.0.1:1234", "file://x.mp4"} {
		if _, err := PublishTarget(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// TestRedact: stream keys, passwords and queries (SRT passphrases) stay
// out of the log.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://live.example/app/SECRETKEY":                "rtmp://live.example/app/…",
		"srt://h:9000?streamid=x&passphrase=SECRET":        "srt://h:9000?…",
		"Error: rtsp://user:SECRET@h/live: Broken pipe":    "Error: rtsp://…@h/live: Broken pipe",
		"plain words stay: Connection refused /tmp/x.m3u8": "plain words stay: Connection refused /tmp/x.m3u8",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "SECRET") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPublisherSteadyRate: frames sent at 5 fps are published at 30 fps,
// the last one repeated; Send never waits on ffmpeg; the HLS folder plays
// at the rate with the frames' size; Run ends at ctx's end and leaves a
// finished playlist.
func TestPublisherSteadyRate(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "s.m3u8")
	p, err := NewPublisher(PublishConfig{Target: target, Width: 161, Height: 91, Rate: pipeline.Rate{Num: 30, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMatWithSize(91, 161, gocv.MatTypeCV8UC3); return &m }, func(m *gocv.Mat) { m.Close() })
	defer pool.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	var slowest time.Duration
	for i := range 10 { // 2 s at 5 fps
		ref := pool.Get()
		ref.V.SetTo(gocv.NewScalar(float64(i*20), 100, 200, 0))
		gocv.PutText(ref.V, "x", image.Pt(10+i*10, 50), gocv.FontHersheySimplex, 1, color.RGBA{255, 255, 255, 0}, 2)
		t0 := time.Now()
		p.Send(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{PTS: time.Duration(i) * 200 * time.Millisecond}, Image: ref})
		slowest = max(slowest, time.Since(t0))
		time.Sleep(200 * time.Millisecond) // the source's pace, not synchronisation
	}
	cancel()
	<-done
	st := p.Stats()
	t.Logf("%+v, slowest Send %v", st, slowest)
	if st.Written < 50 || st.Written > 66 {
		t.Errorf("%d frames written in 2 s at 30 fps", st.Written)
	}
	if st.Repeated < st.Written-12 {
		t.Errorf("%d of %d frames repeated, want all but about 10", st.Repeated, st.Written)
	}
	if slowest > 10*time.Millisecond {
		t.Errorf("Send took %v", slowest)
	}
	pl, err := os.ReadFile(target)
	if err != nil || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("playlist: %v\n%s", err, pl)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", target).Output()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(first, ",")
	if len(f) != 4 || f[0] != "160" || f[1] != "90" || f[2] != "30/1" {
		t.Errorf("ffprobe: %q, want 160,90,30/1,N (the odd size cropped to even)", out)
	}
}

// TestPublisherEndsALoopedSoundWithTheVideo: a file played live in a
// loop with its sound (-loop): the sound is read at its own pace for ever,
// so ffmpeg did not end with the video and was killed after 5 s, leaving
// an HLS playlist without its end. Stopped, the stream now ends at once
// with #EXT-X-ENDLIST, as it does without sound.
func TestPublisherEndsALoopedSoundWithTheVideo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	_, target, done := publishASecond(t, ctx, "4", true)
	cancel()
	<-done
	pl, err := os.ReadFile(target)
	if err != nil || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("the playlist has no end (ffmpeg was killed, not finished): %v\n%s", err, pl)
	}
}

// TestPublisherFinishKeepsEveryFrame: a file published once (Finish at
// its end), with its sound: every frame written to ffmpeg is in the
// stream, which ends with #EXT-X-ENDLIST (stopped by its context, ffmpeg
// was interrupted with frames not yet encoded: a 75-frame file went out
// as 72).
func TestPublisherFinishKeepsEveryFrame(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, target, done := publishASecond(t, ctx, "1.5", false)
	p.Finish()
	<-done
	if ctx.Err() != nil {
		t.Fatal("Run did not return after Finish")
	}
	pl, err := os.ReadFile(target)
	if err != nil || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("the playlist has no end: %v\n%s", err, pl)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", target).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(strings.Split(strings.TrimSpace(string(out)), "\n")[0]))
	if written := p.Stats().Written; int64(n) != written {
		t.Errorf("%d frames in the stream, %d written to ffmpeg", n, written)
	}
}

// publishASecond publishes a second of 10 frames at their pace to an HLS
// playlist, with a sine of seconds as its sound (looped or not): done is
// closed when Run returns. The publisher is closed when the test ends.
func publishASecond(t *testing.T, ctx context.Context, seconds string, loop bool) (p *Publisher, target string, done chan struct{}) {
	t.Helper()
	dir := t.TempDir()
	sound := filepath.Join(dir, "sound.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "sine=d="+seconds, sound).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	target = filepath.Join(dir, "s.m3u8")
	p, err := NewPublisher(PublishConfig{Target: target, Width: 96, Height: 64, Rate: pipeline.Rate{Num: 10, Den: 1}, Audio: sound, Loop: loop})
	if err != nil {
		t.Fatal(err)
	}
	pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMatWithSize(64, 96, gocv.MatTypeCV8UC3); return &m }, func(m *gocv.Mat) { m.Close() })
	done = make(chan struct{})
	t.Cleanup(func() { <-done; p.Close(); pool.Close() })
	go func() { defer close(done); p.Run(ctx) }()
	for i := range 10 { // 1 s at 10 fps
		ref := pool.Get()
		ref.V.SetTo(gocv.NewScalar(float64(i*20), 100, 200, 0))
		p.Send(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{PTS: time.Duration(i) * 100 * time.Millisecond}, Image: ref})
		time.Sleep(100 * time.Millisecond) // the source's pace, not synchronisation
	}
	return p, target, done
}

// TestPublishEncoderCost measures, for BENCHMARKS.md, the CPU time the
// publish encoder (the ffmpeg child: BGR→YUV, x264 veryfast zerolatency,
// HLS muxing) takes per frame at 640×360 and 1280×720, on 300 frames of
// the gocv sample clip. Run it with VIDSTYLE_BENCH_PUBLISH=1 (10 s a size).
func TestPublishEncoderCost(t *testing.T) {
	if os.Getenv("VIDSTYLE_BENCH_PUBLISH") == "" {
		t.Skip("a measurement: set VIDSTYLE_BENCH_PUBLISH=1")
	}
	gocvDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv").Output()
	if err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(strings.TrimSpace(string(gocvDir)), "images", "small.mp4")
	for _, sz := range []image.Point{{640, 360}, {1280, 720}} {
		raw, err := exec.Command("ffmpeg", "-v", "error", "-stream_loop", "1", "-i", clip, "-frames:v", "300", "-s", fmt.Sprintf("%dx%d", sz.X, sz.Y), "-f", "rawvideo", "-pix_fmt", "bgr24", "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		n := len(raw) / (3 * sz.X * sz.Y)
		p, err := NewPublisher(PublishConfig{Target: filepath.Join(t.TempDir(), "s.m3u8"), Width: sz.X, Height: sz.Y, Rate: pipeline.Rate{Num: 30, Den: 1}, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3); return &m }, func(m *gocv.Mat) { m.Close() })
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); p.Run(ctx) }()
		tick := time.NewTicker(time.Second / 30)
		for i := range n {
			ref := pool.Get()
			copy(must(ref.V.DataPtrUint8()), raw[i*3*sz.X*sz.Y:])
			p.Send(pipeline.Frame[*gocv.Mat]{Image: ref})
			<-tick.C
		}
		tick.Stop()
		cancel()
		<-done
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
		st := p.Stats()
		t.Logf("%dx%d at %d kbit/s: %d frames, ffmpeg CPU %v = %.2f ms/frame (1 x264 thread); handing a frame over %v",
			sz.X, sz.Y, p.Kbps(), st.Written, cpu.Round(time.Millisecond), cpu.Seconds()*1000/float64(st.Written), st.Write.Round(time.Microsecond))
		p.Close()
		pool.Close()
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
