package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	vs "github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// calibPhotos is a folder of three photos from the gocv module's images.
func calibPhotos(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "photos")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	images := filepath.Dir(testmedia.SmallMP4(t))
	for _, name := range []string{"face.jpg", "space_shuttle.jpg", "toy.jpg"} {
		data, err := os.ReadFile(filepath.Join(images, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustRun runs the binary and fails the test unless it exits 0; it
// returns stdout and stderr.
func mustRun(t *testing.T, dir string, args ...string) (string, string) {
	t.Helper()
	code, out, stderr := vidstyleOut(t, dir, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d:\n%s", args, code, stderr)
	}
	return out, stderr
}

// precisionLine is the one log line that says which precision a job uses.
var precisionLine = regexp.MustCompile(`(?m)^vidstyle: precision .*$`)

// TestModelsQuantizeUdnie quantizes udnie from ../shared/models (skipped
// when absent) imported into a models folder of the test's, calibrated on
// a folder of photos and, under another name, on frames of small.mp4: each
// INT8 model is stored, models info shows its precision and provenance
// (the calibration recorded), and models list shows it. Then a 160x96,
// 3-frame job at -precision int8, fp32 and auto each logs one line that
// says which precision it uses and writes a stylized video; the INT8
// output is close to the FP32 one but not the same (the INT8 net ran).
func TestModelsQuantizeUdnie(t *testing.T) {
	notUnderRace(t)
	udnie := sharedModel(t, "udnie")
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	small := testmedia.SmallMP4(t)
	photos := calibPhotos(t)
	mustRun(t, dir, "models", "import", "-models-dir", store, udnie, "udnie")

	_, stderr := mustRun(t, dir, "models", "quantize", "-models-dir", store, "-calib", photos, "-frames", "3", "udnie")
	if !strings.Contains(stderr, "calibrating on 3 frames from "+photos) || !strings.Contains(stderr, "stored udnie.int8 in "+filepath.Join(store, "udnie.int8.onnx")) {
		t.Errorf("quantize -calib DIR:\n%s", stderr)
	}
	_, stderr = mustRun(t, dir, "models", "quantize", "-models-dir", store, "-calib", small, "-frames", "4", "udnie", "udnie-clip.int8")
	if !strings.Contains(stderr, "calibrating on 4 frames from "+small) || !strings.Contains(stderr, "stored udnie-clip.int8 in ") {
		t.Errorf("quantize -calib VIDEO:\n%s", stderr)
	}
	for _, c := range []struct{ name, calib string }{{"udnie.int8", "3 frames (" + photos + ")"}, {"udnie-clip.int8", "4 frames (" + small}} {
		out, _ := mustRun(t, dir, "models", "info", "-models-dir", store, c.name)
		flat := strings.Join(strings.Fields(out), " ")
		for _, want := range []string{"precision int8 (quantized from udnie)", "vidstyle.calibration: " + c.calib, "vidstyle.quantized_from_sha256: ", "opset 13"} {
			if !strings.Contains(flat, want) {
				t.Errorf("models info %s lacks %q:\n%s", c.name, want, out)
			}
		}
	}
	out, _ := mustRun(t, dir, "models", "list", "-models-dir", store)
	for _, name := range []string{"udnie", "udnie.int8", "udnie-clip.int8"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +models folder`).MatchString(out) {
			t.Errorf("models list lacks %s:\n%s", name, out)
		}
	}

	int8Line := "vidstyle: precision int8 for udnie: running " + filepath.Join(store, "udnie.int8.onnx") + " (-precision fp32 for the float model)"
	autoLine := int8Line
	if data, err := os.ReadFile("/proc/cpuinfo"); err != nil || !vs.HasVNNI(data) {
		autoLine = "vidstyle: precision fp32 for udnie: this CPU has no VNNI (avx512_vnni, avx_vnni), where INT8 gains little"
	}
	src := testmedia.DecodeAll(t, small)
	results := map[string]string{}
	for _, c := range []struct{ precision, model, line, runs string }{
		{"int8", "udnie", int8Line, "udnie.int8"},
		{"fp32", "udnie", "vidstyle: precision fp32 for udnie: -precision fp32", "udnie"},
		{"auto", "udnie", autoLine, ""},
		{"auto", "udnie.int8", "vidstyle: precision int8: udnie.int8 is a quantized model", "udnie.int8"},
	} {
		name := c.precision + "-" + c.model + ".mp4"
		_, stderr := mustRun(t, dir, "-in", small, "-out", name, "-models-dir", store, "-model", c.model,
			"-precision", c.precision, "-size", "160x96", "-frames", "3", "-temporal", "0")
		lines := precisionLine.FindAllString(stderr, -1)
		if len(lines) != 1 || lines[0] != c.line {
			t.Errorf("-precision %s -model %s: precision lines %q, want %q", c.precision, c.model, lines, c.line)
		}
		if c.runs != "" && !strings.Contains(stderr, " with "+c.runs+" at 160x96 on cpu into ") {
			t.Errorf("-precision %s -model %s: not run with %s:\n%s", c.precision, c.model, c.runs, stderr)
		}
		t.Log(lines)
		outFrames := testmedia.DecodeAll(t, filepath.Join(dir, name))
		if len(outFrames) != 3 {
			t.Fatalf("%s: %d frames", name, len(outFrames))
		}
		for i, f := range outFrames {
			if d := testmedia.MeanAbsDiff(src[i], f); d < 8 {
				t.Errorf("%s frame %d differs from the input by only %.1f levels: not stylized", name, i, d)
			}
		}
		results[c.precision+"-"+c.model] = filepath.Join(dir, name)
	}
	i8 := testmedia.DecodeAll(t, results["int8-udnie"])
	f32 := testmedia.DecodeAll(t, results["fp32-udnie"])
	direct := testmedia.DecodeAll(t, results["auto-udnie.int8"])
	for i := range i8 {
		p := testmedia.PSNR(i8[i], f32[i])
		t.Logf("frame %d: int8 vs fp32 PSNR %.1f dB, mean abs diff %.2f levels", i, p, testmedia.MeanAbsDiff(i8[i], f32[i]))
		if p < 25 || testmedia.MeanAbsDiff(i8[i], f32[i]) == 0 {
			t.Errorf("frame %d: int8 vs fp32 PSNR %.1f dB, mean abs diff %.2f: want close (≥ 25 dB) but not the same", i, p, testmedia.MeanAbsDiff(i8[i], f32[i]))
		}
		if d := testmedia.MeanAbsDiff(i8[i], direct[i]); d != 0 {
			t.Errorf("frame %d: -precision int8 -model udnie and -model udnie.int8 differ by %.2f levels", i, d)
		}
	}
}

// TestModelsQuantizeZooShape: a model in the ONNX model zoo's shape
// (opset 9, Pad with attributes, Upsample, fixed 224x224: the project's
// Johnson test graph) imported into a models folder quantizes from the
// command line (upgraded to opset 13 on the way, which the rewrite
// provenance records) and runs at -precision int8.
func TestModelsQuantizeZooShape(t *testing.T) {
	notUnderRace(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	zoo := filepath.Join(dir, "zoo-9.onnx")
	if err := os.WriteFile(zoo, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Size: 224, Seed: 8}), 0o644); err != nil {
		t.Fatal(err)
	}
	small := testmedia.SmallMP4(t)
	mustRun(t, dir, "models", "import", "-models-dir", store, zoo, "zoo")
	mustRun(t, dir, "models", "quantize", "-models-dir", store, "-calib", small, "-frames", "2", "zoo")
	out, _ := mustRun(t, dir, "models", "info", "-models-dir", store, "zoo.int8")
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"opset 13", "precision int8 (quantized from zoo)", "vidstyle.rewrite: opset-9-to-13,"} {
		if !strings.Contains(flat, want) {
			t.Errorf("models info zoo.int8 lacks %q:\n%s", want, out)
		}
	}
	_, stderr := mustRun(t, dir, "-in", small, "-out", "z.mp4", "-models-dir", store, "-model", "zoo", "-precision", "int8", "-size", "160x96", "-frames", "2")
	if !strings.Contains(stderr, "precision int8 for zoo: running ") || !strings.Contains(stderr, " with zoo.int8 at 160x96") {
		t.Errorf("run at -precision int8:\n%s", stderr)
	}
	if v, _ := probe(t, filepath.Join(dir, "z.mp4")); v.frames() != 2 || v.Width != 560 {
		t.Errorf("output %+v", v)
	}
}

// TestModelsQuantizeBadInput: each bad quantize or precision input gives
// one clear line and its exit code, and stores nothing: a built-in style
// (not a Johnson net), an empty -calib folder, a missing -calib, -frames
// 0, an already quantized model, a missing model, a model too old to
// upgrade (opset 8), -precision bogus (usage: exit 2) and -precision int8
// for a model without an INT8 version.
func TestModelsQuantizeBadInput(t *testing.T) {
	notUnderRace(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	photos := calibPhotos(t)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	johnson := filepath.Join(dir, "johnson.onnx")
	old := filepath.Join(dir, "old.onnx")
	os.WriteFile(johnson, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 3}), 0o644)
	os.WriteFile(old, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 8}), 0o644)
	mustRun(t, dir, "models", "import", "-models-dir", store, johnson, "johnson")
	mustRun(t, dir, "models", "quantize", "-models-dir", store, "-calib", photos, "-frames", "3", "johnson")
	before := listDir(t, store)
	photo := filepath.Join(photos, "face.jpg")
	q := []string{"models", "quantize", "-models-dir", store}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"built-in style", append(q, "-calib", photos, "toon", "toon-q"), 1, "model toon: cannot quantize: not a Johnson-style transform net: "},
		{"empty -calib folder", append(q, "-calib", empty, "johnson", "j2.int8"), 2, "no calibration frames in " + empty + ": give -calib DIR|VIDEO"},
		{"missing -calib", append(q, "-calib", filepath.Join(dir, "nope"), "johnson", "j2.int8"), 2, "-calib " + filepath.Join(dir, "nope") + ": no such file or folder"},
		{"-frames 0", append(q, "-calib", photos, "-frames", "0", "johnson", "j2.int8"), 2, "-frames 0: give 1 or more calibration frames"},
		{"already quantized", append(q, "-calib", photos, "johnson.int8", "j2.int8"), 2, "model johnson.int8 is already int8"},
		{"missing model", append(q, "-calib", photos, "nonesuch"), 1, `unknown model "nonesuch"`},
		{"opset 8", append(q, "-calib", photos, old, "old.int8"), 1, "model old: cannot quantize: cannot upgrade to opset 13: the model is opset 8"},
		{"-precision bogus", []string{"-in", photo, "-out", "o.png", "-models-dir", store, "-model", "johnson", "-precision", "bogus"}, 2, `precision "bogus": use auto, fp32 or int8`},
		{"-precision int8 without an INT8 version", []string{"-in", photo, "-out", "o.png", "-models-dir", filepath.Join(dir, "other"), "-model", johnson, "-precision", "int8"}, 2, "-precision int8: johnson has no INT8 version in the models folder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			code, stderr := vidstyle(t, out, nil, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != c.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "vidstyle: error: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and one line containing %q", code, stderr, c.code, c.want)
			}
			t.Log(lines[0])
			if left := listDir(t, out); len(left) != 0 {
				t.Errorf("left in the output folder: %v", left)
			}
			if now := listDir(t, store); strings.Join(now, ",") != strings.Join(before, ",") {
				t.Errorf("models folder changed: %v, was %v", now, before)
			}
		})
	}
}

// TestBrokenINT8Sibling: a models folder whose NAME.int8 is not a model
// (a failed copy, a planted file): -precision auto runs the float model
// and says why (on a CPU with VNNI, where it would pick the sibling),
// -precision int8 stops with one line, and bench leaves the comparison
// out instead of crashing.
func TestBrokenINT8Sibling(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "johnson.onnx"), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644); err != nil {
		t.Fatal(err)
	}
	// A working model followed by a varint Go's reader refuses.
	bad := append(testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0x98, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	if err := os.WriteFile(filepath.Join(store, "johnson.int8.onnx"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	_, stderr := mustRun(t, dir, "-in", photo, "-out", "auto.png", "-models-dir", store, "-model", "johnson", "-precision", "auto", "-size", "64x64")
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil && vs.HasVNNI(data) && !strings.Contains(stderr, "precision fp32 for johnson: its INT8 version "+filepath.Join(store, "johnson.int8.onnx")+" cannot be used: ") {
		t.Errorf("-precision auto with a broken sibling:\n%s", stderr)
	}
	code, stderr := vidstyle(t, dir, nil, "-in", photo, "-out", "int8.png", "-models-dir", store, "-model", "johnson", "-precision", "int8", "-size", "64x64")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "vidstyle: error: -precision int8: ") || !strings.Contains(lines[0], "not an ONNX model") {
		t.Errorf("-precision int8 with a broken sibling: exit %d:\n%s", code, stderr)
	}
	code, stderr = vidstyle(t, dir, nil, "bench", "-models-dir", store, "-model", "johnson", "-precision", "fp32", "-size", "64x64", "-frames", "4", "-scales", "1")
	if code != 0 || strings.Contains(stderr, "panic") || !strings.Contains(stderr, "bench: johnson.int8 is not compared: ") {
		t.Errorf("bench with a broken sibling: exit %d:\n%s", code, stderr)
	}
}
