package stream

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/vidstyle/vidstyle/pipeline"
)

// TestStaleTemporaryFilesAreRemoved: the hidden files that killed runs
// left beside an output (".o.mp4.<digits>.part.mp4" and its ".trim") are
// removed when the next writer of that output starts, with one line; the
// file of a writer still running (its flock held), files of other names
// and other outputs' are kept. While a writer runs, its own file is
// locked: a third writer leaves it alone.
func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("unfinished"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := []string{".o.mp4.123.part.mp4", ".o.mp4.4567.part.mp4.trim"}
	for _, n := range stale {
		write(n)
	}
	kept := []string{".o.mp4.abc.part.mp4", ".o.mp4..part.mp4", ".other.mp4.99.part.mp4", "o.mp4.5.part.mp4", ".o.mp4.77.part.mkv"}
	for _, n := range kept {
		write(n)
	}
	running := write(".o.mp4.888.part.mp4") // another vidstyle writing o.mp4
	held, err := os.Open(running)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, filepath.Base(running))

	var log bytes.Buffer
	path := filepath.Join(dir, "o.mp4")
	v, err := CreateVideo(VideoConfig{Path: path, Width: 32, Height: 32, Rate: pipeline.Rate{Num: 25, Den: 1},
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// While it runs, its file is not taken for a stale one.
	removeStale(path, nil)
	if _, err := os.Stat(v.tmp); err != nil {
		t.Errorf("a running writer's file was removed by another: %v", err)
	}
	m := grey(32, 32, 100)
	err = v.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{PTS: 0}, Image: &pipeline.Ref[*gocv.Mat]{V: &m}})
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	for _, n := range stale {
		if slices.Contains(left, n) {
			t.Errorf("%s was not removed", n)
		}
	}
	for _, n := range append(kept, "o.mp4") {
		if !slices.Contains(left, n) {
			t.Errorf("%s was removed", n)
		}
	}
	if len(left) != len(kept)+1 {
		t.Errorf("left %v, want %v and o.mp4", left, kept)
	}
	// An output whose name has a "*" (os.CreateTemp's digits go at the
	// pattern's last one).
	star := write(".a*b.mp4.12.part.mp4")
	removeStale(filepath.Join(dir, "a*b.mp4"), nil)
	if _, err := os.Stat(star); err == nil {
		t.Errorf("%s was not removed", filepath.Base(star))
	}
	want := "removed 2 unfinished files that an earlier run writing " + path + " left when it was killed: " + strings.Join([]string{stale[0], stale[1]}, ", ")
	if !strings.Contains(log.String(), want) {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}
