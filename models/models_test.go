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
	if _, err := models.Resolve("mosaic"); !errors.Is(err, models.ErrUnknownModel) || !strings.Contains(err.Error(), "toon, pencil") {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := models.Resolve(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
}
