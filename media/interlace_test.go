package media

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestWovenNeedsOneFieldOrder(t *testing.T) {
	for _, c := range []struct {
		count FieldCount
		want  bool
	}{
		{FieldCount{TFF: 61}, true},
		{FieldCount{BFF: 40, Undetermined: 20}, true},
		{FieldCount{TFF: 41, BFF: 10, Progressive: 9}, false}, // idet's 1.04 on a moving test pattern
		{FieldCount{TFF: 30, Progressive: 31}, false},
		{FieldCount{TFF: 5, Undetermined: 56}, false}, // too few to tell
		{FieldCount{Progressive: 60}, false},
		{FieldCount{}, false},
	} {
		if got := c.count.Woven(); got != c.want {
			t.Errorf("%+v: Woven %v, want %v", c.count, got, c.want)
		}
	}
}

// TestDetectFields: frames woven from fields filmed 1/50 s apart and
// encoded as progressive (the stream says nothing of fields) are found,
// with their field order; the same moving pattern filmed progressive,
// which fools idet at its default threshold, is not.
func TestDetectFields(t *testing.T) {
	dir := t.TempDir()
	clip := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		args = append(append([]string{"-v", "error", "-nostdin", "-y"}, args...), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", p)
		if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		return p
	}
	for _, c := range []struct {
		name, path string
		woven      bool
		tff        bool
	}{
		{"woven, top field first", clip("tff.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50", "-frames:v", "120", "-vf", "interlace=scan=tff:lowpass=0"), true, true},
		{"woven, bottom field first", clip("bff.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50", "-frames:v", "120", "-vf", "interlace=scan=bff:lowpass=0"), true, false},
		{"progressive", clip("prog.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "60"), false, false},
	} {
		info, err := Probe(context.Background(), "", c.path)
		if err != nil {
			t.Fatal(err)
		}
		if v := info.Video(); v.Interlaced() {
			t.Fatalf("%s: the stream says %q: the test meant a stream that does not say", c.name, v.FieldOrder)
		}
		got, err := DetectFields(context.Background(), "", c.path, info.Video().Index, 60)
		if err != nil {
			t.Fatal(err)
		}
		if got.Frames() < 55 {
			t.Errorf("%s: %d frames counted, want the 60 asked for", c.name, got.Frames())
		}
		if got.Woven() != c.woven || c.woven && (got.TFF > got.BFF) != c.tff {
			t.Errorf("%s: %+v: woven %v, want %v (top field first %v)", c.name, got, got.Woven(), c.woven, c.tff)
		}
	}
	if _, err := DetectFields(context.Background(), "", filepath.Join(dir, "none.mp4"), 0, 60); err == nil {
		t.Error("a missing file gave a count")
	}
}
