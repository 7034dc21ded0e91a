package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedPictureSaysOneLine: a photo cut short mid-download is styled
// with one warning of vidstyle's own; the decoder's own words (libjpeg's
// "Premature end of JPEG file", "Corrupt JPEG data") stay off the
// terminal. Before, they came first, in libjpeg's words.
func TestDamagedPictureSaysOneLine(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.jpg")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "1", "-q:v", "2", full).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.jpg")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := vidstyle(t, dir, nil, "-in", cut, "-out", filepath.Join(dir, "out.png"), "-model", "toon")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	warnings := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "vidstyle: ") {
			t.Errorf("a line not of vidstyle's: %q", l)
		}
		if strings.HasPrefix(l, "vidstyle: warning: ") {
			warnings++
		}
	}
	if code != 0 || warnings != 1 || !strings.Contains(stderr, "is cut short") {
		t.Errorf("exit %d, %d warnings:\n%s\nwant exit 0 and one warning that it is cut short", code, warnings, stderr)
	}
}
