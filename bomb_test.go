package vidstyle_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle"
)

// peakRSS is the process's peak resident memory so far (VmHWM).
func peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// TestPictureBombIsRefusedBeforeDecoding: a JPEG of a few kilobytes whose
// header says 32000x32000 (a gigapixel, about 3 GB decoded, and far more
// through a style) is refused for memory from its header, before it is
// decoded: the process's peak memory does not grow by the picture. Before,
// it was decoded first (1.3 GB and 1.5 s for a 20000x20000 one; 2.4 GB and
// 10 s for a PNG) and refused after.
func TestPictureBombIsRefusedBeforeDecoding(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.jpg")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", small).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	sof := bytes.Index(b, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no baseline SOF")
	}
	b[sof+5], b[sof+6], b[sof+7], b[sof+8] = 0x7d, 0x00, 0x7d, 0x00 // 32000 x 32000
	bomb := filepath.Join(dir, "bomb.jpg")
	if err := os.WriteFile(bomb, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// In a process of its own: the peak it reports (VmHWM) is then the
	// bomb's, not that of a test run before.
	if os.Getenv("VIDSTYLE_BOMB_CHILD") != "" {
		e := newEngine(t, vidstyle.Config{})
		before := peakRSS(t)
		_, err := e.Transcode(context.Background(), vidstyle.Job{In: bomb, Out: filepath.Join(dir, "out.png"), Model: "toon"})
		fmt.Printf("bomb-result %d %v\n", (peakRSS(t)-before)>>20, err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPictureBombIsRefusedBeforeDecoding$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "VIDSTYLE_BOMB_CHILD=1")
	out, err := cmd.CombinedOutput()
	_, line, ok := strings.Cut(string(out), "bomb-result ")
	if err != nil || !ok {
		t.Fatalf("the child: %v\n%s", err, out)
	}
	line, _, _ = strings.Cut(line, "\n")
	grownMB, msg, _ := strings.Cut(line, " ")
	if !strings.Contains(msg, "not enough memory") || !strings.Contains(msg, "32000x32000") {
		t.Fatalf("%s: want a refusal for memory naming 32000x32000", msg)
	}
	if mb, _ := strconv.Atoi(grownMB); mb > 500 {
		t.Errorf("peak memory grew by %d MB before the refusal: the picture was decoded", mb)
	}
}
