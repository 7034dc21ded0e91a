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

// StoreDirEnv names the environment variable that sets the models folder
// (the -models-dir flag wins over it).
const StoreDirEnv = "VIDSTYLE_MODELS"

// ErrNoStoreDir means there is no models folder: none was given and the
// user has no cache folder. vidstyle never falls back to a shared one such
// as /tmp/vidstyle/models, where another user could plant a model.
var ErrNoStoreDir = errors.New("no models folder: $HOME and $XDG_CACHE_HOME are not set; give one with -models-dir DIR or $" + StoreDirEnv)

// DefaultStoreDir is $VIDSTYLE_MODELS, else $XDG_CACHE_HOME/vidstyle/models
// (~/.cache/… when unset), else "" when the user has no cache folder (no
// HOME): then no models folder is used, and storing a model fails with
// ErrNoStoreDir.
func DefaultStoreDir() string {
	if dir := os.Getenv(StoreDirEnv); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
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

// Names lists the stored models, sorted. It includes files named like a
// built-in style, which -model never uses (see Shadowing).
func (s Store) Names() ([]string, error) {
	if s.Dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.onnx"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		// A file under a name -model refuses (control characters, a
		// newline) is not listed as one to use.
		// Nor is what is not a file (a folder, a FIFO, a link to a
		// device), which -model would not take either.
		if n := strings.TrimSuffix(filepath.Base(f), ".onnx"); validName(n) == nil && s.Has(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Shadowing reports whether a stored NAME.onnx is ignored because a
// built-in style has that name: built-in names always mean the built-in
// style, so that a file planted in the folder cannot stand in for it.
func Shadowing(name string) bool {
	_, ok := LookupBuiltin(name)
	return ok
}

// Has reports whether NAME is stored.
func (s Store) Has(name string) bool {
	if s.Dir == "" || validName(name) != nil {
		return false
	}
	st, err := os.Stat(s.Path(name))
	return err == nil && st.Mode().IsRegular()
}

// CheckNew says whether a model may be stored under name, before anything
// is downloaded or checked: there is a folder, the name is valid, and it
// is not a built-in style's.
func (s Store) CheckNew(name string) error {
	if s.Dir == "" {
		return ErrNoStoreDir
	}
	if err := validName(name); err != nil {
		return err
	}
	if Shadowing(name) {
		return fmt.Errorf("model name %q is a built-in style's: store it under another name", name)
	}
	return nil
}

// Put stores data as NAME atomically (see PutWithSidecar); a sidecar left
// from an earlier model of that name is removed.
func (s Store) Put(name string, data []byte) (string, error) {
	return s.PutWithSidecar(name, data, nil)
}

// PutWithSidecar stores model as NAME and sidecar (nil: none) as its
// NAME.json. Each is written to a temporary file in the folder, synced and
// renamed into place, so a reader never sees half a file, and a symlink
// planted at either name is replaced, never followed. The sidecar is put
// in place (or an old one removed) before the model, so a new model never
// runs with the convention of the one it replaces.
func (s Store) PutWithSidecar(name string, model, sidecar []byte) (string, error) {
	if err := s.CheckNew(name); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("models folder: %w", err)
	}
	path := s.Path(name)
	err := writeAtomic(path, model, func() error {
		side := SidecarPath(path)
		if sidecar != nil {
			return writeAtomic(side, sidecar, nil)
		}
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the old sidecar: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("models folder: %w", err)
	}
	return path, nil
}

// writeAtomic writes data to path through a temporary file and a rename;
// beforeRename, if set, runs between the two, and its error stops the
// rename.
func writeAtomic(path string, data []byte, beforeRename func() error) error {
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
	if err == nil && beforeRename != nil {
		err = beforeRename()
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
	data, err := ReadFile(s.Path(name))
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
