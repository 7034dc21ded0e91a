package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// Store is the models folder: NAME.onnx files (and their NAME.json
// sidecars) that -model accepts by name.
type Store struct {
	Dir string
}

// DefaultStoreDir is $XDG_CACHE_HOME/vidstyle/models (~/.cache/… when unset).
func DefaultStoreDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "vidstyle", "models")
}

// namePattern is what a stored model may be called: up to 64 letters,
// digits, '.', '_' and '-', starting with a letter or digit. A compiled
// Regexp is safe for concurrent use and is never changed.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validName checks a stored model's name against namePattern; it must not
// end in .onnx, which Path adds.
func validName(name string) error {
	if !namePattern.MatchString(name) || strings.HasSuffix(name, ".onnx") {
		return fmt.Errorf("model name %q: use up to 64 letters, digits, '.', '_' and '-', without .onnx", name)
	}
	return nil
}

// Path is where the model NAME is (or would be) stored.
func (s Store) Path(name string) string { return filepath.Join(s.Dir, name+".onnx") }

// Names lists the stored models, sorted.
func (s Store) Names() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.onnx"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".onnx"))
	}
	slices.Sort(names)
	return names, nil
}

// Has reports whether NAME is stored.
func (s Store) Has(name string) bool {
	if validName(name) != nil {
		return false
	}
	st, err := os.Stat(s.Path(name))
	return err == nil && st.Mode().IsRegular()
}

// Put stores data as NAME atomically: a temporary file in the folder,
// synced, then renamed, so a reader never sees half a model.
func (s Store) Put(name string, data []byte) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("models folder: %w", err)
	}
	return s.Path(name), writeAtomic(s.Path(name), data)
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Source is where a stored model came from, kept in its metadata.
type Source struct{ URL, SHA256 string }

// Provenance metadata keys written by WithSource.
const (
	metaSourceURL    = "vidstyle.source_url"
	metaSourceSHA256 = "vidstyle.source_sha256"
)

// StoredSource reads the source a stored model records, if any.
func (s Store) StoredSource(name string) (Source, error) {
	data, err := os.ReadFile(s.Path(name))
	if err != nil {
		return Source{}, err
	}
	g, err := ParseGraph(data)
	if err != nil {
		return Source{}, err
	}
	url, _ := g.MetadataValue(metaSourceURL)
	sum, _ := g.MetadataValue(metaSourceSHA256)
	if sum == "" {
		return Source{}, errors.New("no source recorded")
	}
	return Source{URL: url, SHA256: sum}, nil
}

// WithSource appends provenance entries to a model's metadata_props.
func WithSource(data []byte, src Source) []byte {
	out := append([]byte(nil), data...)
	for _, kv := range []KV{{metaSourceURL, src.URL}, {metaSourceSHA256, src.SHA256}} {
		var e []byte
		e = onnxgraph.AppendString(e, 1, kv.Key)
		e = onnxgraph.AppendString(e, 2, kv.Value)
		out = onnxgraph.AppendBytes(out, 14, e)
	}
	return out
}
