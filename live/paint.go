package live

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// Views that CycleView goes through.
const (
	viewStyled = iota
	viewOriginal
	viewSplit
)

// painter is the paint loop's own state.
type painter struct {
	styled   gocv.Mat
	orig     *pipeline.Ref[*gocv.Mat] // the source frame of styled
	last     *pipeline.Ref[*gocv.Mat] // the last rendered view (snapshots)
	captured time.Time
	pts      time.Duration // styled's presentation time on the source's clock
	view     int
	strength float64
	hud      bool
	help     bool
	paused   bool
	modelDur time.Duration
	epoch    int64 // the source epoch of the last frame painted
	quit     context.CancelFunc

	// Style switches: the style asked for last, whether a build runs, and
	// the requests waiting for each style.
	target   int
	building bool
	pending  map[int][]chan<- reply
}

func (p *painter) takePending(i int) []chan<- reply {
	w := p.pending[i]
	delete(p.pending, i)
	return w
}

// failPending answers every waiting request with err.
func (p *painter) failPending(err error) {
	for i, w := range p.pending {
		for _, res := range w {
			res <- reply{err: err}
		}
		delete(p.pending, i)
	}
}

func (p *painter) close() {
	if p.orig != nil {
		p.orig.Release()
	}
	if p.last != nil {
		p.last.Release()
	}
	p.styled.Close()
}

// paint runs the model on f; f's frame is kept for the original and split
// views and for blending.
func (e *Engine) paint(f pipeline.Frame[*gocv.Mat]) error {
	p := &e.p
	sw := e.styles.Swap()
	if f.Epoch != p.epoch { // the source looped or reconnected
		e.styles.ResetTemporal()
		p.epoch = f.Epoch
	}
	t0 := time.Now()
	err := sw.Prepare(0, f.Image.V)
	if err == nil {
		err = sw.Infer(0)
		if err2 := sw.Finish(0, &p.styled); err == nil {
			err = err2
		}
	}
	if err != nil {
		f.Image.Release()
		return err
	}
	d := time.Since(t0)
	if p.modelDur == 0 {
		p.modelDur = d
	}
	p.modelDur = (p.modelDur*7 + d) / 8
	e.stats.model.Store(int64(p.modelDur))
	if p.orig != nil {
		p.orig.Release()
	}
	p.orig, p.captured, p.pts = f.Image, f.Captured, f.PTS
	return nil
}

// repaint paints the frame on show again when no new one is coming (the
// engine is paused or the input has ended), so that a style switched to or
// a colour change shows at once; it reports whether it rendered. The
// stabiliser starts afresh: the frame is not a step in time, and blending
// it with its own painting in the other style would show both.
func (e *Engine) repaint() bool {
	p := &e.p
	if p.orig == nil || !(p.paused || e.inputEnd.Load()) {
		return false
	}
	e.styles.ResetTemporal()
	p.orig.Retain() // paint takes a reference and drops the old one: the same
	f := pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Captured: time.Now(), PTS: p.pts, Epoch: p.epoch}, Image: p.orig}
	if err := e.paint(f); err != nil {
		e.log.Warn("the picture on show could not be painted again: " + firstLine(err))
		return false
	}
	e.render()
	return true
}

// render composes the view and hands it to the outputs: the web stream
// gets it as it is, the window with the HUD drawn on.
func (e *Engine) render() {
	p := &e.p
	if p.orig == nil {
		return
	}
	view := e.compose()
	tm := pipeline.Timing{Captured: p.captured, PTS: p.pts}
	shown := view
	if e.cfg.Window && (e.web != nil || e.pub != nil) { // the HUD goes on a copy
		shown = e.views.Get()
		view.V.CopyTo(shown.V)
	}
	if e.web != nil {
		view.Retain()
		e.web.Send(pipeline.Frame[*gocv.Mat]{Timing: tm, Image: view})
	}
	if e.pub != nil {
		view.Retain()
		e.pub.Send(pipeline.Frame[*gocv.Mat]{Timing: tm, Image: view})
	}
	if shown != view {
		view.Release()
	}
	if e.cfg.Window {
		e.drawHUD(shown.V)
	}
	if p.last != nil {
		p.last.Release()
	}
	shown.Retain()
	p.last = shown
	if e.cfg.Window {
		e.shown.Put(pipeline.Frame[*gocv.Mat]{Timing: tm, Image: shown})
	} else {
		e.onShown(pipeline.Frame[*gocv.Mat]{Timing: tm}) // no window: the rendered frame counts as shown
		shown.Release()
	}
	e.publish()
}

