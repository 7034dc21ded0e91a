package stylize

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
)

// StyleSet is the styles a job can switch between while it runs, and the
// pipeline.Swap its frames go through. With preload every style's session
// is built up front and a switch is instant; otherwise a switch builds the
// new session first, off the frame path, and the style it replaces is
// closed after its frames in flight.
//
// Building a session holds no lock that painting needs: Current, Names and
// the Swap answer at once while a switch is being built.
type StyleSet struct {
	rt      *Runtime
	cfg     Config
	models  []Model
	preload bool
	loaded  []*Stylizer // with preload: one per model; else nil
	swap    *pipeline.Swap[*gocv.Mat]
	first   *Stylizer
	active  *Stylizer // the one frames are prepared with; guarded by mu

	switching sync.Mutex  // serializes switches while they build, and Close
	closed    atomic.Bool // set under switching; read without it (Closed must not wait out a switch's build)
	mu        sync.Mutex  // guards current
	current   int

	precisions []string // the models' ("fp32", "int8"), read once
}

// NewStyleSet opens the first of models (all of them with preload) for
// frames of cfg's size. It needs at least one model.
func NewStyleSet(rt *Runtime, models []Model, cfg Config, preload bool) (*StyleSet, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("%w: no styles to switch between", ErrModel)
	}
	if cfg.Controls == nil {
		cfg.Controls = &Controls{}
	}
	s := &StyleSet{rt: rt, cfg: cfg, models: models, preload: preload}
	for _, m := range models {
		s.precisions = append(s.precisions, modelPrecision(m))
	}
	if s.cfg.Log == nil {
		s.cfg.Log = slog.New(slog.DiscardHandler)
	}
	if preload {
		for _, m := range models {
			st, err := New(rt, m, cfg)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.loaded = append(s.loaded, st)
		}
		s.first, s.active = s.loaded[0], s.loaded[0]
		s.swap = pipeline.NewSwap[*gocv.Mat](s.first, models[0].Name, nil)
		return s, nil
	}
	first, err := New(rt, models[0], cfg)
	if err != nil {
		return nil, err
	}
	s.first, s.active = first, first
	s.swap = pipeline.NewSwap[*gocv.Mat](first, models[0].Name, func() { first.Close() })
	return s, nil
}

// Controls are the settings every style of the set takes while frames
// flow (colour preservation).
func (s *StyleSet) Controls() *Controls { return s.cfg.Controls }

// Swap is the stylizer the pipeline runs frames through.
func (s *StyleSet) Swap() *pipeline.Swap[*gocv.Mat] { return s.swap }

// First is the session of the first style, which tells the processing
// size and the device every style runs at.
func (s *StyleSet) First() *Stylizer { return s.first }

// Len is the number of styles.
func (s *StyleSet) Len() int { return len(s.models) }

// Names lists the styles in order.
func (s *StyleSet) Names() []string {
	names := make([]string, len(s.models))
	for i, m := range s.models {
		names[i] = m.Name
	}
	return names
}

// Precisions lists the styles' precisions in order: "fp32", or "int8"
// for a quantized model.
func (s *StyleSet) Precisions() []string { return append([]string(nil), s.precisions...) }

// Label is how a style is shown to a person: its name, and its precision
// after it when that is not fp32 ("udnie.int8 (int8)").
func (s *StyleSet) Label(name string) string {
	for i, m := range s.models {
		if m.Name == name && s.precisions[i] != "fp32" {
			return name + " (" + s.precisions[i] + ")"
		}
	}
	return name
}

// modelPrecision reads a model's precision from its graph; one that cannot
// be read (it would not have loaded) counts as fp32.
func modelPrecision(m Model) string {
	g, err := models.ParseGraph(m.ONNX)
	if err != nil {
		return "fp32"
	}
	return g.Precision()
}

// Current is the index of the style new frames are painted with.
func (s *StyleSet) Current() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Switch makes style i the one new frames are painted with. It returns
// once the switch is made; a style that fails to load is refused and the
// current one keeps running.
func (s *StyleSet) Switch(i int) error {
	if i < 0 || i >= len(s.models) {
		return fmt.Errorf("no style %d (there are %d)", i+1, len(s.models))
	}
	s.switching.Lock()
	defer s.switching.Unlock()
	return s.switchLocked(i)
}

// ResetTemporal makes the active style's next frame start afresh (a seek
// or a loop of the source): nothing is carried across. A style switched to
// starts afresh by itself.
func (s *StyleSet) ResetTemporal() {
	s.mu.Lock()
	st := s.active
	s.mu.Unlock()
	st.ResetTemporal()
}

// Next and Prev switch to the style after or before the current one,
// wrapping around.
func (s *StyleSet) Next() error { return s.step(1) }

// Prev: see Next.
func (s *StyleSet) Prev() error { return s.step(-1) }

func (s *StyleSet) step(by int) error {
	s.switching.Lock()
	defer s.switching.Unlock()
	n := len(s.models)
	return s.switchLocked(((s.Current()+by)%n + n) % n)
}

// switchLocked switches with s.switching held.
func (s *StyleSet) switchLocked(i int) error {
	if s.closed.Load() {
		return fmt.Errorf("switch to %s refused: %w: the styles", s.models[i].Name, ErrClosed)
	}
	if i == s.Current() {
		return nil
	}
	m := s.models[i]
	var st *Stylizer
	if s.preload {
		// Its frames from before are another time: start afresh.
		st = s.loaded[i]
		st.ResetTemporal()
		s.swap.Set(st, m.Name, nil)
	} else {
		cfg := s.cfg
		cfg.Log = slog.New(slog.DiscardHandler) // the device line was said once
		var err error
		if st, err = New(s.rt, m, cfg); err != nil {
			return fmt.Errorf("switch to %s refused: %w", m.Name, err)
		}
		s.swap.Set(st, m.Name, func() { st.Close() })
	}
	s.mu.Lock()
	s.current, s.active = i, st
	s.mu.Unlock()
	s.cfg.Log.Info("style " + s.Label(m.Name))
	return nil
}

// Closed reports whether Close has freed the sessions. It does not wait
// for a switch being built.
func (s *StyleSet) Closed() bool {
	return s.closed.Load()
}

// Close frees every session. Call it after the frames have stopped. A
// switch being built when Close is called is finished first; switches
// asked for after it are refused, so a switch started from another
// goroutine never outlives the set. Close is idempotent.
func (s *StyleSet) Close() {
	s.switching.Lock()
	defer s.switching.Unlock()
	if s.closed.Load() {
		return
	}
	if s.swap != nil {
		s.swap.Close()
	}
	for _, st := range s.loaded {
		st.Close()
	}
	s.closed.Store(true) // once every session is freed (Engine.Close asks)
}
