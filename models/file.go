package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxModelBytes is the largest model file vidstyle reads: a serialized
// protobuf message, so a self-contained ONNX model, cannot pass 2 GiB
// (ONNX keeps larger weights in external files, which vidstyle refuses).
// A style-transfer net is 1.6 to 7 MB.
const MaxModelBytes = 2 << 30

// maxSidecarBytes bounds a NAME.json sidecar (a few hundred bytes).
const maxSidecarBytes = 1 << 20

// ReadFile reads the model file at path as an untrusted input: it must be
// a regular file (a device such as /dev/zero, a pipe or a folder is
// refused before anything is read: they never end, or never start), at
// most MaxModelBytes, and its first bytes must begin an ONNX model (a
// ModelProto field), so that a multi-gigabyte file of something else is
// refused without being read into memory. It is opened without
// blocking, so a FIFO cannot hang it.
func ReadFile(path string) ([]byte, error) {
	return readBounded(path, MaxModelBytes, sniffONNX)
}

// ReadSidecar reads a sidecar file as ReadFile does a model, up to
// maxSidecarBytes.
func ReadSidecar(path string) ([]byte, error) {
	return readBounded(path, maxSidecarBytes, nil)
}

func readBounded(path string, limit int64, sniff func([]byte) error) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the callers name the file
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat() // the file opened, not what the path names now
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return nil, errors.New("is a folder, not a file")
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("is not a regular file (%s): give the file itself", fileKind(st.Mode()))
	case st.Size() > limit:
		return nil, fmt.Errorf("%w: the file is %s, over the %s a self-contained file can be", ErrTooBig, sizeText(st.Size()), sizeText(limit))
	}
	if sniff != nil {
		head := make([]byte, min(st.Size(), 64))
		if _, err := io.ReadFull(f, head); err != nil {
			return nil, fmt.Errorf("cannot read: %w", err)
		}
		if err := sniff(head); err != nil {
			return nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	// The size may have grown since the Stat: read no more than the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: the file grew past %s while it was read", ErrTooBig, sizeText(limit))
	}
	return data, nil
}

// sniffONNX refuses bytes whose first field cannot begin a ModelProto:
// ir_version (1), producer_name … doc_string (2-6), graph (7),
// opset_import (8), metadata_props (14), training_info (20), functions
// (25) or configuration (26), each with its wire type. Exporters write
// ir_version first.
func sniffONNX(head []byte) error {
	if len(head) == 0 {
		return fmt.Errorf("%w: the file is empty", ErrNotONNX)
	}
	if what := identify(head); what != "" {
		return fmt.Errorf("%w: it is %s", ErrNotONNX, what)
	}
	num, typ, n := protowire.ConsumeTag(head)
	ok := false
	switch {
	case n < 0:
	case num == 1, num == 5:
		ok = typ == protowire.VarintType
	case num >= 2 && num <= 8, num == 14, num == 20, num == 25, num == 26:
		ok = typ == protowire.BytesType
	}
	if !ok {
		if isText(head) {
			return fmt.Errorf("%w: it is a text file, not a model", ErrNotONNX)
		}
		return fmt.Errorf("%w: its first bytes are not an ONNX model's", ErrNotONNX)
	}
	return nil
}

// isText reports whether head is printable ASCII (tabs and line ends
// included).
func isText(head []byte) bool {
	for _, c := range head {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c > 0x7e {
			return false
		}
	}
	return true
}

// identify names what the first bytes of a file that is not ONNX are,
// among what people take for a model: a framework's own format, a
// download that saved something else, an archive; "" when unknown (text
// is told apart only once the bytes cannot begin a model: an ONNX field
// tag may be a printable character).
func identify(head []byte) string {
	h := string(head)
	trimmed := strings.ToLower(strings.TrimLeft(h, " \t\r\n\ufeff"))
	switch {
	case strings.HasPrefix(h, "version https://git-lfs"):
		return "a Git LFS pointer, not the model: fetch the file itself (git lfs pull)"
	case strings.HasPrefix(trimmed, "<!doctype html"), strings.HasPrefix(trimmed, "<html"), strings.HasPrefix(trimmed, "<head"):
		return "a web page (HTML), not the model: the download saved the page that links to it"
	case strings.HasPrefix(h, "PK\x03\x04"):
		return "a ZIP archive (a PyTorch .pt/.pth checkpoint, TorchScript, a Keras file?): export the net to ONNX first (torch.onnx.export), or unzip it"
	case len(h) >= 2 && h[0] == '\x80' && h[1] >= 2 && h[1] <= 5:
		return "a Python pickle (an old PyTorch checkpoint?): export the net to ONNX first (torch.onnx.export)"
	case strings.HasPrefix(h, "\x89HDF"):
		return "an HDF5 file (a Keras .h5 model?): convert it to ONNX first (tf2onnx)"
	case len(h) >= 8 && h[4:8] == "TFL3":
		return "a TensorFlow Lite model: convert it to ONNX first (tf2onnx)"
	case len(head) >= 10 && binary.LittleEndian.Uint64(head) < 1<<30 && h[8:10] == "{\"":
		return "a safetensors file (weights without the net): export the net to ONNX first"
	case strings.HasPrefix(h, "\x1f\x8b"), strings.HasPrefix(h, "\xfd7zXZ"), strings.HasPrefix(h, "BZh"),
		strings.HasPrefix(h, "7z\xbc\xaf"), strings.HasPrefix(h, "Rar!"), strings.HasPrefix(h, "\x28\xb5\x2f\xfd"):
		return "a compressed file or archive (gzip, xz, bzip2, 7z, RAR or zstd): unpack it first"
	case strings.HasPrefix(h, "\x89PNG"), strings.HasPrefix(h, "\xff\xd8\xff"), strings.HasPrefix(h, "GIF8"):
		return "a picture, not a model"
	case strings.HasPrefix(trimmed, "{"), strings.HasPrefix(trimmed, "["):
		return "JSON text, not a model"
	}
	return ""
}

// fileKind names what a path that is not a plain file is.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
