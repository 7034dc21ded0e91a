package capture_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// ffmpegChildren counts this process's ffmpeg children (running or not
// yet reaped).
func ffmpegChildren(t *testing.T) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	n := 0
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …: comm may hold spaces, so from its ')'.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		fields := bytes.Fields(b[end+1:])
		if string(b[open+1:end]) == "ffmpeg" && len(fields) > 1 && string(fields[1]) == me {
			n++
		}
	}
	return n
}

// TestLoopSeamShowsTheFirstFrameAgainAndLeavesNoDecoder: a looped file
// decoded by ffmpeg gives, after each seam, its first frame again (the
// decoder readied ahead for the rewind starts at the start), keeps at most
// two ffmpegs (the one read and the one waiting) however many rounds it
// plays, and leaves none once closed.
func TestLoopSeamShowsTheFirstFrameAgainAndLeavesNoDecoder(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "ten.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "10", "-c:v", "ffv1", clip)
	before := ffmpegChildren(t)
	src, err := capture.Open(clip, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	looped := capture.Loop(src, nil)
	frame := gocv.NewMat()
	defer frame.Close()
	var first gocv.Mat
	defer func() { first.Close() }()
	most := 0
	for i := range 55 { // five rounds and a half
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		switch {
		case i == 0:
			first = frame.Clone()
		case i%10 == 0:
			if p := testmedia.PSNR(frame, first); p < 99 {
				t.Fatalf("frame %d (the start of round %d) is %.1f dB from the first frame, want it again", i, i/10+1, p)
			}
		case i%10 == 5:
			most = max(most, ffmpegChildren(t)-before)
		}
	}
	if most != 2 {
		// A 160x96 frame fills the pipe: both are alive mid-round.
		t.Errorf("%d ffmpegs while looping, want the one read and one waiting", most)
	}
	if err := looped.Close(); err != nil {
		t.Fatal(err)
	}
	if n := ffmpegChildren(t) - before; n != 0 {
		t.Errorf("%d ffmpegs left after Close", n)
	}
}

// TestLoopStopsWhenInterrupted: Interrupt (a stopped job) ends a looped
// file for good: the end it causes does not start a new round.
func TestLoopStopsWhenInterrupted(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "ten.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "10", "-c:v", "ffv1", clip)
	src, err := capture.Open(clip, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	looped := capture.Loop(src, nil)
	defer looped.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := range 3 {
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	src.(capture.Interrupter).Interrupt()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ { // what was in the pipe, then the end
		_, err := looped.Read(&frame)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %d after Interrupt: %v", i, err)
		}
		if i >= 10 || time.Now().After(deadline) {
			t.Fatalf("%d frames read after Interrupt: the loop went on", i+1)
		}
	}
}
