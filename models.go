package vidstyle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// ModelSpecs splits a -model value into the styles to switch between: a
// comma-separated list, or a folder of .onnx files (in name order).
func ModelSpecs(spec string) ([]string, error) {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		files, err := filepath.Glob(filepath.Join(spec, "*.onnx"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("-model %s: the folder holds no .onnx files", spec)
		}
		slices.Sort(files)
		return files, nil
	}
	var specs []string
	for _, s := range strings.Split(spec, ",") {
		if s = strings.TrimSpace(s); s != "" {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return nil, usagef("-model is empty: give a style (vidstyle models list shows them)")
	}
	return specs, nil
}

// Models resolves a -model value to the styles it names, each with its
// ONNX bytes and convention: a file, a name in the models folder, a
// built-in style or a catalog name, which is pulled on first use.
func (e *Engine) Models(ctx context.Context, spec string) ([]stylize.Model, error) {
	specs, err := ModelSpecs(spec)
	if err != nil {
		return nil, err
	}
	var out []stylize.Model
	for _, spec := range specs {
		m, err := e.resolve(spec)
		if err != nil {
			return nil, err
		}
		if m.Catalog != nil { // first use of a catalog model: pull it
			e.log.Info(fmt.Sprintf("%s is not downloaded yet: pulling it into %s", m.Name, e.store.Dir))
			if _, err := e.Pull(ctx, *m.Catalog); err != nil {
				return nil, err
			}
			if m, err = e.resolve(m.Name); err != nil {
				return nil, err
			}
		}
		if m, err = e.pickPrecision(m); err != nil {
			return nil, err
		}
		graph, err := m.ONNX()
		if err != nil {
			return nil, err
		}
		g, err := models.ParseGraph(graph)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Name, err)
		}
		conv, err := models.ResolveConvention(g, m.Sidecar())
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Name, err)
		}
		out = append(out, stylize.Model{Name: m.Name, ONNX: graph, Convention: conv})
	}
	return out, nil
}

// resolve is models.Store.Resolve with the engine's catalog.
func (e *Engine) resolve(spec string) (models.Model, error) {
	return e.store.ResolveIn(spec, e.catalog())
}

// catalog is the download catalog: Config.Catalog, else the built-in one.
func (e *Engine) catalog() []models.CatalogEntry {
	if e.cfg.Catalog != nil {
		return e.cfg.Catalog
	}
	return models.Catalog()
}

// StoredModels lists the models folder's models that -model takes by
// name. A file named like a built-in style is left out, with a warning
// (once per call): the built-in style always wins.
func (e *Engine) StoredModels() ([]string, error) {
	names, err := e.store.Names()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if models.Shadowing(n) {
			e.log.Warn(fmt.Sprintf("%s is ignored: %s is a built-in style, which -model %s always means (rename the file to use it)", e.store.Path(n), n, n))
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// mirrored is a catalog entry as Config.CatalogMirror has it fetched: from
// the mirror, where one is set and entry is the catalog's own (a URL the
// caller gave is fetched from there).
func (e *Engine) mirrored(entry models.CatalogEntry) models.CatalogEntry {
	if c, ok := models.LookupCatalog(entry.Name); ok && e.cfg.CatalogMirror != "" && c.URL == entry.URL && c.File == entry.File {
		return c.WithMirror(e.cfg.CatalogMirror) // the catalog's size and hash, whatever entry says
	}
	return entry
}

// Pull downloads a model, makes it run at any frame size, and stores it in
// the models folder; it returns the stored file. A model already stored
// from the same bytes (by sha256) is left alone. The name is checked
// before anything is downloaded, and the download goes to a temporary file
// in the folder, never whole into memory (see models.Fetch). A catalog
// entry is fetched from Config.CatalogMirror when one is set.
func (e *Engine) Pull(ctx context.Context, entry models.CatalogEntry) (string, error) {
	entry = e.mirrored(entry)
	if err := e.store.CheckNew(entry.Name); err != nil {
		return "", err
	}
	if entry.SHA256 != "" && e.store.Has(entry.Name) {
		if src, err := e.store.StoredSource(entry.Name); err == nil && strings.EqualFold(src.SHA256, entry.SHA256) {
			e.log.Info(fmt.Sprintf("%s is already in the models folder: %s", entry.Name, e.store.Path(entry.Name)))
			return e.store.Path(entry.Name), nil
		}
	}
	if err := os.MkdirAll(e.store.Dir, 0o755); err != nil {
		return "", fmt.Errorf("models folder: %w", err)
	}
	e.log.Info(fmt.Sprintf("downloading %s from %s", entry.Name, entry.URL))
	start := time.Now()
	d := models.Download{URL: entry.URL, Size: entry.Size, SHA256: entry.SHA256}
	if fn := e.cfg.OnDownload; fn != nil {
		d.Progress = func(done, total int64) {
			fn(DownloadProgress{Name: entry.Name, Done: done, Total: total, Started: start})
		}
	}
	f, err := models.Fetch(ctx, e.cfg.HTTPClient, d, e.store.Dir)
	if fn := e.cfg.OnDownload; fn != nil { // the end, also of a download whose size was unknown
		fn(DownloadProgress{Name: entry.Name, Done: f.Size, Total: f.Size, Started: start})
	}
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Path)
	data, err := models.ReadFile(f.Path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", models.ErrDownload, entry.URL, err)
	}
	if entry.SHA256 == "" {
		e.log.Warn(fmt.Sprintf("no sha256 to check %s against; it is %s (pass -sha256 %s to check it next time)", entry.URL, f.SHA256, f.SHA256))
	}
	return e.put(ctx, entry.Name, data, models.Source{URL: entry.URL, SHA256: f.SHA256}, "")
}

// Import checks a local ONNX file (and its NAME.json sidecar, if any) and
// stores it in the models folder under name (default: the file's base
// name); it returns the stored file. A sidecar stored with an earlier
// model of that name is replaced or removed.
func (e *Engine) Import(path, name string) (string, error) {
	return e.ImportContext(context.Background(), path, name)
}

// ImportContext is Import that ctx can stop: once it is done, nothing is
// stored (a check already running in ONNX Runtime ends first).
func (e *Engine) ImportContext(ctx context.Context, path, name string) (string, error) {
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if err := e.store.CheckNew(name); err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	data, err := models.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("import: %s: %w", path, err)
	}
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256(data)
	return e.put(ctx, name, data, models.Source{URL: "file://" + abs, SHA256: hex.EncodeToString(sum[:])}, models.SidecarPath(path))
}

