package models_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vidstyle/vidstyle/models"
)

func TestBuiltinsAreDeterministicONNX(t *testing.T) {
	bs := models.Builtins()
	if len(bs) == 0 || bs[0].Name != models.DefaultStyle {
		t.Fatalf("the default style %q must come first", models.DefaultStyle)
	}
	for _, b := range bs {
		a, c := b.ONNX(), b.ONNX()
		if !bytes.Equal(a, c) {
			t.Errorf("%s: two builds differ", b.Name)
		}
		// ModelProto field 1 (ir_version) comes first, and the graph names
		// its ends "input" and "output".
		if len(a) < 100 || a[0] != 0x08 || !bytes.Contains(a, []byte("input")) || !bytes.Contains(a, []byte("output")) {
			t.Errorf("%s: does not look like an ONNX model", b.Name)
		}
		if !strings.Contains(b.Description, "not a neural net") {
			t.Errorf("%s: the description must say honestly what it is", b.Name)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "udnie.onnx")
	os.WriteFile(file, []byte("\x08\x07x"), 0o644) // begins as a model does: ir_version 7

	m, err := models.Resolve("pencil")
	if err != nil || !m.IsBuiltin() || m.Name != "pencil" {
		t.Fatalf("built-in: %+v %v", m, err)
	}
	m, err = models.Resolve(file)
	if err != nil || m.IsBuiltin() || m.Name != "udnie" || m.Path != file {
		t.Fatalf("file: %+v %v", m, err)
	}
	if data, err := m.ONNX(); err != nil || string(data) != "\x08\x07x" {
		t.Fatalf("file bytes: %q %v", data, err)
	}
	if m, err := models.Resolve("mosaic"); err != nil || m.Catalog == nil || m.Path != "" {
		t.Fatalf("catalog: %+v %v", m, err)
	}
	if _, err := models.Resolve("nonesuch"); !errors.Is(err, models.ErrUnknownModel) || !strings.Contains(err.Error(), "toon, pencil") {
		t.Fatalf("unknown: %v", err)
	}
	// The models folder comes before the catalog, never before a built-in
	// style: a toon.onnx there is ignored, and none can be stored.
	store := models.Store{Dir: t.TempDir()}
	for _, name := range []string{"mosaic", "mine"} {
		if _, err := store.Put(name, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if m, err := store.Resolve(name); err != nil || m.Path != store.Path(name) || m.IsBuiltin() || m.Catalog != nil {
			t.Fatalf("%s in the folder: %+v %v", name, m, err)
		}
	}
	if _, err := store.Put("toon", []byte("x")); err == nil || !strings.Contains(err.Error(), `model name "toon" is a built-in style's`) {
		t.Fatalf("toon stored: %v", err)
	}
	os.WriteFile(store.Path("toon"), []byte("planted"), 0o644) // by someone else
	// Names -model refuses are not listed as usable (an escape sequence,
	// a newline in a file name someone put there).
	os.WriteFile(filepath.Join(store.Dir, "evil\x1b]0;PWN\a\nname.onnx"), []byte("x"), 0o644)
	if m, err := store.Resolve("toon"); err != nil || !m.IsBuiltin() {
		t.Fatalf("a toon.onnx in the folder replaced the built-in: %+v %v", m, err)
	}
	if names, err := store.Names(); err != nil || strings.Join(names, ",") != "mine,mosaic,toon" || !models.Shadowing("toon") || models.Shadowing("mine") {
		t.Fatalf("names %v %v", names, err)
	}
	if _, err := store.Put("../evil", []byte("x")); err == nil {
		t.Fatal("a name with a slash was stored")
	}
	if _, err := models.Resolve(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
}

// TestCloseMatches: a -model value that names nothing gets the names
// closest to it, with where each is; one with nothing close gets none.
func TestCloseMatches(t *testing.T) {
	store := models.Store{Dir: t.TempDir()}
	if _, err := store.Put("starry-night", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ spec, want string }{
		{"udnie.onnx", "; did you mean -model udnie (catalog)?"},
		{"models/Udnie.onnx", "; did you mean -model udnie (catalog)?"},
		{"tooon", "; did you mean -model toon (built in)?"},
		{"pensil", "; did you mean -model pencil (built in)?"},
		{"starry-nigth", "; did you mean -model starry-night (models folder)?"},
		{"starry-night.onnx", "; did you mean -model starry-night (models folder)?"},
		{"candi", "; did you mean -model candy (catalog)?"},
		{"nonesuch", "not in the catalog (vidstyle models list shows what there is)"},
		{"x", "not in the catalog (vidstyle models list shows what there is)"},
	} {
		_, err := store.Resolve(c.spec)
		if !errors.Is(err, models.ErrUnknownModel) || !strings.HasSuffix(err.Error(), c.want) || !strings.HasPrefix(err.Error(), `unknown model "`+c.spec+`": no such file`) {
			t.Errorf("%s: %v, want it to end in %q", c.spec, err, c.want)
		}
	}
	// A catalog of the caller's own is the one searched.
	own := []models.CatalogEntry{{Name: "house-style"}}
	if _, err := store.ResolveIn("house-styl", own); err == nil || !strings.HasSuffix(err.Error(), "did you mean -model house-style (catalog)?") {
		t.Errorf("own catalog: %v", err)
	}
	if _, err := store.ResolveIn("udnie.onnx", own); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("the built-in catalog was searched beside the own one: %v", err)
	}
}

// TestSidecarWritesDoNotFollowSymlinks: a NAME.json (or NAME.onnx) in the
// folder that is a symlink to a file elsewhere is replaced by the store,
// and the file it pointed to is left as it was (before, a sidecar write
// went through the link).
func TestSidecarWritesDoNotFollowSymlinks(t *testing.T) {
	store := models.Store{Dir: t.TempDir()}
	outside := filepath.Join(t.TempDir(), "precious.txt")
	if err := os.WriteFile(outside, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{models.SidecarPath(store.Path("net")), store.Path("net")} {
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.PutWithSidecar("net", []byte("model"), []byte(`{"channels":"BGR"}`)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(outside); string(data) != "keep me" {
		t.Fatalf("the file outside the folder now holds %q", data)
	}
	for path, want := range map[string]string{store.Path("net"): "model", models.SidecarPath(store.Path("net")): `{"channels":"BGR"}`} {
		st, err := os.Lstat(path)
		data, _ := os.ReadFile(path)
		if err != nil || !st.Mode().IsRegular() || string(data) != want {
			t.Errorf("%s: %v %v %q, want a plain file holding %q", path, st.Mode(), err, data, want)
		}
	}
	// Removing a stale sidecar that is a link removes the link only.
	os.Remove(models.SidecarPath(store.Path("net")))
	os.Symlink(outside, models.SidecarPath(store.Path("net")))
	if _, err := store.Put("net", []byte("model 2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(models.SidecarPath(store.Path("net"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale sidecar link is still there: %v", err)
	}
	if data, _ := os.ReadFile(outside); string(data) != "keep me" {
		t.Fatalf("the file outside the folder now holds %q", data)
	}
}

// TestStaleSidecarIsRemoved: storing a model under a name whose earlier
// model had a sidecar removes it (or replaces it with the new one's), so
// that a BGR convention cannot carry over to an RGB model.
func TestStaleSidecarIsRemoved(t *testing.T) {
	store := models.Store{Dir: t.TempDir()}
	side := models.SidecarPath(store.Path("net"))
	if _, err := store.PutWithSidecar("net", []byte("old"), []byte(`{"channels":"BGR"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put("net", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(side); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old sidecar survived: %v", err)
	}
	if _, err := store.PutWithSidecar("net", []byte("newer"), []byte(`{"range":"0..1"}`)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(side); string(data) != `{"range":"0..1"}` {
		t.Fatalf("sidecar %q", data)
	}
}

// TestNoSharedFallbackFolder: with no HOME and no XDG_CACHE_HOME there is
// no default models folder (before, it was /tmp/vidstyle/models, where any
// local user could plant a model), storing says what to do, and nothing
// is looked up; $VIDSTYLE_MODELS sets the folder.
func TestNoSharedFallbackFolder(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv(models.StoreDirEnv, "")
	if dir := models.DefaultStoreDir(); dir != "" {
		t.Fatalf("default models folder %q with no HOME", dir)
	}
	store := models.Store{Dir: models.DefaultStoreDir()}
	_, err := store.Put("net", []byte("x"))
	if !errors.Is(err, models.ErrNoStoreDir) || !strings.Contains(err.Error(), "give one with -models-dir DIR or $VIDSTYLE_MODELS") {
		t.Fatalf("Put: %v", err)
	}
	if store.Has("net") {
		t.Fatal("Has found a model in no folder")
	}
	if m, err := store.Resolve("toon"); err != nil || !m.IsBuiltin() {
		t.Fatalf("built-in styles need no folder: %+v %v", m, err)
	}
	t.Setenv(models.StoreDirEnv, "/srv/models")
	if dir := models.DefaultStoreDir(); dir != "/srv/models" {
		t.Fatalf("$VIDSTYLE_MODELS gave %q", dir)
	}
	t.Setenv(models.StoreDirEnv, "")
	t.Setenv("HOME", "/home/someone")
	if dir := models.DefaultStoreDir(); dir != "/home/someone/.cache/vidstyle/models" {
		t.Fatalf("with HOME: %q", dir)
	}
}

// TestStoreListsOnlyFiles: a folder, a named pipe or a link to a device
// named like a model is not listed (it was, as "ready"), and -model names
// what it is, instead of calling the name unknown and suggesting itself.
func TestStoreListsOnlyFiles(t *testing.T) {
	store := models.Store{Dir: t.TempDir()}
	if err := os.WriteFile(store.Path("good"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(store.Path("folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(store.Path("pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", store.Path("zero")); err != nil {
		t.Fatal(err)
	}
	names, err := store.Names()
	if err != nil || !slices.Equal(names, []string{"good"}) {
		t.Errorf("listed %q (%v), want only good", names, err)
	}
	for name, want := range map[string]string{"folder": "is a folder, not a file", "pipe": "is a pipe, not a file", "zero": "is a character device, not a file"} {
		_, err := store.Resolve(name)
		if err == nil || !strings.Contains(err.Error(), store.Path(name)+" in the models folder "+want) || strings.Contains(err.Error(), "did you mean") {
			t.Errorf("-model %s: %v, want %q", name, err, want)
		}
	}
}
