package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// vidstyleOut runs the binary and returns its exit code, stdout and stderr.
func vidstyleOut(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := command(dir, nil, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestModelsListShowsBuiltinsStoredAndCatalog(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.MkdirAll(store, 0o755)
	os.WriteFile(filepath.Join(store, "mine.onnx"), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644)
	code, out, stderr := vidstyleOut(t, dir, "models", "list", "-models-dir", store)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^toon +built in`),
		regexp.MustCompile(`(?m)^pencil +built in`),
		regexp.MustCompile(`(?m)^mine +models folder +6\.7 MB .*ready`),
		regexp.MustCompile(`(?m)^mosaic +catalog +6\.7 MB +BSD-3-Clause.*not downloaded`),
	} {
		if !want.MatchString(out) {
			t.Errorf("list lacks %v:\n%s", want, out)
		}
	}
	// Every name listed is one -model takes.
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	if code, stderr := vidstyle(t, dir, nil, "-in", photo, "-out", "o.png", "-models-dir", store, "-model", "mine", "-size", "64x48"); code != 0 {
		t.Fatalf("-model mine: exit %d: %s", code, stderr)
	}
}

func TestModelsInfoOnSharedModels(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "models", "*.onnx"))
	if len(files) == 0 {
		t.Skip("../shared/models not present: skipping")
	}
	for _, f := range files {
		code, out, stderr := vidstyleOut(t, t.TempDir(), "models", "info", f)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		flat := strings.Join(strings.Fields(out), " ") // the columns' width follows the longest label
		for _, want := range []string{"input input float32 [1, 3, height, width]", "NCHW RGB 0..255", "any frame size", "0.252 MFLOP per output pixel"} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s: info lacks %q:\n%s", filepath.Base(f), want, out)
			}
		}
	}
}

func TestModelsImportMakesAZooModelSizeFree(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	zoo := filepath.Join(dir, "zoo-9.onnx")
	os.WriteFile(zoo, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224}), 0o644)
	code, _, stderr := vidstyleOut(t, dir, "models", "import", "-models-dir", store, zoo, "zoo")
	if code != 0 || !strings.Contains(stderr, "rewritten to take any size") {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	_, out, _ := vidstyleOut(t, dir, "models", "info", "-models-dir", store, "zoo")
	if !strings.Contains(out, "input1 float32 [1, 3, height, width]") || !strings.Contains(out, "0.308 MFLOP") {
		t.Fatalf("info after import:\n%s", out)
	}
	code, stderr2 := vidstyle(t, dir, nil, "-in", testmedia.SmallMP4(t), "-out", "z.mp4", "-models-dir", store, "-model", "zoo", "-frames", "2")
	if code != 0 || !strings.Contains(stderr2, "with zoo at 560x320") {
		t.Fatalf("run at 560x320: exit %d: %s", code, stderr2)
	}
	if v, _ := probe(t, filepath.Join(dir, "z.mp4")); v.Width != 560 || v.frames() != 2 {
		t.Errorf("output %+v", v)
	}
}

func TestModelsPull(t *testing.T) {
	body := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224, Seed: 7})
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/net.onnx", "/mosaic-9.onnx":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
		case "/cut.onnx":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")

	code, _, stderr := vidstyleOut(t, dir, "models", "pull", "-models-dir", store, srv.URL+"/net.onnx")
	if code != 0 || !strings.Contains(stderr, "no sha256 to check") || !strings.Contains(stderr, hash) {
		t.Fatalf("pull URL: exit %d: %s", code, stderr)
	}
	if code, stderr := vidstyle(t, dir, nil, "-in", testmedia.SmallMP4(t), "-out", "net.mp4", "-models-dir", store, "-model", "net", "-frames", "2", "-scale", "0.5"); code != 0 {
		t.Fatalf("running the pulled model: exit %d: %s", code, stderr)
	}
	code, _, stderr = vidstyleOut(t, dir, "models", "pull", "-models-dir", store, "-sha256", hash, srv.URL+"/net.onnx")
	if code != 0 || !strings.Contains(stderr, "already in the models folder") {
		t.Fatalf("second pull: exit %d: %s", code, stderr)
	}

	// Failures leave nothing in the folder and say why in one line.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-sha256", strings.Repeat("ab", 32), srv.URL + "/net.onnx"}, "expected abab"},
		{[]string{srv.URL + "/cut.onnx"}, "connection lost after"},
		{[]string{srv.URL + "/missing.onnx"}, "HTTP 404"},
		{[]string{"-catalog-mirror", srv.URL, "mosaic"}, "expected 6728029"},
		{[]string{"nonesuch"}, `unknown model "nonesuch"`},
	} {
		empty := filepath.Join(t.TempDir(), "store")
		code, _, stderr := vidstyleOut(t, dir, append([]string{"models", "pull", "-models-dir", empty}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code == 0 || !strings.HasPrefix(last, "vidstyle: error: ") || !strings.Contains(last, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant an error line containing %q", c.args, code, stderr, c.want)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("%v: left %v", c.args, entries)
		}
	}

	// -model with a catalog name pulls on first use (here: from a mirror
	// whose file is not the real one, so it is refused).
	code, stderr = vidstyle(t, dir, nil, "-in", filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), "-out", "o.png",
		"-models-dir", filepath.Join(dir, "other"), "-catalog-mirror", srv.URL, "-model", "candy")
	if code == 0 || !strings.Contains(stderr, "pulling it into") || !strings.Contains(stderr, "candy-9.onnx: HTTP 404") {
		t.Errorf("-model candy: exit %d: %s", code, stderr)
	}
}

func TestModelsFlagAfterArgumentsIsAnError(t *testing.T) {
	code, _, stderr := vidstyleOut(t, t.TempDir(), "models", "info", "toon", "-q")
	if code != 2 || !strings.Contains(stderr, "flag -q comes after the arguments; flags go first") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestModelsInfoEscapesTheModelsText: names and metadata from a model
// file reach the terminal escaped (no ESC, CR or bidi control of the
// file's is written) and cut to one line each.
func TestModelsInfoEscapesTheModelsText(t *testing.T) {
	dir := t.TempDir()
	g := &onnxgraph.Builder{Opset: 13}
	h, w := onnxgraph.Dim{Param: "h\x1b]0;T2\a"}, onnxgraph.Dim{Param: "width"}
	g.InDims = []onnxgraph.Dim{{Value: 1}, {Value: 3}, h, w}
	g.OutDims = g.InDims
	x := g.Op("Mul", []string{"in\x1b[2Jput", g.Scalar(1)})
	data := g.Model("evil", "in\x1b[2Jput", x, "output", "", map[string]string{
		"style":            "\x1b[2J\x1b[H\x1b]0;PWNED\a",
		"license":          "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
		"x\rmodel trusted": "signed \u202egnp.exe",
		"long":             strings.Repeat("a", 100000),
	})
	p := filepath.Join(dir, "evil.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	mustRun(t, dir, "models", "import", "-models-dir", store, p, "evil")
	for _, args := range [][]string{{"models", "info", p}, {"models", "list", "-models-dir", store}} {
		out, stderr := mustRun(t, dir, args...)
		all := out + stderr
		if strings.ContainsAny(all, "\x1b\r\a\u202e") {
			t.Errorf("%v writes the model's control characters: %q", args, all)
		}
		for _, line := range strings.Split(all, "\n") {
			if len(line) > 400 {
				t.Errorf("%v: a line of %d bytes", args, len(line))
			}
		}
		if args[1] == "info" && !strings.Contains(out, `style: \x1b[2J\x1b[H\x1b]0;PWNED\a`) {
			t.Errorf("models info does not show the escaped metadata:\n%s", out)
		}
	}
}

// TestModelsInfoSaysWhenTheRuntimeRefuses: a model whose graph reads
// well but names an IR version ONNX Runtime does not know is described
// with that reason, not as "any frame size".
func TestModelsInfoSaysWhenTheRuntimeRefuses(t *testing.T) {
	dir := t.TempDir()
	good := testmodels.IdentityGraph()
	if good[0] != 0x08 || good[1]&0x80 != 0 {
		t.Fatalf("the identity graph does not start with a one-byte ir_version")
	}
	p := filepath.Join(dir, "ir999.onnx")
	if err := os.WriteFile(p, append([]byte{0x08, 0xe7, 0x07}, good[2:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := mustRun(t, dir, "models", "info", p)
	if !strings.Contains(out, "cannot load in ONNX Runtime: ") || !strings.Contains(out, "IR version: 999") || strings.Contains(out, "any frame size") {
		t.Errorf("models info of an IR 999 model:\n%s", out)
	}
	plain, _ := mustRun(t, dir, "models", "info", identityModel(t, dir))
	if strings.Contains(plain, "cannot load") {
		t.Errorf("models info of the identity model:\n%s", plain)
	}
}

// TestModelsInfoShowsFewMetadataEntries: a model of 100 000 metadata
// entries (a crafted file's million buried the terminal) is shown with
// the first 40 and a count of the rest.
func TestModelsInfoShowsFewMetadataEntries(t *testing.T) {
	dir := t.TempDir()
	g := &onnxgraph.Builder{Opset: 13}
	meta := map[string]string{}
	for i := range 100_000 {
		meta[fmt.Sprint("k", i)] = "v"
	}
	data := g.Model("many", "input", g.Op("Mul", []string{"input", g.Scalar(1)}), "output", "", meta)
	p := filepath.Join(dir, "many.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := mustRun(t, dir, "models", "info", p)
	if n := strings.Count(out, "\n"); n > 60 || !strings.Contains(out, "… and 99960 more entries") {
		t.Errorf("models info: %d lines, want the first 40 entries and a count of the rest:\n%.2000s", n, out)
	}
}

// TestModelsInfoOfOneFixedSide: a model that fixes only its height is
// described so ("fixed height 90"), not as a size of 0x90.
func TestModelsInfoOfOneFixedSide(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tall.onnx")
	if err := os.WriteFile(p, testmodels.HalfFixedGraph(90, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := mustRun(t, dir, "models", "info", p)
	if !strings.Contains(out, "fixed height 90 (frames are resized to it, keeping their shape") || strings.Contains(out, "0x90") {
		t.Errorf("models info of a model 90 high:\n%s", out)
	}
}
