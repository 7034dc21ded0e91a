package stylize

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryName is the file name of the ONNX Runtime shared library.
const LibraryName = "libonnxruntime.so.1"

// LibraryEnv names the environment variable that overrides the library path.
const LibraryEnv = "VIDSTYLE_ORT_LIB"

// FindLibrary returns the ONNX Runtime library to load. An explicit path (a
// flag or LibraryEnv) wins and must exist. Otherwise it looks next to the
// executable (exeDir and exeDir/../lib), then in the lib folder of the source
// checkout that holds workDir (where scripts/setup.sh puts it), and finally
// falls back to the bare name for the system's loader path.
func FindLibrary(explicit, exeDir, workDir string) (string, error) {
	if explicit != "" {
		st, err := os.Stat(explicit)
		if err != nil {
			return "", fmt.Errorf("%w %s: %w", ErrLibrary, explicit, err)
		}
		if st.IsDir() {
			explicit = filepath.Join(explicit, LibraryName)
			if _, err := os.Stat(explicit); err != nil {
				return "", fmt.Errorf("%w %s: %w", ErrLibrary, explicit, err)
			}
		}
		return explicit, nil
	}
	var candidates []string
	if exeDir != "" {
		candidates = append(candidates, filepath.Join(exeDir, LibraryName), filepath.Join(exeDir, "..", "lib", LibraryName))
	}
	for dir := workDir; dir != ""; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			candidates = append(candidates, filepath.Join(dir, "lib", LibraryName))
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return filepath.Clean(c), nil
		}
	}
	return LibraryName, nil
}

// Runtime is the loaded ONNX Runtime library. The binding keeps one
// environment per process, so there is at most one open Runtime at a time.
type Runtime struct {
	mu      sync.Mutex
	closed  bool
	path    string
	version string
	log     *slog.Logger
}

// Load loads the ONNX Runtime shared library at path and initializes its
// environment.
func Load(path string, log *slog.Logger) (*Runtime, error) {
	if ort.IsInitialized() {
		return nil, fmt.Errorf("%w: already loaded in this process", ErrLibrary)
	}
	if strings.ContainsRune(path, '/') {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%w %s: %w (run scripts/setup.sh, or set -ort-lib or %s)", ErrLibrary, path, err, LibraryEnv)
		}
	}
	// A too-old library answers the binding's request for the API version
	// with a message of its own on stderr: ask its version first.
	if err := checkVersion(libraryVersion(path)); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrLibrary, path, err)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrLibrary, path, explainLoadError(err))
	}
	r := &Runtime{path: path, version: ort.GetVersion(), log: log}
	log.Debug("ONNX Runtime loaded", "path", path, "version", r.version)
	return r, nil
}

// explainLoadError turns the binding's load errors into one readable clause.
func explainLoadError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Error setting ORT API base: 2"):
		return fmt.Sprintf("too old: vidstyle needs ONNX Runtime 1.%d or newer (C API version %d)", APIVersion, APIVersion)
	case strings.Contains(msg, "OrtGetApiBase"):
		return "not an ONNX Runtime library (no OrtGetApiBase symbol)"
	case strings.Contains(msg, "Error loading ONNX shared library"):
		// dlerror text: "path: cannot open shared object file: …" or "invalid ELF header".
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			detail := msg[i+2:]
			if strings.Contains(detail, "ELF") || strings.Contains(detail, "too short") {
				return "not a shared library (" + detail + ")"
			}
			return "cannot load: " + detail + " (run scripts/setup.sh, or set -ort-lib or " + LibraryEnv + ")"
		}
	}
	return msg
}

// Version is the loaded library's version string.
func (r *Runtime) Version() string { return r.version }

// Path is the library that was loaded.
func (r *Runtime) Path() string { return r.path }

// Close tears down the environment. Every Stylizer must be closed first.
// Close is idempotent.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := ort.DestroyEnvironment(); err != nil && !errors.Is(err, ort.NotInitializedError) {
		return fmt.Errorf("%w: destroy environment: %w", ErrLibrary, err)
	}
	return nil
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
