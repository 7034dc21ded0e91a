package vidstyle

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// Config sets up an Engine. The zero value works: ONNX Runtime found where
// scripts/setup.sh puts it, the best device, the default models folder.
type Config struct {
	// Library is the ONNX Runtime shared library (a file, or a folder that
	// holds libonnxruntime.so.1). Empty: $VIDSTYLE_ORT_LIB, then beside the
	// executable, then lib/ in the source checkout that holds the working
	// directory, then the system's loader path.
	Library string
	// Device is stylize.DeviceAuto (the default), DeviceCPU, DeviceCUDA or
	// DeviceTensorRT.
	Device string
	// Threads is ONNX Runtime's intra-op thread count (0: one per core);
	// InterOpThreads above 1 runs independent operators in parallel; Spin
	// lets its threads spin-wait between operators (see BENCHMARKS.md).
	Threads, InterOpThreads int
	Spin                    bool
	// Precision is PrecisionAuto (the default: a model's INT8 sibling
	// NAME.int8 when the models folder has one and the CPU has VNNI),
	// PrecisionFP32 or PrecisionINT8.
	Precision string
	// ModelsDir is the models folder (default models.DefaultStoreDir();
	// when that is empty, for a user with no HOME, there is none: built-in
	// styles and files still work, storing a model fails with
	// models.ErrNoStoreDir).
	ModelsDir string
	// CatalogMirror, if set, is a base URL catalog models are fetched from
	// instead of their source (sizes and hashes still apply).
	CatalogMirror string
	// Catalog, if not nil, replaces the built-in download catalog
	// (models.Catalog) for -model names: an embedding program's own list.
	Catalog []models.CatalogEntry
	// HTTPClient makes the downloads (default: a client with a 10 minute
	// timeout).
	HTTPClient *http.Client
	// Log receives what the engine says; nil discards it.
	Log *slog.Logger
	// OnDownload, if set, is called as a model download goes on.
	OnDownload func(DownloadProgress)
	// CheckTime bounds each run of the check a model passes before it is
	// stored (import, pull, quantize); 0 means DefaultCheckTime.
	CheckTime time.Duration
}

// DownloadProgress is how far a model download has got.
type DownloadProgress struct {
	Name        string
	Done, Total int64 // bytes; Total is 0 when unknown
	Started     time.Time
}

// Engine is vidstyle in a process: the ONNX Runtime library (loaded on
// first use, once), the models folder, and the jobs. Its methods may be
// called from several goroutines.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	store models.Store

	mu       sync.Mutex // guards rt, borrowed, autoDevice, sets and users
	rt       *stylize.Runtime
	borrowed bool // rt came from UseRuntime: not the engine's to close
	// autoDevice is where -device auto lands with rt ("": not tried yet).
	autoDevice string
	// sets are the style sets Styles made (a job's, a live preview's),
	// the closed ones dropped by Close; users counts the calls running
	// on rt now (a bench, a quantization, a model's check).
	sets  []*stylize.StyleSet
	users int
}

// New makes an Engine. It loads nothing yet: ONNX Runtime is loaded by the
// first job that needs it.
func New(cfg Config) (*Engine, error) {
	switch cfg.Device {
	case "":
		cfg.Device = stylize.DeviceAuto
	case stylize.DeviceAuto, stylize.DeviceCPU, stylize.DeviceCUDA, stylize.DeviceTensorRT:
	default:
		return nil, usagef("device %q: use auto, cpu, cuda or tensorrt", cfg.Device)
	}
	switch cfg.Precision {
	case "":
		cfg.Precision = PrecisionAuto
	case PrecisionAuto, PrecisionFP32, PrecisionINT8:
	default:
		return nil, usagef("precision %q: use auto, fp32 or int8", cfg.Precision)
	}
	if cfg.Threads < 0 || cfg.InterOpThreads < 0 {
		return nil, usagef("thread counts cannot be negative")
	}
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = models.DefaultStoreDir()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Minute}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: log, store: models.Store{Dir: cfg.ModelsDir}}, nil
}

// Runtime returns ONNX Runtime, loading it the first time. Every later
// call returns the same one, until Close.
func (e *Engine) Runtime() (*stylize.Runtime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runtimeLocked()
}

// useRuntime is Runtime for a call that runs on it until release: Close
// refuses meanwhile.
func (e *Engine) useRuntime() (_ *stylize.Runtime, release func(), _ error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rt, err := e.runtimeLocked()
	if err != nil {
		return nil, nil, err
	}
	e.users++
	return rt, sync.OnceFunc(func() {
		e.mu.Lock()
		e.users--
		e.mu.Unlock()
	}), nil
}

// addSet counts a style set made on the engine's runtime until it is
// closed.
func (e *Engine) addSet(s *stylize.StyleSet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sets = slices.DeleteFunc(e.sets, (*stylize.StyleSet).Closed)
	e.sets = append(e.sets, s)
}

// runtimeLocked is Runtime with e.mu held.
func (e *Engine) runtimeLocked() (*stylize.Runtime, error) {
	if e.rt != nil {
		return e.rt, nil
	}
	path, err := e.libraryPath()
	if err != nil {
		return nil, err
	}
	rt, err := stylize.Load(path, e.log)
	if err != nil {
		return nil, err
	}
	e.rt = rt
	return rt, nil
}

// UseRuntime makes the engine use rt, already loaded by the caller (tests
// that share one per process), instead of loading its own. Close leaves
// rt open.
func (e *Engine) UseRuntime(rt *stylize.Runtime) *Engine {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rt = rt
	e.borrowed = true
	e.autoDevice = ""
	return e
}