// compose makes the view: stylized (blended with the source below full
// strength), original, or the two side by side.
func (e *Engine) compose() *pipeline.Ref[*gocv.Mat] {
	p := &e.p
	orig := *p.orig.V
	ref := e.views.Get()
	out := ref.V
	switch {
	case p.view == viewOriginal:
		orig.CopyTo(out)
	case p.strength >= 1:
		p.styled.CopyTo(out)
	default:
		gocv.AddWeighted(orig, 1-p.strength, p.styled, p.strength, 0, out)
	}
	if p.view == viewSplit {
		half := image.Rect(0, 0, orig.Cols()/2, orig.Rows())
		left := orig.Region(half)
		dst := out.Region(half)
		left.CopyTo(&dst)
		left.Close()
		dst.Close()
		gocv.Line(out, image.Pt(half.Max.X, 0), image.Pt(half.Max.X, orig.Rows()), color.RGBA{255, 255, 255, 0}, 1)
	}
	return ref
}

// drawHUD writes the style, rates, latency and drops in the top-left
// corner, and the key help when asked.
func (e *Engine) drawHUD(out *gocv.Mat) {
	p := &e.p
	rate, latency := e.stats.rates()
	var lines []string
	if p.hud {
		modelFPS := 0.0
		if p.modelDur > 0 {
			modelFPS = 1 / p.modelDur.Seconds()
		}
		view := [...]string{"", " (original)", " (split)"}[p.view]
		lines = append(lines,
			fmt.Sprintf("%s%s  strength %.0f%%", e.styles.Label(e.styles.Swap().Active()), view, p.strength*100),
			fmt.Sprintf("shown %.1f fps  model %.1f fps", rate, modelFPS),
			fmt.Sprintf("latency %d ms  dropped %d", latency.Milliseconds(), e.frames.Dropped()))
	}
	if p.paused {
		lines = append(lines, "paused")
	}
	if notice := e.currentNotice(); notice != "" {
		lines = append(lines, notice)
	}
	if p.help {
		lines = append(lines, e.cfg.HelpLines...)
	}
	if len(lines) == 0 {
		return
	}
	const lh = 16
	width := 0
	for _, l := range lines {
		sz := gocv.GetTextSize(l, gocv.FontHersheySimplex, 0.45, 1)
		width = max(width, sz.X)
	}
	box := image.Rect(4, 4, min(out.Cols()-1, 14+width), min(out.Rows()-1, 10+lh*len(lines)))
	gocv.Rectangle(out, box, color.RGBA{0, 0, 0, 0}, -1)
	for i, l := range lines {
		gocv.PutText(out, l, image.Pt(9, 4+lh*(i+1)), gocv.FontHersheySimplex, 0.45, color.RGBA{255, 255, 255, 0}, 1)
	}
}

// snapshot saves the view last rendered, exactly as the window shows it.
func (e *Engine) snapshot() error {
	if e.p.last == nil {
		return fmt.Errorf("snapshot: nothing shown yet")
	}
	png, err := gocv.IMEncode(gocv.PNGFileExt, *e.p.last.V)
	if err != nil {
		err = fmt.Errorf("snapshot: %w", err)
		e.log.Error(err.Error())
		return err
	}
	defer png.Close()
	name, err := newFile(filepath.Join(e.cfg.Snapshots, "vidstyle-"+time.Now().Format("20060102-150405.000")), ".png", png.GetBytes())
	if err != nil {
		err = fmt.Errorf("snapshot: %w", err)
		e.log.Error(err.Error())
		return err
	}
	abs, _ := filepath.Abs(name)
	e.log.Info("snapshot saved to " + abs)
	return nil
}

