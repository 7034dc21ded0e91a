package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/live"
)

func TestMainRejectsStrayArguments(t *testing.T) {
	var stderr strings.Builder
	if code := Main([]string{"-in", "a.mp4", "styled.mp4"}, nil, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `unexpected argument "styled.mp4"`) {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestKeyCommands(t *testing.T) {
	cases := map[int]live.Command{
		'n': {Op: live.Next}, 'p': {Op: live.Prev}, '1': {Op: live.Pick, Index: 0}, '9': {Op: live.Pick, Index: 8},
		' ': {Op: live.TogglePause}, 's': {Op: live.Snapshot}, 'o': {Op: live.CycleView}, '+': {Op: live.Stronger},
		'=': {Op: live.Stronger}, '-': {Op: live.Weaker}, 'f': {Op: live.ToggleHUD}, 'h': {Op: live.Help},
		'q': {Op: live.Quit}, 27: {Op: live.Quit},
	}
	for key, want := range cases {
		if got, ok := keyCommand(key); !ok || got != want {
			t.Errorf("key %q: %+v %v, want %+v", rune(key), got, ok, want)
		}
	}
	for _, key := range []int{'x', 13, 82, -1} {
		if _, ok := keyCommand(key); ok {
			t.Errorf("key %d should do nothing", key)
		}
	}
}

// TestProgressPastAnEstimatedTotal: a total worked out from a duration can
// be short (a file whose times start again part way); past it the bar
// stops claiming a share and an ETA, on a terminal and in log lines.
func TestProgressPastAnEstimatedTotal(t *testing.T) {
	for _, tty := range []bool{true, false} {
		var out strings.Builder
		c := &console{w: &out, tty: tty}
		p := &progress{c: c, log: slog.New(&handler{c: c}), total: 50, start: time.Now().Add(-time.Second)}
		p.update(50)
		p.last = time.Time{} // past the bar's redraw interval
		p.update(80)
		got := out.String()
		if !strings.Contains(got, "50/50") {
			t.Fatalf("tty %v: no progress at the total: %q", tty, got)
		}
		after := got[strings.LastIndex(got, "50/50"):]
		if !strings.Contains(after, "80") || strings.Contains(after, "80/50") || strings.Contains(after, "160%") || strings.Contains(after, "-0:") {
			t.Errorf("tty %v: past the total: %q", tty, after)
		}
	}
}

// TestSnapshotsFolder: a -snapshots folder that cannot take the window's
// snapshots is refused before the window opens (exit 2, one line), not at
// the first s of a session.
func TestSnapshotsFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ folder, want string }{
		{filepath.Join(dir, "missing"), "no such folder"},
		{file, "no such folder"},
	} {
		var stderr strings.Builder
		args := []string{"-in", "a.mp4", "-live", "-snapshots", c.folder}
		if code := Main(args, nil, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "-snapshots "+c.folder+": "+c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d: %q, want exit 2 and %q", args, code, stderr.String(), c.want)
		}
	}
	if err := checkSnapshots(dir); err != nil {
		t.Errorf("a writable folder: %v", err)
	}
}

// TestReportIntoAClosedPipe: vidstyle models list | head -1 ends quietly
// once head has gone (exit 141, as a program SIGPIPE stopped; nothing on
// stderr); it said "error: write /dev/stdout: broken pipe" and exited 1.
func TestReportIntoAClosedPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone: writes meet EPIPE
	defer w.Close()
	var stderr strings.Builder
	if code := Main([]string{"models", "list"}, w, &stderr); code != exitBrokenPipe || stderr.Len() > 0 {
		t.Errorf("models list into a closed pipe: exit %d, %q", code, stderr.String())
	}
}
