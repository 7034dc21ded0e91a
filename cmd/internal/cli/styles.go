package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stylize"
)

// modelSpecs splits -model into the styles to switch between: a comma
// list, or a folder of .onnx files.
func modelSpecs(spec string) ([]string, error) {
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
		return nil, errors.New("-model is empty")
	}
	return specs, nil
}

// loadModels resolves each spec to ONNX bytes and its convention, pulling
// catalog models on first use.
func loadModels(specs []string, store models.Store, mirror string, c *console, log *slog.Logger, rt func() (*stylize.Runtime, error)) ([]stylize.Model, error) {
	var out []stylize.Model
	for _, spec := range specs {
		m, err := store.Resolve(spec)
		if err != nil {
			return nil, err
		}
		if m.Catalog != nil { // first use of a catalog model: pull it
			r, err := rt()
			if err != nil {
				return nil, err
			}
			log.Info(fmt.Sprintf("%s is not downloaded yet: pulling it into %s", m.Name, store.Dir))
			e := &env{c: c, log: log, store: store, mirror: mirror, rt: r, client: &http.Client{Timeout: 10 * time.Minute}}
			if _, err := e.pull(context.Background(), m.Catalog.WithMirror(mirror)); err != nil {
				return nil, err
			}
			if m, err = store.Resolve(m.Name); err != nil {
				return nil, err
			}
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

// styleSet is the styles a job can switch between while it runs, and the
// Swap the pipeline runs through. With preload every style's session is
// built up front and a switch is instant; otherwise a switch builds the
// new session first (off the pipeline's path) and the old one is closed
// after its frames in flight.
type styleSet struct {
	rt      *stylize.Runtime
	cfg     stylize.Config
	models  []stylize.Model
	preload bool
	loaded  []*stylize.Stylizer // with preload: all; else nil
	swap    *pipeline.Swap[*gocv.Mat]
	first   *stylize.Stylizer

	mu      sync.Mutex // serializes switches
	current int
}

func newStyleSet(rt *stylize.Runtime, ms []stylize.Model, cfg stylize.Config, preload bool) (*styleSet, error) {
	s := &styleSet{rt: rt, cfg: cfg, models: ms, preload: preload}
	if preload {
		for _, m := range ms {
			st, err := stylize.New(rt, m, cfg)
			if err != nil {
				s.close()
				return nil, err
			}
			s.loaded = append(s.loaded, st)
		}
		s.first = s.loaded[0]
		s.swap = pipeline.NewSwap[*gocv.Mat](s.first, ms[0].Name, nil)
		return s, nil
	}
	first, err := stylize.New(rt, ms[0], cfg)
	if err != nil {
		return nil, err
	}
	s.first = first
	s.swap = pipeline.NewSwap[*gocv.Mat](first, ms[0].Name, func() { first.Close() })
	return s, nil
}

// Names lists the styles in order.
func (s *styleSet) Names() []string {
	names := make([]string, len(s.models))
	for i, m := range s.models {
		names[i] = m.Name
	}
	return names
}

// Switch makes style i the one new frames are painted with. It returns
// once the switch is made; a style that fails to load is refused and the
// current one keeps running.
func (s *styleSet) Switch(i int) error {
	if i < 0 || i >= len(s.models) {
		return fmt.Errorf("no style %d (there are %d)", i+1, len(s.models))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i == s.current {
		return nil
	}
	m := s.models[i]
	if s.preload {
		s.swap.Set(s.loaded[i], m.Name, nil)
	} else {
		cfg := s.cfg
		cfg.Log = slog.New(slog.DiscardHandler) // the device line was said once
		st, err := stylize.New(s.rt, m, cfg)
		if err != nil {
			return fmt.Errorf("switch to %s refused: %w", m.Name, err)
		}
		s.swap.Set(st, m.Name, func() { st.Close() })
	}
	s.current = i
	s.cfg.Log.Info("style " + m.Name)
	return nil
}

// Next switches to the style after the current one, wrapping around.
func (s *styleSet) Next() error {
	s.mu.Lock()
	i := (s.current + 1) % len(s.models)
	s.mu.Unlock()
	return s.Switch(i)
}

// close frees every session. Call it after the pipeline has stopped.
func (s *styleSet) close() {
	if s.swap != nil {
		s.swap.Close()
	}
	for _, st := range s.loaded {
		st.Close()
	}
}
