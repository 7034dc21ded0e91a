package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stream/web"
	"github.com/vidstyle/vidstyle/stylize"
)

// Hot keys of the preview window (Qt delivers lower-case letters, digits,
// space, Enter and Esc; Shift is lost, so '=' stands in for '+').
const hotKeys = `n / p      next / previous style      1-9   pick a style
space      pause / resume             s     save a PNG snapshot
o          stylized / original / side by side
+ (=) / -  style strength             f     HUD on / off
h          this help                  q Esc quit`

// command is what a key (or, later, a web page button) asks the live view
// to do. It is independent of the window library.
type command struct {
	kind  string // next, prev, pick, pause, snapshot, view, stronger, weaker, hud, help, quit; setstrength, setpause (web)
	arg   int
	value float64
}

// keyCommand maps an OpenCV key code to a command.
func keyCommand(key int) (command, bool) {
	switch {
	case key == 'n':
		return command{kind: "next"}, true
	case key == 'p':
		return command{kind: "prev"}, true
	case key >= '1' && key <= '9':
		return command{kind: "pick", arg: key - '1'}, true
	case key == ' ':
		return command{kind: "pause"}, true
	case key == 's':
		return command{kind: "snapshot"}, true
	case key == 'o':
		return command{kind: "view"}, true
	case key == '+' || key == '=':
		return command{kind: "stronger"}, true
	case key == '-':
		return command{kind: "weaker"}, true
	case key == 'f':
		return command{kind: "hud"}, true
	case key == 'h':
		return command{kind: "help"}, true
	case key == 'q' || key == 27:
		return command{kind: "quit"}, true
	}
	return command{}, false
}

// Views that 'o' cycles through.
const (
	viewStyled = iota
	viewOriginal
	viewSplit
)

// live is a running preview: a capture goroutine fills frames (newest
// wins), the model loop paints the newest and renders the view, and the
// window goroutine shows it.
type live struct {
	o      options
	log    *slog.Logger
	src    capture.Source
	styles *styleSet
	frames *pipeline.Latest[*gocv.Mat] // captured, for the model
	shown  *pipeline.Latest[*gocv.Mat] // rendered, for the window
	in     *pipeline.Pool[*gocv.Mat]
	views  *pipeline.Pool[*gocv.Mat]
	cmds   chan command
	quit   context.CancelFunc
	// reopen opens the source again after a camera was lost.
	reopen func() (capture.Source, error)
	// web is the browser preview (-serve), or nil.
	web *web.Broadcaster
	// window is whether a preview window shows the frames.
	window bool
	// unpaced reads a file as fast as it decodes (soak tests), not at its
	// frame rate.
	unpaced bool

	// Owned by the model loop.
	styled   gocv.Mat
	orig     *pipeline.Ref[*gocv.Mat] // the source frame of styled
	last     *pipeline.Ref[*gocv.Mat] // the last rendered view
	captured time.Time
	view     int
	strength float64
	hud      bool
	help     bool
	paused   bool
	modelDur time.Duration

	// Shared with the other goroutines.
	modelNs    atomic.Int64 // modelDur, for the report
	mu         sync.Mutex
	state      web.State // for the web page, updated by the model loop
	notice     string
	latency    time.Duration
	shownCount int64
	shownRate  float64
	rateFrom   time.Time
	rateCount  int64
}