// put checks a model (with the sidecar file beside its source, if
// sidecar names one that exists), makes it size-free when it can, and
// stores both, unless ctx is done by then.
func (e *Engine) put(ctx context.Context, name string, data []byte, src models.Source, sidecar string) (string, error) {
	g, err := models.ParseGraph(data)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", name, err)
	}
	if _, _, err := g.CheckImage(); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var side []byte
	if sidecar != "" {
		side, err = models.ReadSidecar(sidecar)
		switch {
		case errors.Is(err, os.ErrNotExist):
			side, sidecar = nil, ""
		case err != nil:
			return "", fmt.Errorf("sidecar %s: %w", sidecar, err)
		}
	}
	conv, err := models.ResolveConvention(g, sidecar)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	rt, release, err := e.useRuntime()
	if err != nil {
		return "", err
	}
	defer release() // Close refuses until this call returns
	prepared, err := e.anySize(ctx, rt, name, data, conv)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: stopped, nothing stored: %w", name, err)
	}
	path, err := e.store.PutWithSidecar(name, models.WithSource(prepared, src), side)
	if err != nil {
		return "", err
	}
	e.log.Info(fmt.Sprintf("stored %s in %s (%.1f MB): use it with -model %s", name, path, float64(len(prepared))/1e6, name))
	return path, nil
}

// declaresSize reports whether a model's input declares a fixed height
// or width.
func declaresSize(data []byte) bool {
	g, err := models.ParseGraph(data)
	if err != nil {
		return false
	}
	h, w, err := g.CheckImage()
	return err == nil && (h > 0 || w > 0)
}

// anySize returns a version of the model that runs at any frame size, shown
// by running it at two sizes. A graph that really depends on its declared
// size is kept as it is, with a warning: frames will be resized to it.
func (e *Engine) anySize(ctx context.Context, rt *stylize.Runtime, name string, data []byte, conv models.Convention) ([]byte, error) {
	free, changed, err := models.FreeSize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	runs := func(graph []byte) error {
		var scales [][2]float64
		var outs []string
		for _, sz := range [][2]int{{96, 64}, {72, 120}} {
			sx, sy, err := e.runOnce(ctx, rt, stylize.Model{Name: name, ONNX: graph, Convention: conv}, sz[0], sz[1])
			if err != nil {
				return err
			}
			scales = append(scales, [2]float64{sx, sy})
			outs = append(outs, fmt.Sprintf("%.3g×%.3g its input at %dx%d", sx, sy, sz[0], sz[1]))
		}
		// A model that paints another size is scaled back, but one
		// scale, not one size whatever the input's.
		for k := range 2 {
			if a, b := scales[0][k], scales[1][k]; math.Abs(a-b) > 0.05*max(a, b) {
				return fmt.Errorf("model %s: its output is %s: %w", name, strings.Join(outs, " and "), errNotOneScale)
			}
		}
		return nil
	}
	err = runs(free)
	switch {
	case err == nil:
		if changed {
			e.log.Info(fmt.Sprintf("%s declared a fixed input size; rewritten to take any size (checked at 96x64 and 72x120)", name))
		}
		return free, nil
	case errors.Is(err, errNotOneScale) && !declaresSize(data):
		// It takes any size as it says, and paints one of its own (a
		// rewrite of its shapes, if any, changed nothing of that).
		free = data
		fallthrough
	case !changed && errors.Is(err, errNotOneScale):
		// It takes any size as it says, and paints one of its own.
		e.log.Warn(fmt.Sprintf("%s paints one size whatever its input's (%s): its output is scaled to the frame", name, firstLine(err)))
		return free, nil
	case !changed:
		return nil, err
	}
	e.log.Warn(fmt.Sprintf("%s depends on its declared size (%s): keeping it; frames will be resized to that size", name, firstLine(err)))
	if _, _, err := e.runOnce(ctx, rt, stylize.Model{Name: name, ONNX: data, Convention: conv}, 96, 64); err != nil {
		return nil, err
	}
	return data, nil
}