func (e *Engine) libraryPath() (string, error) {
	explicit := e.cfg.Library
	if explicit == "" {
		explicit = os.Getenv(stylize.LibraryEnv)
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			exeDir = filepath.Dir(exe)
		}
	}
	wd, _ := os.Getwd()
	return stylize.FindLibrary(explicit, exeDir, wd)
}

// Close unloads ONNX Runtime (one given to UseRuntime stays loaded: it
// is the caller's). Every job (Transcoder), live preview and style set
// must be closed first, and no bench or quantization be running: while
// one is open, Close refuses with ErrInUse, says how many, and keeps
// ONNX Runtime loaded, so that what is open still works; close them and
// call it again. Close is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sets = slices.DeleteFunc(e.sets, (*stylize.StyleSet).Closed)
	if n, u := len(e.sets), e.users; n > 0 || u > 0 {
		var open []string
		if n > 0 {
			open = append(open, plural(n, "style set")+" (a job's, a live preview's or from Styles)")
		}
		if u > 0 {
			open = append(open, plural(u, "call")+" running on it (a bench, a quantization, a model's check)")
		}
		return fmt.Errorf("%w: ONNX Runtime stays loaded: %s still open; close them first", ErrInUse, strings.Join(open, " and "))
	}
	rt, borrowed := e.rt, e.borrowed
	e.rt, e.borrowed, e.autoDevice = nil, false, ""
	if rt == nil || borrowed {
		return nil
	}
	return rt.Close()
}

// plural is "1 thing" or "N things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Store is the models folder.
func (e *Engine) Store() models.Store { return e.store }

// Device is the device the engine was asked for.
func (e *Engine) Device() string { return e.cfg.Device }

// sessionConfig is how every session of this engine runs, for frames of
// fw×fh processed at w×h.
func (e *Engine) sessionConfig(fw, fh, w, h int) stylize.Config {
	cache, _ := os.UserCacheDir()
	if cache != "" {
		cache = filepath.Join(cache, "vidstyle", "tensorrt")
	}
	return stylize.Config{
		FrameWidth: fw, FrameHeight: fh, Width: w, Height: h,
		Device: e.cfg.Device, Threads: e.cfg.Threads, InterOpThreads: e.cfg.InterOpThreads, Spin: e.cfg.Spin,
		CacheDir: cache, Log: e.log,
	}
}

// Size is a processing size: frames are stylized at it and scaled back.
// The zero value keeps the frame size.
type Size struct {
	// Width and Height, when set, are the size itself.
	Width, Height int
	// Scale, when set, is a fraction of the frame size (0.5: half).
	Scale float64
}

// oriented is size turned to the orientation of a w×h frame: a landscape
// size on a portrait picture (a phone's clip with -size 640x360, or a
// folder of both) is taken as its portrait twin, 360x640, since painting
// at the other orientation squashes every stroke by the square of the
// aspect ratio and stretches it back. One log line says so.
func (e *Engine) oriented(size Size, w, h int) Size {
	turned := orientedSize(size, w, h)
	if turned == size {
		return size
	}
	e.log.Info(fmt.Sprintf("processing size %dx%d: the %dx%d asked for, turned to the picture's orientation (%dx%d)", turned.Width, turned.Height, size.Width, size.Height, w, h))
	return turned
}

// orientedSize is oriented without its line.
func orientedSize(size Size, w, h int) Size {
	if size.Width == 0 || size.Height == 0 || size.Width == size.Height || w == h || (size.Width > size.Height) == (w > h) {
		return size
	}
	return Size{Width: size.Height, Height: size.Width}
}

// ParseSize reads "WxH", e.g. 640x360.
func ParseSize(s string) (Size, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil {
		return Size{}, usagef("-size %q: want WIDTHxHEIGHT, e.g. 640x360", s)
	}
	if w < stylize.MinSize || h < stylize.MinSize || w > 16384 || h > 16384 {
		return Size{}, usagef("-size %s: each side must be %d to 16384", s, stylize.MinSize)
	}
	return Size{Width: w, Height: h}, nil
}

func (s Size) check() error {
	switch {
	case s.Width != 0 || s.Height != 0:
		if s.Scale != 0 {
			return usagef("give -size or -scale, not both")
		}
		if s.Width < stylize.MinSize || s.Height < stylize.MinSize || s.Width > 16384 || s.Height > 16384 {
			return usagef("-size %dx%d: each side must be %d to 16384", s.Width, s.Height, stylize.MinSize)
		}
	case s.Scale != 0 && !(s.Scale > 0 && s.Scale <= 8):
		return usagef("-scale %v: must be above 0 and at most 8", s.Scale)
	}
	return nil
}

// For is the processing size of fw×fh frames.
func (s Size) For(fw, fh int) (int, int, error) {
	if err := s.check(); err != nil {
		return 0, 0, err
	}
	switch {
	case s.Width > 0:
		return s.Width, s.Height, nil
	case s.Scale > 0:
		w := int(float64(fw)*s.Scale + 0.5)
		h := int(float64(fh)*s.Scale + 0.5)
		if w < stylize.MinSize || h < stylize.MinSize {
			return 0, 0, usagef("-scale %v makes %dx%d frames, below the %dx%d minimum", s.Scale, w, h, stylize.MinSize, stylize.MinSize)
		}
		return w, h, nil
	}
	return fw, fh, nil
}
