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
	// Longer than a loop keeps in memory (TestLoopKeepsAShortClip).
	clip := filepath.Join(t.TempDir(), "sixty.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "60", "-c:v", "ffv1", clip)
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
	for i := range 210 { // three rounds and a half
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		switch {
		case i == 0:
			first = frame.Clone()
		case i%60 == 0:
			if p := testmedia.PSNR(frame, first); p < 99 {
				t.Fatalf("frame %d (the start of round %d) is %.1f dB from the first frame, want it again", i, i/60+1, p)
			}
		case i%60 == 30:
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
	// One clip short enough to be kept in memory, one that rewinds.
	for _, n := range []int{10, 60} {
		clip := filepath.Join(t.TempDir(), "clip.mkv")
		ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", strconv.Itoa(n), "-c:v", "ffv1", clip)
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
				t.Fatalf("%d frames: frame %d: %v", n, i, err)
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
				t.Fatalf("%d frames: read %d after Interrupt: %v", n, i, err)
			}
			if i >= n || time.Now().After(deadline) {
				t.Fatalf("%d frames: %d frames read after Interrupt: the loop went on", n, i+1)
			}
		}
	}
}

// rewindCounter counts the rewinds asked of a source.
type rewindCounter struct {
	capture.Source
	rewinds int
}

func (r *rewindCounter) Rewind() error {
	r.rewinds++
	return r.Source.(capture.Rewinder).Rewind()
}

func (r *rewindCounter) PrepareRewind() { r.Source.(capture.RewindPreparer).PrepareRewind() }

// TestLoopKeepsAShortClip: a looped clip of two frames is played from
// memory after its first round (no rewind, so no decoder started again 12
// times a second), each frame the decoded one in turn with times going on
// at the clip's rate, and an Interrupt still ends it; a clip longer than
// what is kept rewinds at each round as before.
func TestLoopKeepsAShortClip(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "2", "-c:v", "ffv1", two)
	long := filepath.Join(dir, "long.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=32x32:rate=25", "-frames:v", "60", "-c:v", "ffv1", long)
	want := testmedia.DecodeAll(t, two)
	defer func() {
		for i := range want {
			want[i].Close()
		}
	}()
	if len(want) != 2 {
		t.Fatalf("%d frames decoded, want 2", len(want))
	}
	open := func(path string) capture.Source {
		src, err := capture.Open(path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	frame := gocv.NewMat()
	defer frame.Close()

	rc := &rewindCounter{Source: open(two)}
	looped := capture.Loop(rc, nil)
	for i := range 60 {
		tm, err := looped.Read(&frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if tm.Index != int64(i) || tm.PTS != time.Duration(i)*40*time.Millisecond {
			t.Fatalf("frame %d: index %d at %v, want %v", i, tm.Index, tm.PTS, time.Duration(i)*40*time.Millisecond)
		}
		if d := testmedia.MeanAbsDiff(frame, want[i%2]); d != 0 {
			t.Fatalf("frame %d differs from decoded frame %d by %.2f", i, i%2, d)
		}
	}
	if rc.rewinds != 0 {
		t.Errorf("%d rewinds in 30 rounds of a 2-frame clip, want 0 (played from memory)", rc.rewinds)
	}
	looped.Close()

	rc = &rewindCounter{Source: open(long)}
	looped = capture.Loop(rc, nil)
	for i := range 130 {
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("long clip, frame %d: %v", i, err)
		}
	}
	if rc.rewinds != 2 {
		t.Errorf("%d rewinds in 130 frames of a 60-frame clip, want 2", rc.rewinds)
	}
	looped.Close()

	src := open(two)
	looped = capture.Loop(src, nil)
	defer looped.Close()
	for i := range 7 {
		if _, err := looped.Read(&frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	src.(capture.Interrupter).Interrupt()
	if _, err := looped.Read(&frame); !errors.Is(err, io.EOF) {
		t.Errorf("a Read after Interrupt, in the fourth round: %v, want io.EOF", err)
	}
}
