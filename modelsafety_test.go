package vidstyle_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
)

// passwd is where the hostile model's weights point.
const passwd = "../../../../etc/passwd"

// refusal is the line every load path must give for the hostile model.
const refusal = `tensor "external_1" keeps its data in an external file ("../../../../etc/passwd"): vidstyle loads only self-contained models`

// folderIsEmpty fails the test if dir holds any file (a model, a sidecar,
// a partial download).
func folderIsEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("left in %s: %v", dir, entries)
	}
}

// TestExternalDataOnEveryLoadPath: a "style" whose weights are kept in
// ../../../../etc/passwd (which ONNX Runtime, given the bytes, reads from
// the working directory; here a temporary folder, from which the path
// reaches /etc/passwd) is refused with one line by -model FILE, an image
// job, import, pull from a catalog, a name in the models folder, and a
// second style to switch to (file and live jobs resolve every style at the
// start); nothing is written or stored.
func TestExternalDataOnEveryLoadPath(t *testing.T) {
	small := testmedia.SmallMP4(t) // before the Chdir: it asks go list
	photo := filepath.Join(filepath.Dir(small), "face.jpg")
	t.Chdir(t.TempDir())
	evil := testmodels.ExternalDataGraph(passwd)
	file := filepath.Join(t.TempDir(), "evil.onnx")
	if err := os.WriteFile(file, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	catalog := catalogServer(t, "evil", evil)
	e := newEngine(t, vidstyle.Config{ModelsDir: store, Catalog: catalog})
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, models.ErrNotSelfContained) || !strings.HasSuffix(err.Error(), refusal) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line ending in %q", what, err, refusal)
		}
	}
	ctx := context.Background()
	_, err := e.Models(ctx, file)
	check("-model FILE", err)
	outDir := t.TempDir()
	_, err = e.Transcode(ctx, vidstyle.Job{In: photo, Out: filepath.Join(outDir, "o.png"), Model: file})
	check("image job", err)
	folderIsEmpty(t, outDir)
	_, err = e.Import(file, "")
	check("import", err)
	folderIsEmpty(t, store)
	_, err = e.Models(ctx, "evil") // not stored: pulled from the catalog on first use
	check("pull on first use", err)
	_, err = e.Pull(ctx, catalog[0])
	check("pull", err)
	folderIsEmpty(t, store)
	set, err := e.Styles(ctx, vidstyle.StyleConfig{Model: "toon," + file, FrameWidth: 64, FrameHeight: 48})
	if err == nil {
		set.Close()
	}
	check("second style", err)
	tr, err := e.Open(ctx, vidstyle.Job{In: small, Out: filepath.Join(outDir, "o.mp4"), Model: "toon,pencil," + file})
	if err == nil {
		tr.Close() // deletes the unfinished output
	}
	check("third style of a file job", err)
	folderIsEmpty(t, outDir)

	// Put into the folder by hand: refused by name, and in a switch list.
	if err := os.WriteFile(filepath.Join(store, "planted.onnx"), evil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.Models(ctx, "planted")
	check("models folder", err)
	set, err = e.Styles(ctx, vidstyle.StyleConfig{Model: "toon,planted", FrameWidth: 64, FrameHeight: 48, Preload: true})
	if err == nil {
		set.Close()
	}
	check("models folder, preloaded", err)
}

// TestPulledModelDropsAStaleSidecar: a model pulled under a name whose
// earlier model had a BGR sidecar runs with its own (RGB) convention: the
// sidecar is gone. Before, the BGR sidecar stayed and applied.
func TestPulledModelDropsAStaleSidecar(t *testing.T) {
	store := t.TempDir()
	rgb := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 5})
	catalog := catalogServer(t, "net", rgb)
	e := newEngine(t, vidstyle.Config{ModelsDir: store, Catalog: catalog})
	src := t.TempDir()
	bgr := filepath.Join(src, "net.onnx")
	os.WriteFile(bgr, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, BGR: true}), 0o644)
	os.WriteFile(models.SidecarPath(bgr), []byte(`{"channels":"BGR"}`), 0o644)
	if _, err := e.Import(bgr, ""); err != nil {
		t.Fatal(err)
	}
	ms, err := e.Models(context.Background(), "net")
	if err != nil || !ms[0].Convention.BGR {
		t.Fatalf("imported with a BGR sidecar: %+v %v", ms, err)
	}
	if _, err := e.Pull(context.Background(), catalog[0]); err != nil {
		t.Fatal(err)
	}
	ms, err = e.Models(context.Background(), "net")
	if err != nil || ms[0].Convention.BGR {
		t.Fatalf("the pulled RGB model runs as BGR: %+v %v", ms[0].Convention, err)
	}
	if _, err := os.Stat(filepath.Join(store, "net.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale sidecar is still there: %v", err)
	}
}

