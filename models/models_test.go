package models_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	os.WriteFile(file, []byte("x"), 0o644)

	m, err := models.Resolve("pencil")
	if err != nil || !m.IsBuiltin() || m.Name != "pencil" {
		t.Fatalf("built-in: %+v %v", m, err)
	}
	m, err = models.Resolve(file)
	if err != nil || m.IsBuiltin() || m.Name != "udnie" || m.Path != file {
		t.Fatalf("file: %+v %v", m, err)
	}
	if data, err := m.ONNX(); err != nil || string(data) != "x" {
		t.Fatalf("file bytes: %q %v", data, err)
	}
	if m, err := models.Resolve("mosaic"); err != nil || m.Catalog == nil || m.Path != "" {
		t.Fatalf("catalog: %+v %v", m, err)
	}
	if _, err := models.Resolve("nonesuch"); !errors.Is(err, models.ErrUnknownModel) || !strings.Contains(err.Error(), "toon, pencil") {
		t.Fatalf("unknown: %v", err)
	}
	// The models folder comes before built-ins and the catalog.
	store := models.Store{Dir: t.TempDir()}
	for _, name := range []string{"toon", "mosaic", "mine"} {
		if _, err := store.Put(name, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if m, err := store.Resolve(name); err != nil || m.Path != store.Path(name) || m.IsBuiltin() || m.Catalog != nil {
			t.Fatalf("%s in the folder: %+v %v", name, m, err)
		}
	}
	if names, err := store.Names(); err != nil || strings.Join(names, ",") != "mine,mosaic,toon" {
		t.Fatalf("names %v %v", names, err)
	}
	if _, err := store.Put("../evil", []byte("x")); err == nil {
		t.Fatal("a name with a slash was stored")
	}
	if _, err := models.Resolve(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
}