// runLive shows the stylized input in a window until q, Esc, the window is
// closed, or Ctrl-C.
func runLive(o options, c *console, log *slog.Logger) (int, error) {
	window := !o.serve || o.window
	if window {
		if err := stream.CheckDisplay(); err != nil {
			if o.serve {
				return exitError, err
			}
			return exitError, fmt.Errorf("%w (or watch it in a browser with -serve)", err)
		}
	}
	src, err := capture.Open(o.in, log)
	if err != nil {
		return exitError, err
	}
	defer src.Close()
	p := src.Props()
	if p.Kind == capture.KindImage {
		return exitUsage, fmt.Errorf("input %s is an image: give -out FILE for the stylized image", o.in)
	}
	if p.Width < stylize.MinSize || p.Height < stylize.MinSize {
		return exitError, fmt.Errorf("input %s: frames are %dx%d, smaller than the %dx%d minimum", o.in, p.Width, p.Height, stylize.MinSize, stylize.MinSize)
	}
	pw, ph, err := o.processingSize(p)
	if err != nil {
		return exitUsage, err
	}
	var rt *stylize.Runtime
	defer func() {
		if rt != nil {
			rt.Close()
		}
	}()
	styles, err := openStyles(o, p, pw, ph, c, log, func() (*stylize.Runtime, error) {
		if rt == nil {
			var err error
			rt, err = loadRuntime(o.ortLib, log)
			return rt, err
		}
		return rt, nil
	})
	if err != nil {
		return exitError, err
	}
	defer styles.close()

	newMat := func() *gocv.Mat { m := gocv.NewMat(); return &m }
	closeMat := func(m *gocv.Mat) { m.Close() }
	lv := &live{
		o: o, log: log, src: src, styles: styles,
		frames: pipeline.NewLatest[*gocv.Mat](), shown: pipeline.NewLatest[*gocv.Mat](),
		in: pipeline.NewPool(newMat, closeMat), views: pipeline.NewPool(newMat, closeMat),
		cmds: make(chan command, 16), styled: gocv.NewMat(), strength: 1, hud: true,
		reopen: func() (capture.Source, error) { return capture.Open(o.in, log) },
		window: window,
	}
	defer lv.close()
	lv.publish()
	styles.swap.OnFirstFrame(func(name string) { log.Info("showing " + name) })
	w, h := styles.first.Size()
	log.Info(fmt.Sprintf("live: %s (%dx%d) with %s at %dx%d on %s; press h in the window for keys", o.in, p.Width, p.Height, styles.models[0].Name, w, h, styles.first.Device()))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lv.quit = cancel
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var wg sync.WaitGroup
	if o.serve {
		bc, err := web.NewBroadcaster(o.bitrate, log)
		if err != nil {
			return exitError, err
		}
		srv, err := web.NewServer(web.Config{Addr: o.listen, Token: o.token, MaxViewers: o.maxViewers, Control: lv, Log: log}, bc.Track(), bc.RequestKeyframe)
		if err != nil {
			return exitError, err
		}
		url, err := srv.Listen()
		if err != nil {
			return exitError, err
		}
		lv.web = bc
		defer bc.Close()
		log.Info("web preview: " + url + "   (OBS overlay: " + overlayURL(url) + ")")
		wg.Add(2)
		go func() { defer wg.Done(); bc.Run(ctx) }()
		go func() {
			defer wg.Done()
			if err := srv.Serve(); err != nil {
				log.Error("web preview: " + err.Error())
			}
		}()
		go func() { <-ctx.Done(); srv.Close() }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); lv.capture(ctx) }()
	go func() { defer wg.Done(); lv.paint(ctx) }()
	winErr := make(chan error, 1)
	if window {
		go func() {
			winErr <- stream.RunWindow(ctx, stream.WindowConfig{
				Title: "vidstyle", Frames: lv.shown,
				OnKey: func(key int) {
					if cmd, ok := keyCommand(key); ok {
						lv.cmds <- cmd
					}
				},
				OnShown: lv.onShown,
			})
			cancel()
		}()
	} else {
		go func() { <-ctx.Done(); winErr <- nil }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); lv.report(ctx) }()
	select {
	case <-ctx.Done():
	case <-sigs:
		cancel()
	}
	err = <-winErr
	wg.Wait()
	if err != nil {
		return exitError, err
	}
	return exitOK, nil
}

func (lv *live) close() {
	lv.frames.Close()
	lv.shown.Close()
	if lv.orig != nil {
		lv.orig.Release()
	}
	if lv.last != nil {
		lv.last.Release()
	}
	lv.styled.Close()
	lv.in.Close()
	lv.views.Close()
}

func (lv *live) setNotice(s string) {
	lv.mu.Lock()
	lv.notice = s
	lv.mu.Unlock()
}

