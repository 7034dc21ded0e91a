package models

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// TestReadFileRefusesWhatIsNotAModelFile: ReadFile reads a real model
// whole, and refuses at once, with one line saying what the file is, what
// users take for a model: devices that never end (/dev/zero, behind a
// link named .onnx; it was read until the kernel killed vidstyle at
// 24 GB), a FIFO (it hung), a sparse file over protobuf's 2 GiB (it was
// read whole: 10 GB, 48 s), other frameworks' files, downloads that saved
// something else.
func TestReadFileRefusesWhatIsNotAModelFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13})
	data, err := ReadFile(write("good.onnx", good))
	if err != nil || !bytes.Equal(data, good) {
		t.Fatalf("a real model: %d bytes, %v", len(data), err)
	}
	for _, f := range sharedModels(t) {
		if _, err := ReadFile(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.onnx")
	if f, err := os.Create(huge); err != nil {
		t.Fatal(err)
	} else {
		f.Write(good[:64]) // begins as a model does
		err = f.Truncate(MaxModelBytes + 1)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	safetensors := binary.LittleEndian.AppendUint64(nil, 40)
	safetensors = append(safetensors, `{"conv1.weight":{"dtype":"F32","shape":[32]}}`...)
	cases := []struct {
		name, path, want string
	}{
		{"/dev/zero behind a link", link("zero.onnx", "/dev/zero"), "is not a regular file (a character device)"},
		{"/dev/urandom behind a link", link("random.onnx", "/dev/urandom"), "is not a regular file (a character device)"},
		{"a FIFO", fifo, "is not a regular file (a pipe)"},
		{"a sparse file over 2 GiB", huge, "the file is 2.0 GiB, over the 2.0 GiB a self-contained file can be"},
		{"empty", write("empty.onnx", nil), "not an ONNX model: the file is empty"},
		{"a Git LFS pointer", write("lfs.onnx", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7b\nsize 6728029\n")), "a Git LFS pointer, not the model"},
		{"a saved web page", write("page.onnx", []byte("\n<!DOCTYPE html>\n<html><head><title>udnie.onnx</title>")), "a web page (HTML), not the model"},
		{"a PyTorch checkpoint", write("udnie.pth", []byte("PK\x03\x04\x00\x00\x08\x00\x00\x00archive/data.pkl")), "a ZIP archive (a PyTorch .pt/.pth checkpoint"},
		{"an old PyTorch pickle", write("old.pth", []byte("\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19.")), "a Python pickle"},
		{"a Keras .h5", write("model.h5", []byte("\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00")), "an HDF5 file"},
		{"a TensorFlow Lite model", write("model.tflite", []byte("\x1c\x00\x00\x00TFL3\x00\x00\x12\x00")), "a TensorFlow Lite model"},
		{"safetensors", write("model.safetensors", safetensors), "a safetensors file"},
		{"gzip", write("udnie.onnx.gz", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")), "a compressed file or archive"},
		{"a picture", write("sheet.onnx", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")), "a picture, not a model"},
		{"JSON", write("udnie.json.onnx", []byte(`  {"style": "udnie"}`)), "JSON text, not a model"},
		{"text", write("notes.onnx", []byte("this is a text file\n")), "a text file, not a model"},
		{"binary junk", write("junk.onnx", []byte{0, 1, 2, 3, 0xfe, 0xff}), "its first bytes are not an ONNX model's"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := ReadFile(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v: the file was read", d)
			}
		})
	}
	// A folder is said so by the callers (Resolve looks inside it); the
	// reader refuses it too.
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("a folder: %v", err)
	}
	// A sidecar is bounded the same way.
	if _, err := ReadSidecar(link("zero.json", "/dev/zero")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a sidecar linked to /dev/zero: %v", err)
	}
}

// TestZeroStridesAreRefused: a Conv or pooling node with a stride or
// dilation of 0 (a 225-byte model: ONNX Runtime died of SIGFPE on it,
// with a goroutine dump) is refused when the model is read, in one line.
func TestZeroStridesAreRefused(t *testing.T) {
	for _, c := range []struct {
		op   string
		attr onnxgraph.Attr
	}{
		{"MaxPool", onnxgraph.IntsAttr("strides", 0, 0)},
		{"AveragePool", onnxgraph.IntsAttr("strides", 1, -1)},
		{"MaxPool", onnxgraph.IntsAttr("dilations", 0, 1)},
	} {
		g := &onnxgraph.Builder{}
		out := g.Op(c.op, []string{"input"}, onnxgraph.IntsAttr("kernel_shape", 3, 3), c.attr)
		_, err := ParseGraph(g.Model("bad", "input", out, "output", "", nil))
		if err == nil || !strings.Contains(err.Error(), "node has ") || !strings.Contains(err.Error(), "each must be at least 1") {
			t.Errorf("%s: %v", c.op, err)
		}
	}
	g := &onnxgraph.Builder{}
	out := g.Op("MaxPool", []string{"input"}, onnxgraph.IntsAttr("kernel_shape", 3, 3), onnxgraph.IntsAttr("strides", 1, 1))
	if _, err := ParseGraph(g.Model("ok", "input", out, "output", "", nil)); err != nil {
		t.Errorf("strides 1: %v", err)
	}
}
