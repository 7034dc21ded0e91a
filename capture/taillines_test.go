package capture

import "testing"

// TestTailLinesDropsRepeatNotes: ffmpeg's "Last message repeated N times"
// is no line of its own (it repeats one kept, or one about the side
// output, dropped): a complete sequence of pictures of two sizes, whose
// only lines were about the side output's times and that note, was
// called "truncated or damaged (ffmpeg: Last message repeated 1 times)".
func TestTailLinesDropsRepeatNotes(t *testing.T) {
	var tl tailLines
	tl.max = 10
	tl.Write([]byte("[null @ 0x55d0c] Application provided invalid, non monotonically increasing dts to muxer in stream 0: 2 >= 2\n    Last message repeated 1 times\n"))
	if got := tl.first(); got != "" {
		t.Errorf("first line %q, want none", got)
	}
	tl.Write([]byte("[png @ 0x1] Invalid PNG signature\n    Last message repeated 3 times\n"))
	if got := tl.first(); got != "Invalid PNG signature" || len(tl.lines) != 1 {
		t.Errorf("lines %q, want the PNG's one line", tl.lines)
	}
}
