package main_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// lastLine is the last line of a command's stderr.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return lines[len(lines)-1]
}

// emptyDir fails the test if dir holds anything.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in %s: %v", dir, entries)
	}
}

// TestModelsPullRefusesHostileDownloads: from a loopback server, models
// pull refuses a model whose weights are kept in ../../../../etc/passwd, a
// catalog mirror that sends 64 MiB (chunked) for the 6.7 MB mosaic, and a
// gzip-encoded answer, each with one error line and nothing left in the
// models folder.
func TestModelsPullRefusesHostileDownloads(t *testing.T) {
	evil := testmodels.ExternalDataGraph("../../../../etc/passwd")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/evil.onnx":
			w.Write(evil)
		case strings.HasPrefix(r.URL.Path, "/chunked/"):
			w.(http.Flusher).Flush()
			chunk := bytes.Repeat([]byte{7}, 1<<20)
			for range 64 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case strings.HasPrefix(r.URL.Path, "/gzip/"):
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8b not really"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{srv.URL + "/evil.onnx"}, `model evil: tensor "external_1" keeps its data in an external file ("../../../../etc/passwd"): vidstyle loads only self-contained models`},
		{[]string{"-catalog-mirror", srv.URL + "/chunked", "mosaic"}, "the server sent more than the 6728029 bytes the catalog gives"},
		{[]string{"-catalog-mirror", srv.URL + "/gzip", "mosaic"}, `the server sent it with Content-Encoding "gzip"`},
	} {
		store := filepath.Join(t.TempDir(), "store")
		code, _, stderr := vidstyleOut(t, dir, append([]string{"models", "pull", "-models-dir", store}, c.args...)...)
		if last := lastLine(stderr); code != 1 || !strings.HasPrefix(last, "vidstyle: error: ") || !strings.Contains(last, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit 1 and an error line containing %q", c.args, code, stderr, c.want)
		}
		emptyDir(t, store)
	}
	emptyDir(t, dir)
}

// TestModelsListIgnoresAFileNamedLikeABuiltin: a toon.onnx in the models
// folder (the hostile model, which would fail if loaded) is not listed as
// a stored model, models list warns once that it is ignored, and -model
// toon paints with the built-in toon.
func TestModelsListIgnoresAFileNamedLikeABuiltin(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.MkdirAll(store, 0o755)
	os.WriteFile(filepath.Join(store, "toon.onnx"), testmodels.ExternalDataGraph("../../../../etc/passwd"), 0o644)
	code, out, stderr := vidstyleOut(t, dir, "models", "list", "-models-dir", store)
	if code != 0 || strings.Count(stderr, "toon.onnx is ignored: toon is a built-in style") != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("list: exit %d, stderr:\n%s", code, stderr)
	}
	if regexp.MustCompile(`(?m)^toon +models folder`).MatchString(out) || !regexp.MustCompile(`(?m)^toon +built in`).MatchString(out) {
		t.Errorf("toon.onnx is listed:\n%s", out)
	}
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	if code, stderr := vidstyle(t, dir, nil, "-in", photo, "-out", "o.png", "-models-dir", store, "-model", "toon", "-size", "64x48"); code != 0 {
		t.Fatalf("-model toon: exit %d: %s", code, stderr)
	}
}

// TestPullUnderAnImportedNameDropsItsSidecar: a model imported with a BGR
// sidecar, then replaced by an RGB model pulled under the same name, runs
// as RGB (the stale sidecar is removed); a sidecar stored through a
// symlink planted in the folder replaces the link and leaves the file it
// pointed to unchanged.
func TestPullUnderAnImportedNameDropsItsSidecar(t *testing.T) {
	rgb := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 9})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(rgb) }))
	defer srv.Close()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.MkdirAll(store, 0o755)
	outside := filepath.Join(dir, "precious.txt")
	os.WriteFile(outside, []byte("keep me"), 0o644)
	os.Symlink(outside, filepath.Join(store, "net.json"))
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "net.onnx"), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, BGR: true}), 0o644)
	os.WriteFile(filepath.Join(src, "net.json"), []byte(`{"channels":"BGR"}`), 0o644)

	if code, _, stderr := vidstyleOut(t, dir, "models", "import", "-models-dir", store, filepath.Join(src, "net.onnx")); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	if data, _ := os.ReadFile(outside); string(data) != "keep me" {
		t.Fatalf("the sidecar was written through the symlink: the file outside holds %q", data)
	}
	if _, out, _ := vidstyleOut(t, dir, "models", "info", "-models-dir", store, "net"); !strings.Contains(out, "NCHW BGR 0..255") {
		t.Fatalf("info after import:\n%s", out)
	}
	if code, _, stderr := vidstyleOut(t, dir, "models", "pull", "-models-dir", store, "-name", "net", srv.URL+"/rgb.onnx"); code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	if _, out, _ := vidstyleOut(t, dir, "models", "info", "-models-dir", store, "net"); !strings.Contains(out, "NCHW RGB 0..255") {
		t.Fatalf("info after the pull (the BGR sidecar still applies?):\n%s", out)
	}
	if _, err := os.Lstat(filepath.Join(store, "net.json")); !os.IsNotExist(err) {
		t.Errorf("the stale sidecar is still there: %v", err)
	}
}
