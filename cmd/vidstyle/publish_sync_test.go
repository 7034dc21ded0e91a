package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
)

// TestPublishKeepsAudioInSync: a file with beeps at known frames,
// published live (at its own pace) as HLS: where each beep is heard in
// the published stream, the picture shown is the frame the beep belongs
// to, within a live stream's tolerance of 3 frames (100 ms: the
// publisher starts the audio at the first published frame's time and
// repeats or skips pictures to keep a steady rate).
func TestPublishKeepsAudioInSync(t *testing.T) {
	rm.Tools(t)
	dir := t.TempDir()
	beeps := []int{10, 25, 40, 55, 70, 85, 100, 115}
	in := rm.IndexedClip(t, dir, rm.Opts{Frames: 130, Audio: true, Beeps: beeps})
	hls := filepath.Join(dir, "hls")
	if err := os.Mkdir(hls, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(hls, "stream.m3u8")
	if code, log := vidstyle(t, dir, []string{"DISPLAY="}, "-in", in, "-out", out, "-model", identityModel(t, dir), "-temporal", "0"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	src, dst := rm.ReadIndices(t, in), rm.ReadIndices(t, out)
	inBeeps, outBeeps := rm.Beeps(t, in), rm.Beeps(t, out)
	if len(inBeeps) != len(beeps) {
		t.Fatalf("the input has beeps at %v, want %d", inBeeps, len(beeps))
	}
	// The stream may start a moment into the file or end early (a
	// loaded machine skips ahead); every beep it has must be in sync.
	if len(outBeeps) < len(beeps)-2 {
		t.Fatalf("the published stream has beeps at %v, want most of the input's %v", outBeeps, inBeeps)
	}
	const slack = 3
	var bad []string
	for _, at := range outBeeps {
		got := rm.IndexAt(dst, at)
		near := -1
		for _, b := range beeps {
			if near < 0 || abs(b-got) < abs(near-got) {
				near = b
			}
		}
		if got < 0 || abs(near-got) > slack {
			bad = append(bad, fmt.Sprintf("beep heard at %v with frame %d shown (nearest beep frame %d)", at.Round(time.Millisecond), got, near))
		}
	}
	t.Logf("published: %s; beeps at %v", rm.Summary(dst), outBeeps)
	if len(bad) > 0 {
		t.Errorf("%d of %d beeps out of sync (±%d frames):\n  %s\n  source: %s", len(bad), len(outBeeps), slack, strings.Join(bad, "\n  "), rm.Summary(src))
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