// DefaultCheckTime bounds each run of a model's check when it is stored
// (Config.CheckTime): a Johnson net paints the check's 96x64 picture in
// about 0.01 s on two cores, and a crafted graph of a few kilobytes kept
// the check busy for minutes.
const DefaultCheckTime = 20 * time.Second

// runOnce runs a model on one w×h picture (a gradient) and checks the
// result's numbers and size; sx, sy are how many times its input the
// model's output was (before it is scaled to w×h). The run is stopped after the engine's
// check time, or when ctx is done.
func (e *Engine) runOnce(ctx context.Context, rt *stylize.Runtime, m stylize.Model, w, h int) (sx, sy float64, err error) {
	limit := e.cfg.CheckTime
	if limit <= 0 {
		limit = DefaultCheckTime
	}
	s, err := stylize.New(rt, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceCPU})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	// A picture, not one colour: Finish judges the output's numbers only
	// on an input with something in it.
	in := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer in.Close()
	if px, err := in.DataPtrUint8(); err == nil {
		for y := range h {
			for x := range w {
				i := 3 * (y*w + x)
				px[i], px[i+1], px[i+2] = byte(60+100*x/w), byte(80+120*y/h), byte(200-60*(x+y)/(w+h))
			}
		}
	}
	out := gocv.NewMat()
	defer out.Close()
	if err := s.Prepare(0, &in); err != nil {
		return 0, 0, err
	}
	tctx, cancel := context.WithTimeoutCause(ctx, limit, errCheckTime)
	defer cancel()
	if err := s.InferContext(tctx, 0); err != nil {
		if errors.Is(err, errCheckTime) {
			return 0, 0, fmt.Errorf("model %s: one %dx%d picture took more than %v (a Johnson net takes about 0.01 s): not a style vidstyle can run", m.Name, w, h, limit)
		}
		return 0, 0, err
	}
	if err := s.Finish(0, &out); err != nil {
		return 0, 0, err
	}
	if out.Cols() != w || out.Rows() != h {
		return 0, 0, fmt.Errorf("model %s: %dx%d in, %dx%d out", m.Name, w, h, out.Cols(), out.Rows())
	}
	sx, sy = s.OutputScale()
	return sx, sy, nil
}

// errNotOneScale is a model whose output is not one scale of its input
// at the check's two sizes.
var errNotOneScale = errors.New("not one scale of its input")

// errCheckTime is the cause of a check run stopped by its time bound.
var errCheckTime = errors.New("the check's time ran out")

// StyleConfig says which styles to open, for frames of which size.
type StyleConfig struct {
	// Model is a -model value: one style or several (a,b,c or a folder).
	Model string
	// FrameWidth and FrameHeight are the frames' size; Size the processing
	// size (zero: the frame size).
	FrameWidth, FrameHeight int
	Size                    Size
	// Preload opens every style at once so that switching is instant.
	Preload bool
	// Temporal is the temporal stabilisation's blend (0: off).
	Temporal float64
	// KeepColors starts with colour preservation on (the set's Controls
	// turn it on and off while frames flow).
	KeepColors bool
}

// Styles resolves and opens the styles of cfg.Model (pulling catalog
// models on first use) for switching while frames are painted. The caller
// closes the set after its last frame; Engine.Close refuses until then.
func (e *Engine) Styles(ctx context.Context, cfg StyleConfig) (*stylize.StyleSet, error) {
	if cfg.FrameWidth < stylize.MinSize || cfg.FrameHeight < stylize.MinSize {
		return nil, fmt.Errorf("frames are %dx%d, smaller than the %dx%d minimum", cfg.FrameWidth, cfg.FrameHeight, stylize.MinSize, stylize.MinSize)
	}
	w, h, err := cfg.Size.For(cfg.FrameWidth, cfg.FrameHeight)
	if err != nil {
		return nil, err
	}
	ms, err := e.Models(ctx, cfg.Model)
	if err != nil {
		return nil, err
	}
	rt, release, err := e.useRuntime()
	if err != nil {
		return nil, err
	}
	defer release() // Close refuses until this call returns
	sc := e.sessionConfig(cfg.FrameWidth, cfg.FrameHeight, w, h)
	sc.Temporal = cfg.Temporal
	sc.Controls = &stylize.Controls{}
	sc.Controls.SetKeepColors(cfg.KeepColors)
	set, err := stylize.NewStyleSet(rt, ms, sc, cfg.Preload)
	if err != nil {
		return nil, err
	}
	e.addSet(set) // Close refuses until it is closed
	return set, nil
}

// firstLine keeps the first line of an error's text.
func firstLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