// capture reads the source: a file paced at its own frame rate (looping
// with -loop), a camera as fast as it delivers, reopened with backoff when
// it is lost.
func (lv *live) capture(ctx context.Context) {
	start := time.Now()
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		ref := lv.in.Get()
		tm, err := lv.src.Read(ref.V)
		if err != nil {
			ref.Release()
			p := lv.src.Props()
			if r, ok := lv.src.(capture.Rewinder); ok && p.Kind == capture.KindFile && lv.o.loop && errors.Is(err, io.EOF) {
				if err := r.Rewind(); err == nil {
					start = time.Now()
					continue
				}
			}
			if p.Kind != capture.KindCamera {
				lv.setNotice("end of input - q to quit")
				return
			}
			// A camera that stops delivering: keep the window, retry.
			lv.setNotice("camera lost - retrying")
			lv.log.Warn(fmt.Sprintf("%s stopped delivering frames: retrying in %v", p.Name, backoff))
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 4*time.Second)
			if src, err := lv.reopen(); err == nil {
				lv.src.Close()
				lv.src = src
				lv.setNotice("")
				lv.log.Info(p.Name + " is back")
				backoff = 250 * time.Millisecond
			}
			continue
		}
		if lv.src.Props().Kind == capture.KindFile && !lv.unpaced {
			if !sleepCtx(ctx, time.Until(start.Add(tm.PTS))) {
				ref.Release()
				return
			}
		}
		tm.Captured = time.Now()
		lv.frames.Put(pipeline.Frame[*gocv.Mat]{Timing: tm, Image: ref})
	}
}

// sleepCtx waits d or until ctx is done; it reports whether ctx is alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// paint runs the model on the newest frame, one at a time, and renders
// the view; commands are applied between frames.
func (lv *live) paint(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-lv.cmds:
			lv.apply(cmd)
		case <-lv.frames.Ready():
			f, ok := lv.frames.TryTake()
			if !ok {
				continue
			}
			if lv.paused {
				f.Image.Release()
				continue
			}
			t0 := time.Now()
			err := lv.styles.swap.Prepare(0, f.Image.V)
			if err == nil {
				err = lv.styles.swap.Infer(0)
				if err2 := lv.styles.swap.Finish(0, &lv.styled); err == nil {
					err = err2
				}
			}
			if err != nil {
				f.Image.Release()
				lv.log.Error("frame dropped: " + oneLine(err))
				continue
			}
			d := time.Since(t0)
			if lv.modelDur == 0 {
				lv.modelDur = d
			}
			lv.modelDur = (lv.modelDur*7 + d) / 8
			lv.modelNs.Store(int64(lv.modelDur))
			if lv.orig != nil {
				lv.orig.Release()
			}
			lv.orig = f.Image
			lv.captured = f.Captured
			lv.render()
		}
	}
}

// apply carries out one command.
func (lv *live) apply(cmd command) {
	n := len(lv.styles.models)
	switch cmd.kind {
	case "next", "prev", "pick":
		lv.styles.mu.Lock()
		i := lv.styles.current
		lv.styles.mu.Unlock()
		switch cmd.kind {
		case "next":
			i = (i + 1) % n
		case "prev":
			i = (i + n - 1) % n
		default:
			i = cmd.arg
		}
		if i >= n {
			lv.log.Warn(fmt.Sprintf("there is no style %d: -model lists %d", i+1, n))
			return
		}
		// Building a session can take a while: the old style keeps
		// painting until the new one is ready.
		go func() {
			if err := lv.styles.Switch(i); err != nil {
				lv.log.Warn(oneLine(err))
			}
		}()
		return
	case "pause":
		lv.paused = !lv.paused
		if lv.paused {
			lv.log.Info("paused")
		} else {
			lv.log.Info("resumed")
		}
	case "snapshot":
		lv.snapshot()
		return
	case "view":
		lv.view = (lv.view + 1) % 3
		lv.log.Info("view: " + [...]string{"stylized", "original", "side by side"}[lv.view])
	case "setstrength":
		lv.strength = max(0, min(1, cmd.value))
	case "setpause":
		if lv.paused == (cmd.value != 0) {
			return
		}
		lv.paused = cmd.value != 0
		lv.log.Info(map[bool]string{true: "paused", false: "resumed"}[lv.paused])
	case "stronger":
		lv.strength = min(1, lv.strength+0.1)
		lv.log.Info(fmt.Sprintf("strength %.0f%%", lv.strength*100))
	case "weaker":
		lv.strength = max(0, lv.strength-0.1)
		lv.log.Info(fmt.Sprintf("strength %.0f%%", lv.strength*100))
	case "hud":
		lv.hud = !lv.hud
		lv.log.Info(fmt.Sprintf("HUD %v", map[bool]string{true: "on", false: "off"}[lv.hud]))
	case "help":
		lv.help = !lv.help
		if lv.help {
			fmt.Fprintln(os.Stderr, hotKeys)
		}
	case "quit":
		lv.quit()
		return
	}
	lv.render() // show the change at once, also while paused
}

