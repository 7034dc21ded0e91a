package stream

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

func TestContainerFor(t *testing.T) {
	for ext, format := range map[string]string{".mp4": "mp4", ".M4V": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"} {
		c, err := containerFor("x" + ext)
		if err != nil || c.format != format {
			t.Errorf("%s: %q %v", ext, c.format, err)
		}
	}
	for _, bad := range []string{"x.avi", "x", "x.png"} {
		if _, err := containerFor(bad); !errors.Is(err, ErrOutput) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// TestFFmpegDyingMidRun: the next write fails with ffmpeg's own words, no
// hang, and nothing is left behind.
func TestFFmpegDyingMidRun(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	dir := t.TempDir()
	v, err := CreateVideo(VideoConfig{Path: filepath.Join(dir, "o.mp4"), Width: 64, Height: 48, Rate: pipeline.Rate{Num: 25, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer frame.Close()
	for range 3 {
		if err := v.WriteMat(&frame); err != nil {
			t.Fatal(err)
		}
	}
	v.cmd.Process.Kill()
	<-v.exited
	start := time.Now()
	var werr error
	for range 100 { // the pipe holds some frames before the write fails
		if werr = v.WriteMat(&frame); werr != nil {
			break
		}
	}
	if !errors.Is(werr, ErrFFmpeg) || !strings.Contains(werr.Error(), "stopped after") {
		t.Fatalf("write after ffmpeg died: %v", werr)
	}
	if err := v.Close(); !errors.Is(err, ErrFFmpeg) {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
	for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond) // waiting for exited goroutines to be reaped, bounded
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, n)
	}
}

// TestFFmpegFailingMidRunSaysWhy: an ffmpeg that stops with an error of its
// own (here x264 refusing a preset once the first frame arrives) is
// reported with its words.
func TestFFmpegFailingMidRunSaysWhy(t *testing.T) {
	dir := t.TempDir()
	v, err := CreateVideo(VideoConfig{Path: filepath.Join(dir, "o.mp4"), Width: 64, Height: 48, Rate: pipeline.Rate{Num: 25, Den: 1}, Preset: "nonesuch"})
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer frame.Close()
	var werr error
	for range 1000 { // bounded: the pipe takes some frames before ffmpeg is gone
		if werr = v.WriteMat(&frame); werr != nil {
			break
		}
	}
	if !errors.Is(werr, ErrFFmpeg) || !strings.Contains(werr.Error(), "nonesuch") {
		t.Fatalf("err = %v, want ffmpeg's own words about the preset", werr)
	}
	v.Close()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
}

func TestWrongFrameSizeIsAnError(t *testing.T) {
	v, err := CreateVideo(VideoConfig{Path: filepath.Join(t.TempDir(), "o.mkv"), Width: 64, Height: 48, Rate: pipeline.Rate{Num: 25, Den: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Abort()
	m := gocv.NewMatWithSize(40, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	if err := v.WriteMat(&m); !errors.Is(err, ErrOutput) {
		t.Fatalf("err = %v", err)
	}
}

// TestEncoderThreads: Threads reaches the encoder, and the file is whole.
func TestEncoderThreads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.mp4")
	v, err := CreateVideo(VideoConfig{Path: path, Width: 64, Height: 48, Rate: pipeline.Rate{Num: 25, Den: 1}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(v.cmd.Args, " "), " -threads 1 ") {
		v.Abort()
		t.Fatalf("ffmpeg %v", v.cmd.Args)
	}
	m := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	for range 10 {
		if err := v.WriteMat(&m); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := int(c.Get(gocv.VideoCaptureFrameCount)); n != 10 {
		t.Errorf("%d frames in the file, want 10", n)
	}
}

func TestTailBufferSaysCauseAndConsequence(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "fallback"},
		{"\n  \n", "fallback"},
		{"just this\n", "just this"},
		{"x264 [error]: invalid preset 'x'\n[libx264 @ 0x1] Error setting preset\nError initializing output stream 0:0\n",
			"x264 [error]: invalid preset 'x'; Error initializing output stream 0:0"},
		{"noise\nConversion failed: error here\n", "Conversion failed: error here"},
	} {
		b := &tailBuffer{max: 1 << 10}
		b.Write([]byte(c.in))
		if got := b.summary("fallback"); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// TestAbortWhileWriting: Abort from another goroutine while frames are
// being written (and retimed) stops the writer with an error, frees the
// picture it keeps, and leaves nothing behind; run with -race.
func TestAbortWhileWriting(t *testing.T) {
	dir := t.TempDir()
	v, err := CreateVideo(VideoConfig{Path: filepath.Join(dir, "o.mkv"), Width: 64, Height: 48, Rate: pipeline.Rate{Num: 25, Den: 1}, Retime: true})
	if err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		r := pipeline.Rate{Num: 25, Den: 1}
		for i := int64(0); ; i++ {
			if i == 5 {
				close(started)
			}
			// Every other slot skipped: each write also repeats a picture.
			if err := v.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Index: i, PTS: r.Time(2 * i)}, Image: &pipeline.Ref[*gocv.Mat]{V: &m}}); err != nil {
				done <- err
				return
			}
		}
	}()
	<-started
	v.Abort()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFFmpeg) && !errors.Is(err, ErrOutput) {
			t.Errorf("write after Abort: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not stop after Abort")
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
}
