package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestHugePhotoIsRefusedWithAnEstimate: a 6000×4000 photo with the
// built-in style needs about 6.5 GB; with 6 GB of address space (ulimit -v,
// which vidstyle counts as the memory it can have) it is refused before
// anything loads, in one line with the estimate and a -size/-scale that
// fits, and no output is written. -force skips the check.
func TestHugePhotoIsRefusedWithAnEstimate(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.jpg")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=6000x4000", "-frames:v", "1", huge)
	run := func(args ...string) (int, string) {
		cmd := command(dir, nil)
		cmd.Path = "/bin/sh"
		cmd.Args = append([]string{"sh", "-c", `ulimit -v 6000000 && exec "$@"`, "sh", binary}, args...)
		return runCmd(t, cmd)
	}
	code, stderr := run("-in", huge, "-out", "out.png", "-model", "toon")
	line := strings.TrimSpace(stderr)
	if code == 0 || strings.Count(line, "\n") != 0 {
		t.Fatalf("exit %d, want an error in one line:\n%s", code, stderr)
	}
	m := regexp.MustCompile(`6000x4000 through toon needs about ([0-9.]+) GB and .* free: stylize at a smaller size \(-size (\d+)x(\d+) or -scale ([0-9.]+) fits\), or -force`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("message %q does not give the estimate, a size that fits and -force", line)
	}
	if gb, _ := strconv.ParseFloat(m[1], 64); gb < 4 || gb > 8 {
		t.Fatalf("estimate %s GB for 24 Mpixel with the built-in style (measured ≈4.9 GB)", m[1])
	}
	if w, _ := strconv.Atoi(m[2]); w >= 6000 || w < 1000 {
		t.Fatalf("suggested width %d", w)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.png")); err == nil {
		t.Fatal("an output was written")
	}
	// -force goes past the check (what happens next under the limit is
	// the machine's business: here, at most a failed allocation).
	_, stderr = run("-in", huge, "-out", "out.png", "-model", "toon", "-force")
	if strings.Contains(stderr, "needs about") {
		t.Fatalf("-force still refused: %s", stderr)
	}
}

// TestMemoryEstimateCoversARealRun: the estimate the job logs is above
// the peak RSS the run really reached, and not wildly so (under 2.5×),
// for the built-in style and a pretrained network (a -race build's peak
// counts for three quarters: its shadow memory is not the job's).
func TestMemoryEstimateCoversARealRun(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.jpg")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=1600x1200", "-frames:v", "1", photo)
	models := []string{"toon"}
	if _, err := os.Stat(filepath.Join(repoRoot, "..", "shared", "models", "udnie.onnx")); err == nil {
		models = append(models, sharedModel(t, "udnie"))
	} else {
		t.Log("../shared/models/udnie.onnx absent: checking the built-in style only")
	}
	for _, model := range models {
		cmd := command(dir, nil, "-v", "-in", photo, "-out", "out.png", "-model", model, "-device", "cpu")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", model, err, stderr.String())
		}
		peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
		m := regexp.MustCompile(`memory: the job needs about (\d+) MB`).FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("%s: no estimate in the log:\n%s", model, stderr.String())
		}
		est, _ := strconv.ParseInt(m[1], 10, 64)
		est <<= 20
		t.Logf("%s: estimate %d MB, peak RSS %d MB", filepath.Base(model), est>>20, peak>>20)
		// A -race binary takes more (shadow memory): the bound is for the
		// binary users run.
		if raceBuild {
			peak = peak * 3 / 4
		}
		if est < peak || est > peak*5/2 {
			t.Fatalf("%s: estimate %d MB against a peak of %d MB", model, est>>20, peak>>20)
		}
	}
}