// publish copies what the web page shows; called by the model loop.
func (lv *live) publish() {
	lv.styles.mu.Lock()
	cur := lv.styles.current
	lv.styles.mu.Unlock()
	lv.mu.Lock()
	lv.state = web.State{Styles: lv.styles.Names(), Style: cur, Strength: lv.strength, Paused: lv.paused,
		FPS: lv.shownRate, LatencyMS: lv.latency.Milliseconds()}
	lv.mu.Unlock()
}

// State is web.Control's view of the preview.
func (lv *live) State() web.State {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	st := lv.state
	st.Styles = append([]string(nil), st.Styles...)
	st.Notice = lv.notice
	return st
}

// SetStyle, SetStrength and SetPaused send the same commands as the keys.
func (lv *live) SetStyle(_ context.Context, i int) (web.State, error) {
	if i < 0 || i >= len(lv.styles.models) {
		return web.State{}, fmt.Errorf("no style %d", i)
	}
	lv.cmds <- command{kind: "pick", arg: i}
	return lv.State(), nil
}

func (lv *live) SetStrength(_ context.Context, v float64) (web.State, error) {
	lv.cmds <- command{kind: "setstrength", value: v}
	return lv.State(), nil
}

func (lv *live) SetPaused(_ context.Context, p bool) (web.State, error) {
	v := 0.0
	if p {
		v = 1
	}
	lv.cmds <- command{kind: "setpause", value: v}
	return lv.State(), nil
}

// overlayURL is the OBS page beside the preview page's URL.
func overlayURL(page string) string {
	base, query, _ := strings.Cut(page, "?")
	if query != "" {
		return base + "overlay?" + query
	}
	return base + "overlay"
}

// snapshot saves the view last rendered, exactly as the window shows it.
func (lv *live) snapshot() {
	if lv.last == nil {
		return
	}
	name := filepath.Join(lv.o.snapshots, "vidstyle-"+time.Now().Format("20060102-150405.000")+".png")
	if !gocv.IMWrite(name, *lv.last.V) {
		lv.log.Error("snapshot: could not write " + name)
		return
	}
	abs, _ := filepath.Abs(name)
	lv.log.Info("snapshot saved to " + abs)
}

