package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestOneImageSaysHowLongNotHowFast: one image has no frame rate worth
// showing (it used to say "0.0 fps"): the run says how long it took. The
// line saying why the CPU was chosen is a debug one when the ONNX Runtime
// has no GPU provider at all (nothing was asked of a GPU); -v shows it.
func TestOneImageSaysHowLongNotHowFast(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	code, stderr := vidstyle(t, dir, nil, "-in", photo, "-out", "o.png", "-stats-period", "1ms")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "fps") || !strings.Contains(stderr, "o.png: 1 frame in ") {
		t.Errorf("want the time it took and no rate:\n%s", stderr)
	}
	if strings.Contains(stderr, "device cpu why=") {
		t.Errorf("why the CPU is not debug:\n%s", stderr)
	}
	code, stderr = vidstyle(t, dir, nil, "-in", photo, "-out", "o2.png", "-v")
	if code != 0 || strings.Count(stderr, "device cpu why=") != 1 {
		t.Errorf("exit %d, want one line on why the CPU with -v:\n%s", code, stderr)
	}
}
