package main_test

import (
	"encoding/json"
	"math"
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

// TestEvalPairsFramesByTime: frames are paired as a viewer sees them, by
// time, so a pass-through of the source measures exactly as the source
// however its frames were laid out: a 60 fps copy (each picture twice),
// vidstyle's own outputs of a video that starts after its audio (held
// from 0), of one with a jump in its frame times (a picture held over
// the gap) and of one of odd size (padded by a pixel). Paired by index,
// they measured 1.8-2.7 times the source. A copy of another shape gets a
// warning.
func TestEvalPairsFramesByTime(t *testing.T) {
	rm.Tools(t)
	dir := t.TempDir()
	small := testmedia.SmallMP4(t)
	model := identityModel(t, dir)
	part := filepath.Join(dir, "part.mkv")
	rm.FFmpeg(t, "-i", small, "-frames:v", "24", "-vf", "scale=160:96", "-c:v", "ffv1", "-c:a", "aac", part)
	clip := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		rm.FFmpeg(t, append(args, p)...)
		return p
	}
	styled := func(in, crf string) string {
		out := in + ".out.mkv"
		if code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", model, "-temporal", "0", "-crf", crf, "-q"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return out
	}
	late := clip("late.mkv", "-itsoffset", "0.5", "-i", part, "-i", part, "-map", "0:v", "-map", "1:a", "-c", "copy")
	jump := clip("jump.mkv", "-i", part, "-vf", "setpts='if(lt(N,10),N,N+8)/30/TB'", "-fps_mode", "vfr", "-an", "-c:v", "ffv1")
	// A moving pattern: E_warp well above what CRF 1 changes.
	odd := clip("odd.mkv", "-f", "lavfi", "-i", "testsrc2=rate=30", "-frames:v", "24", "-vf", "scale=159:95", "-pix_fmt", "yuv444p", "-c:v", "ffv1")
	// Lossless RGB keeps odd sides; 4:2:0 at CRF 1 pads them.
	padded := styled(odd, "1")
	if v := rm.Probe(t, padded).Video(t); v.Width != 160 || v.Height != 96 {
		t.Fatalf("the odd clip came out %dx%d, want 160x96 (padded): the test would not test the crop", v.Width, v.Height)
	}
	for _, c := range []struct {
		name, in, out string
		warn          string
		lossy         bool
	}{
		{"a 60 fps copy", part, clip("double.mkv", "-i", part, "-vf", "fps=60", "-c:v", "ffv1"), "", false},
		{"a video that starts after its audio", late, styled(late, "0"), "", false},
		{"a jump in the frame times", jump, styled(jump, "0"), "", false},
		{"odd size, padded", odd, padded, "", true},
		{"another shape", part, clip("wide.mkv", "-i", part, "-vf", "scale=240:96", "-c:v", "ffv1"), "another shape", false},
	} {
		code, out, stderr := vidstyleOut(t, dir, "eval", "-in", c.in, "-out", c.out, "-json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		var r struct {
			Frames    int
			EWarp     float64 `json:"e_warp"`
			Floor     float64 `json:"e_warp_floor"`
			Structure float64
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if c.warn != "" && !strings.Contains(stderr, c.warn) || c.warn == "" && strings.Contains(stderr, "eval:") {
			t.Errorf("%s: want a warning %q (none if empty):\n%s", c.name, c.warn, stderr)
		}
		if c.warn != "" {
			continue
		}
		if c.lossy {
			// 4:2:0 at CRF 1 changes the colours' flicker itself; what
			// pairing the pixels wrong (stretching 159 to 160) breaks is
			// the edges' agreement: 0.95.
			if r.Frames < 20 || r.Structure < 0.99 {
				t.Errorf("%s: %d pairs, structure %.3f: want 20 or more pairs, 0.99 or more", c.name, r.Frames, r.Structure)
			}
			continue
		}
		if r.Frames < 20 || r.EWarp <= 0 || math.Abs(r.EWarp/r.Floor-1) > 0.01 || r.Structure < 0.99 {
			t.Errorf("%s: %d pairs, E_warp %.5f against the source's %.5f (%.2fx), structure %.3f: want 20 or more pairs, 1.00x, 1.00",
				c.name, r.Frames, r.EWarp, r.Floor, r.EWarp/r.Floor, r.Structure)
		}
	}
}