// render composes the view (stylized, original or split, with strength
// and HUD) and hands it to the window.
func (lv *live) render() {
	if lv.orig == nil {
		return
	}
	orig := *lv.orig.V
	ref := lv.views.Get()
	out := ref.V
	switch {
	case lv.view == viewOriginal:
		orig.CopyTo(out)
	case lv.strength >= 1:
		lv.styled.CopyTo(out)
	default:
		gocv.AddWeighted(orig, 1-lv.strength, lv.styled, lv.strength, 0, out)
	}
	if lv.view == viewSplit {
		half := image.Rect(0, 0, orig.Cols()/2, orig.Rows())
		left := orig.Region(half)
		dst := out.Region(half)
		left.CopyTo(&dst)
		left.Close()
		dst.Close()
		gocv.Line(out, image.Pt(half.Max.X, 0), image.Pt(half.Max.X, orig.Rows()), color.RGBA{255, 255, 255, 0}, 1)
	}
	timing := pipeline.Timing{Captured: lv.captured}
	// The web stream (and so the OBS overlay) gets the picture without the
	// HUD, which is for the window.
	if lv.web != nil {
		webRef := ref
		if lv.window {
			webRef = lv.views.Get()
			out.CopyTo(webRef.V)
		} else {
			ref.Retain()
		}
		lv.web.Send(pipeline.Frame[*gocv.Mat]{Timing: timing, Image: webRef})
	}
	if lv.window {
		lv.drawHUD(out)
	}
	if lv.last != nil {
		lv.last.Release()
	}
	ref.Retain()
	lv.last = ref
	f := pipeline.Frame[*gocv.Mat]{Timing: timing, Image: ref}
	if lv.window {
		lv.shown.Put(f)
	} else {
		lv.onShown(f) // no window: count the rendered frame as shown
		ref.Release()
	}
	lv.publish()
}

// drawHUD writes the style, rates, latency and drops in the top-left
// corner, and the key help when asked.
func (lv *live) drawHUD(out *gocv.Mat) {
	lv.mu.Lock()
	notice, latency, rate := lv.notice, lv.latency, lv.shownRate
	lv.mu.Unlock()
	var lines []string
	if lv.hud {
		modelFPS := 0.0
		if lv.modelDur > 0 {
			modelFPS = 1 / lv.modelDur.Seconds()
		}
		view := [...]string{"", " (original)", " (split)"}[lv.view]
		lines = append(lines,
			fmt.Sprintf("%s%s  strength %.0f%%", lv.styles.swap.Active(), view, lv.strength*100),
			fmt.Sprintf("shown %.1f fps  model %.1f fps", rate, modelFPS),
			fmt.Sprintf("latency %d ms  dropped %d", latency.Milliseconds(), lv.frames.Dropped()))
	}
	if lv.paused {
		lines = append(lines, "paused")
	}
	if notice != "" {
		lines = append(lines, notice)
	}
	if lv.help {
		lines = append(lines, "n/p style  1-9 pick  space pause  s snapshot",
			"o original/split  +/- strength  f HUD  q quit")
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

// onShown runs on the window's thread after a frame is on screen.
func (lv *live) onShown(f pipeline.Frame[*gocv.Mat]) {
	now := time.Now()
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if !f.Captured.IsZero() {
		d := now.Sub(f.Captured)
		if lv.latency == 0 {
			lv.latency = d
		}
		lv.latency = (lv.latency*7 + d) / 8
	}
	lv.shownCount++
	if lv.shownCount == 1 {
		lv.log.Info("preview window open")
	}
	lv.rateCount++
	if lv.rateFrom.IsZero() {
		lv.rateFrom = now
	}
	if el := now.Sub(lv.rateFrom); el >= time.Second {
		lv.shownRate = float64(lv.rateCount) / el.Seconds()
		lv.rateFrom, lv.rateCount = now, 0
	}
}

// report logs dropped frames at most once a second, and the live numbers
// every -stats-period.
func (lv *live) report(ctx context.Context) {
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
		if d := lv.frames.Dropped(); d > lastDropped {
			lv.log.Debug(fmt.Sprintf("dropped %d frames in the last second: the model is slower than the source", d-lastDropped))
			lastDropped = d
		}
		if time.Since(lastStats) >= lv.o.statsPeriod {
			lastStats = time.Now()
			lv.mu.Lock()
			rate, lat, n := lv.shownRate, lv.latency, lv.shownCount
			lv.mu.Unlock()
			model := time.Duration(lv.modelNs.Load())
			lv.log.Info(fmt.Sprintf("live: shown %d frames, %.1f fps, latency %d ms, model %d ms/frame, dropped %d", n, rate, lat.Milliseconds(), model.Milliseconds(), lv.frames.Dropped()))
		}
	}
}
