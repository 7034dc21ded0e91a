package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/eval"
	rm "github.com/vidstyle/vidstyle/internal/realmedia"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestEvalCommand: a video judged against itself has exactly the input's
// warping error (output = floor, no flicker of its own), the JSON has every
// field, and -no-flow measures something else.
func TestEvalCommand(t *testing.T) {
	in := testmedia.SmallMP4(t)
	run := func(args ...string) map[string]any {
		t.Helper()
		code, out, stderr := vidstyleOut(t, t.TempDir(), append([]string{"eval", "-in", in, "-out", in, "-frames", "12", "-json"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		return r
	}
	r := run("-ref", in)
	for _, k := range []string{"frames", "pairs", "e_warp", "e_warp_floor", "valid_fraction", "static_flicker", "static_flicker_input", "texture", "ref_e_warp", "texture_kept", "structure"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %q in %v", k, r)
		}
	}
	if r["frames"] != 12.0 || r["e_warp"] != r["e_warp_floor"] || r["e_warp"] != r["ref_e_warp"] || r["texture_kept"] != 1.0 || r["structure"].(float64) < 0.999 {
		t.Errorf("a video against itself: %v", r)
	}
	if e := r["e_warp"].(float64); e <= 0 {
		t.Errorf("E_warp %v: real footage has some", e)
	}
	// (small.mp4's first frames barely move: the synthetic pan in package
	// eval is the test of what the flow removes.)
	if still := run("-no-flow"); still["e_warp"] == r["e_warp"] {
		t.Errorf("-no-flow changed nothing: %v", still)
	}
}

func TestEvalRefusesBadArguments(t *testing.T) {
	in := testmedia.SmallMP4(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "-in", in}, 2, "needs -in SOURCE and -out STYLIZED"},
		{[]string{"eval", "-in", in, "-out", in, "-frames", "-1"}, 2, "cannot be negative"},
		{[]string{"eval", "-in", in, "-out", "/nonexistent.mp4"}, 1, "no such file"},
		{[]string{"eval", "-in", in, "-out", in, "x"}, 2, "unexpected argument"},
	} {
		code, _, stderr := vidstyleOut(t, t.TempDir(), c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestEvalWarnsOfAnUnrelatedPair: an output judged against a source it
// was not made from (another real clip) gets a warning and a structure
// under the bar; one made from it (a style of it) gets neither.
func TestEvalWarnsOfAnUnrelatedPair(t *testing.T) {
	rm.Tools(t)
	dir := t.TempDir()
	small := testmedia.SmallMP4(t)
	other := "/usr/share/doc/opencv-doc/examples/data/vtest.avi" // walking people
	if _, err := os.Stat(other); err != nil {
		t.Log("the unrelated clip is small.mp4 upside down (apt-get install opencv-doc for another real clip)")
		other = filepath.Join(dir, "flipped.mkv")
		rm.FFmpeg(t, "-i", small, "-vf", "vflip", "-frames:v", "12", "-c:v", "ffv1", other)
	}
	styled := filepath.Join(dir, "styled.mkv")
	if code, stderr := vidstyle(t, dir, nil, "-in", small, "-out", styled, "-model", "toon", "-frames", "12", "-crf", "1", "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		in   string
		warn bool
	}{{small, false}, {other, true}} {
		code, out, stderr := vidstyleOut(t, dir, "eval", "-in", c.in, "-out", styled, "-frames", "12", "-json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r struct{ Structure float64 }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if warned := strings.Contains(stderr, "barely follow"); warned != c.warn || (r.Structure < eval.RelatedStructure) != c.warn {
			t.Errorf("-in %s: structure %.2f, warning %v, want a warning %v:\n%s", filepath.Base(c.in), r.Structure, warned, c.warn, stderr)
		}
	}
}

// TestEvalWarnsOfAnotherRate: frames are paired by index, so an output at
// another rate than its source (made with another tool, or a 60 fps copy)
// gets a warning.
func TestEvalWarnsOfAnotherRate(t *testing.T) {
	rm.Tools(t)
	dir := t.TempDir()
	small := testmedia.SmallMP4(t)
	double := filepath.Join(dir, "double.mkv")
	rm.FFmpeg(t, "-i", small, "-vf", "fps=60", "-frames:v", "12", "-c:v", "ffv1", double)
	for _, c := range []struct {
		out  string
		warn bool
	}{{small, false}, {double, true}} {
		code, _, stderr := vidstyleOut(t, dir, "eval", "-in", small, "-out", c.out, "-frames", "12", "-json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := strings.Contains(stderr, "paired by index"); got != c.warn {
			t.Errorf("-out %s: warning %v, want %v:\n%s", filepath.Base(c.out), got, c.warn, stderr)
		}
	}
}