// TestBuiltinNamesCannotBeShadowed: a toon.onnx in the models folder (here
// the hostile model, which would fail if it were loaded) does not replace
// the built-in toon, the folder listing leaves it out with one warning,
// and import and pull refuse built-in names before doing anything.
func TestBuiltinNamesCannotBeShadowed(t *testing.T) {
	store := t.TempDir()
	os.WriteFile(filepath.Join(store, "toon.onnx"), testmodels.ExternalDataGraph(passwd), 0o644)
	os.WriteFile(filepath.Join(store, "mine.onnx"), testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644)
	var logged bytes.Buffer
	e := newEngine(t, vidstyle.Config{ModelsDir: store, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	ms, err := e.Models(context.Background(), "toon")
	if err != nil {
		t.Fatalf("-model toon with a toon.onnx in the folder: %v", err)
	}
	if toon, _ := models.LookupBuiltin("toon"); !bytes.Equal(ms[0].ONNX, toon.ONNX()) {
		t.Fatal("-model toon ran the file in the folder")
	}
	names, err := e.StoredModels()
	if err != nil || strings.Join(names, ",") != "mine" {
		t.Fatalf("stored models %v %v", names, err)
	}
	if n := strings.Count(logged.String(), "toon.onnx is ignored: toon is a built-in style"); n != 1 {
		t.Errorf("%d warnings about toon.onnx:\n%s", n, logged.String())
	}
	src := filepath.Join(t.TempDir(), "pencil.onnx")
	os.WriteFile(src, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644)
	if _, err := e.Import(src, ""); err == nil || !strings.Contains(err.Error(), `model name "pencil" is a built-in style's`) {
		t.Errorf("import as pencil: %v", err)
	}
	srv := countingServer(t)
	if _, err := e.Pull(context.Background(), models.CatalogEntry{Name: "toon", URL: srv.url + "/toon.onnx"}); err == nil || !strings.Contains(err.Error(), `model name "toon" is a built-in style's`) {
		t.Errorf("pull as toon: %v", err)
	}
	if _, err := e.Pull(context.Background(), models.CatalogEntry{Name: "../up", URL: srv.url + "/up.onnx"}); err == nil || !strings.Contains(err.Error(), `model name "../up"`) {
		t.Errorf("pull as ../up: %v", err)
	}
	if n := srv.hits(); n != 0 {
		t.Errorf("the server was asked %d times for models with names that cannot be stored", n)
	}
}

// TestNoModelsFolderWithoutHome: with no HOME (and no XDG_CACHE_HOME) the
// engine has no models folder rather than a shared one in /tmp; built-in
// styles still run, and storing a model says how to give a folder.
func TestNoModelsFolderWithoutHome(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv(models.StoreDirEnv, "")
	e, err := vidstyle.New(vidstyle.Config{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	e.UseRuntime(sharedRT)
	defer e.Close()
	if dir := e.Store().Dir; dir != "" {
		t.Fatalf("models folder %q with no HOME", dir)
	}
	if _, err := e.Models(context.Background(), "toon"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "net.onnx")
	os.WriteFile(src, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644)
	if _, err := e.Import(src, ""); !errors.Is(err, models.ErrNoStoreDir) {
		t.Errorf("import: %v", err)
	}
	if _, err := e.Models(context.Background(), "mosaic"); !errors.Is(err, models.ErrNoStoreDir) || !strings.Contains(err.Error(), "-models-dir DIR") {
		t.Errorf("a catalog model with no folder to pull into: %v", err)
	}
}

// hugeServer answers every request with up to 512 MiB, as fast as loopback
// takes it: chunked (no length) for /chunked/…, or as a gzip "bomb" for
// /bomb/… (1 MiB of gzip that inflates to 1 GiB). It records the
// Accept-Encoding it was sent.
type hugeServer struct {
	url string
	mu  sync.Mutex
	enc []string
}

func newHugeServer(t *testing.T) *hugeServer {
	t.Helper()
	// One gzip member of 8 MiB of zeros, 128 times: a valid gzip stream
	// (members may follow each other) that inflates to 1 GiB.
	var zb bytes.Buffer
	z, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
	z.Write(make([]byte, 8<<20))
	z.Close()
	bomb := bytes.Repeat(zb.Bytes(), 128)
	h := &hugeServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.enc = append(h.enc, r.Header.Get("Accept-Encoding"))
		h.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/bomb/") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(bomb)
			return
		}
		w.(http.Flusher).Flush() // no Content-Length: chunked
		chunk := bytes.Repeat([]byte("vidstyle"), 128<<10)
		for range 512 { // 1 MiB each
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// TestDownloadsStayOutOfMemory: (a) a hostile -catalog-mirror sending
// 512 MiB chunked for the 6.7 MB mosaic entry is cut one byte past the
// catalog's size; (b) the same server sending a gzip bomb is refused
// without inflating it; (c) a URL pull of unknown size takes all 512 MiB
// (under the 2 GiB cap) into a temporary file. In each, the process's
// resident memory, sampled as the bytes arrive, grows by less than 64 MiB
// (before, it grew by the whole body: 4.96 GB for 1.1 GiB), identity was
// asked for, and nothing is left in the models folder.
func TestDownloadsStayOutOfMemory(t *testing.T) {
	const bound = 64 << 20
	srv := newHugeServer(t)
	mosaic, _ := models.LookupCatalog("mosaic")
	for _, c := range []struct {
		name  string
		entry models.CatalogEntry
		want  string
	}{
		{"chunked mirror", mosaic.WithMirror(srv.url + "/chunked"), "the server sent more than the 6728029 bytes the catalog gives"},
		{"gzip bomb", mosaic.WithMirror(srv.url + "/bomb"), `Content-Encoding "gzip"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := t.TempDir()
			var peak int64
			base := testmedia.RSS(t)
			e := newEngine(t, vidstyle.Config{ModelsDir: store, OnDownload: func(p vidstyle.DownloadProgress) {
				peak = max(peak, testmedia.RSS(t))
			}})
			_, err := e.Pull(context.Background(), c.entry)
			peak = max(peak, testmedia.RSS(t))
			if !errors.Is(err, models.ErrDownload) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if peak-base > bound {
				t.Errorf("resident memory grew by %d MiB", (peak-base)>>20)
			}
			t.Logf("%v; resident memory grew by %.1f MiB", err, float64(peak-base)/(1<<20))
			folderIsEmpty(t, store)
		})
	}
	t.Run("unknown size", func(t *testing.T) {
		dir := t.TempDir()
		var peak int64
		base := testmedia.RSS(t)
		f, err := models.Fetch(context.Background(), http.DefaultClient, models.Download{URL: srv.url + "/chunked/any.onnx",
			Progress: func(done, total int64) { peak = max(peak, testmedia.RSS(t)) }}, dir)
		peak = max(peak, testmedia.RSS(t))
		if err != nil || f.Size != 512<<20 {
			t.Fatalf("%+v %v", f, err)
		}
		if st, err := os.Stat(f.Path); err != nil || st.Size() != 512<<20 {
			t.Fatalf("the file: %v %v", st, err)
		}
		os.Remove(f.Path)
		if peak-base > bound {
			t.Errorf("resident memory grew by %d MiB", (peak-base)>>20)
		}
		t.Logf("resident memory grew by %.1f MiB for 512 MiB", float64(peak-base)/(1<<20))
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, enc := range srv.enc {
		if enc != "identity" {
			t.Errorf("Accept-Encoding %q, want identity", enc)
		}
	}
}

// counting is a loopback server that counts its requests and has no
// models.
type counting struct {
	url  string
	mu   sync.Mutex
	seen int
}

func countingServer(t *testing.T) *counting {
	c := &counting{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.seen++
		c.mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *counting) hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// TestImportStopsASlowModel: a model file of a few hundred bytes whose
// check run would take minutes (convolutions with 255×255 kernels made
// by ConstantOfShape at load) is stopped at the engine's check time and
// refused in one line; nothing is stored. Before, the check had no time
// bound and stored the model when it was done.
func TestImportStopsASlowModel(t *testing.T) {
	file := filepath.Join(t.TempDir(), "slow.onnx")
	if err := os.WriteFile(file, testmodels.SlowGraph(400, 255), 0o644); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	e := newEngine(t, vidstyle.Config{ModelsDir: store, CheckTime: time.Second})
	_, err := e.Import(file, "slow")
	want := "model slow: one 96x64 picture took more than 1s (a Johnson net takes about 0.01 s): not a style vidstyle can run"
	if err == nil || err.Error() != want {
		t.Errorf("import: %v, want %q", err, want)
	}
	folderIsEmpty(t, store)

	// A Ctrl-C stops it too, with the context's cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("interrupted")
	time.AfterFunc(200*time.Millisecond, func() { cancel(stop) })
	e = newEngine(t, vidstyle.Config{ModelsDir: store})
	if _, err := e.ImportContext(ctx, file, "slow"); !errors.Is(err, stop) || strings.Contains(err.Error(), "\n") {
		t.Errorf("import stopped by its context: %v, want one line wrapping %v", err, stop)
	}
	folderIsEmpty(t, store)
}

// TestImportOfAModelOfOneOutputSize: a model that paints 200x200 whatever
// it is given is not made size-free when it declares a fixed input (zoo
// style, 224x224): it is kept as it is, with the warning that frames are
// resized to its size. Declared size-free, it is stored with a warning
// that its output is scaled to the frame. Before, the check took the
// first for size-free (its output was scaled back at both sizes).
func TestImportOfAModelOfOneOutputSize(t *testing.T) {
	for _, c := range []struct {
		name  string
		fixed int64
		warn  string
	}{
		{"zoo", 224, "depends on its declared size (model zoo: its output is"},
		{"free", 0, "paints one size whatever its input's (model free: its output is"},
		// Size-free, its output declared 1x1: the rewrite frees the
		// output's shape, and was then said to depend on a declared
		// size it does not have.
		{"pooled", 0, "paints one size whatever its input's (model pooled: its output is"},
	} {
		file := filepath.Join(t.TempDir(), c.name+".onnx")
		graph := testmodels.FixedOutputGraph(200, c.fixed)
		if c.name == "pooled" {
			graph = testmodels.PooledGraph()
		}
		if err := os.WriteFile(file, graph, 0o644); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		store := t.TempDir()
		e := newEngine(t, vidstyle.Config{ModelsDir: store, Log: slog.New(slog.NewTextHandler(&log, nil))})
		if _, err := e.Import(file, c.name); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(log.String(), c.warn) {
			t.Errorf("%s: log %q, want %q", c.name, log.String(), c.warn)
		}
		stored, err := os.ReadFile(filepath.Join(store, c.name+".onnx"))
		g, perr := models.ParseGraph(stored)
		if err != nil || perr != nil {
			t.Fatalf("%s: %v %v", c.name, err, perr)
		}
		if h, w, err := g.CheckImage(); c.fixed > 0 && (err != nil || w != c.fixed || h != c.fixed) {
			t.Errorf("%s: stored with input %dx%d (%v), want its own %dx%d", c.name, w, h, err, c.fixed, c.fixed)
		}
	}
}

// TestPullUsesTheCatalogMirror: Engine.Pull of a catalog entry fetches it
// from Config.CatalogMirror, as pulls inside Models did (it went to the
// entry's own source); a URL entry of the caller's is left as it is.
func TestPullUsesTheCatalogMirror(t *testing.T) {
	e := newEngine(t, vidstyle.Config{CatalogMirror: "http://127.0.0.1:1/mirror/"})
	c := models.Catalog()[0]
	if got := vidstyle.Mirrored(e, c); got.URL != "http://127.0.0.1:1/mirror/"+c.File || got.SHA256 != c.SHA256 {
		t.Errorf("catalog %s fetched from %s, want the mirror", c.Name, got.URL)
	}
	// The catalog's hash goes with it, whatever the entry given says.
	unhashed := c
	unhashed.SHA256 = ""
	if got := vidstyle.Mirrored(e, unhashed); got.SHA256 != c.SHA256 || got.Size != c.Size {
		t.Errorf("an entry without its hash is fetched from the mirror with hash %q", got.SHA256)
	}
	own := models.CatalogEntry{Name: c.Name, URL: "https://example.test/mine.onnx", File: "mine.onnx"}
	if got := vidstyle.Mirrored(e, own); got.URL != own.URL {
		t.Errorf("the caller's URL became %s", got.URL)
	}
}