// stats are the live numbers, written by the window's thread (or the
// paint loop without a window) and read by everyone.
type stats struct {
	model atomic.Int64 // the model's time per frame, smoothed, in ns

	mu        sync.Mutex
	latency   time.Duration
	shown     int64
	rate      float64
	rateFrom  time.Time
	rateCount int64
	lastShown time.Time
}

// rates are the shown rate and the latency now. The rate is measured over
// windows of a second closed by a shown frame; when no frame has come for
// more than a second and for half as long again as the rate's own interval
// (paused, the input ended or stalled, a camera lost), it is at most one
// frame over the time since the last, so that a still picture falls to
// zero instead of reporting the rate it last moved at, while a slow model
// (a frame every few seconds) keeps its own rate between frames.
func (s *stats) rates() (float64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateAt(time.Now()), s.latency
}

// rateAt is rates' rate at now; s.mu is held.
func (s *stats) rateAt(now time.Time) float64 {
	since := now.Sub(s.lastShown).Seconds()
	if s.lastShown.IsZero() || since <= 1 || since*s.rate <= 1.5 {
		return s.rate
	}
	return min(s.rate, 1/since)
}

// onShown runs after a frame is on screen.
func (e *Engine) onShown(f pipeline.Frame[*gocv.Mat]) {
	s := &e.stats
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !f.Captured.IsZero() {
		d := now.Sub(f.Captured)
		if s.latency == 0 {
			s.latency = d
		}
		s.latency = (s.latency*7 + d) / 8
	}
	s.shown++
	s.lastShown = now
	if s.shown == 1 {
		if e.cfg.Window {
			e.log.Info("preview window open")
		} else {
			e.log.Debug("first frame painted")
		}
	}
	s.rateCount++
	if s.rateFrom.IsZero() {
		s.rateFrom = now
	}
	if el := now.Sub(s.rateFrom); el >= time.Second {
		s.rate = float64(s.rateCount) / el.Seconds()
		s.rateFrom, s.rateCount = now, 0
	}
}

// report logs dropped frames at most once a second, and the live numbers
// every StatsPeriod.
func (e *Engine) report(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastDropped int64
	lastStats := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d := e.frames.Dropped(); d > lastDropped {
			e.log.Debug(fmt.Sprintf("dropped %d frames in the last second: the model is slower than the source", d-lastDropped))
			lastDropped = d
		}
		if time.Since(lastStats) >= e.cfg.StatsPeriod {
			lastStats = time.Now()
			s := &e.stats
			s.mu.Lock()
			rate, lat, n := s.rateAt(time.Now()), s.latency, s.shown
			s.mu.Unlock()
			model := time.Duration(s.model.Load())
			e.log.Info(fmt.Sprintf("live: shown %d frames, %.1f fps, latency %d ms, model %d ms/frame, dropped %d", n, rate, lat.Milliseconds(), model.Milliseconds(), e.frames.Dropped()))
		}
	}
}

// Shown is the count of frames shown so far (rendered, without a window).
func (e *Engine) Shown() int64 {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return e.stats.shown
}

// newFile writes data to a file of a new name, stem+ext or, where that is
// taken (two snapshots in one millisecond, a clock set back), stem-2+ext
// and on: a snapshot never writes over another file.
func newFile(stem, ext string, data []byte) (string, error) {
	for i := 1; i <= 100; i++ {
		name := stem + ext
		if i > 1 {
			name = fmt.Sprintf("%s-%d%s", stem, i, ext)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(name)
			return "", err
		}
		if err := f.Close(); err != nil {
			os.Remove(name)
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("%s%s and 99 more names are taken", stem, ext)
}
