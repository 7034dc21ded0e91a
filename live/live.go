// Package live runs the live preview: a camera or a file played as one,
// painted in a style, shown in a window and served to browsers.
//
// The life of a live frame, all in Run:
//
//	capture ──Latest──► paint (model, view, strength) ──► web stream (no HUD)
//	                                                   └─► HUD ──Latest──► window
//
// Every hand-over is a pipeline.Latest, a one-frame mailbox where the
// newest frame wins: live video drops what it cannot paint in time rather
// than falling behind. The paint loop owns all the state (style, view,
// strength, pause, HUD): keys and web requests become Commands it applies
// between frames, and each is answered with the state after it took effect.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stream/web"
	"github.com/vidstyle/vidstyle/stylize"
)

// Config sets up an Engine.
type Config struct {
	// Source is where frames come from; the Engine owns it from New on and
	// closes the one in use when Run returns. A file is played at its own
	// frame rate; a camera that stops is reopened with Reopen, with a
	// growing wait between tries.
	Source capture.Source
	Reopen func() (capture.Source, error)
	// Loop starts a file again at its end.
	Loop bool
	// Unpaced reads a file as fast as it decodes (soak tests), not at its
	// frame rate.
	Unpaced bool
	// Styles paint the frames; the caller closes them after Run.
	Styles *stylize.StyleSet
	// Window shows the frames, with the HUD, in a window titled Title
	// (default "vidstyle"); Keys maps the window's key presses to
	// commands.
	Window bool
	Title  string
	Keys   func(key int) (Command, bool)
	// Web, if set, serves the stream to browsers (page, OBS overlay, WHEP);
	// its Control and Log are filled in by the Engine. Bitrate is the VP8
	// bitrate in kbit/s (0: from the frame size).
	Web     *web.Config
	Bitrate int
	// Snapshots is the folder the Snapshot command writes PNGs into.
	Snapshots string
	// StatsPeriod is how often the live numbers are logged (default 5 s).
	StatsPeriod time.Duration
	// HelpLines are shown in the window's HUD by the Help command;
	// OnHelp, if set, runs too (the command line prints the keys).
	HelpLines []string
	OnHelp    func()
	// Publish, if set, also publishes the stylized frames (no HUD) to a
	// media server or an HLS folder at a steady rate (stream.Publisher);
	// its size, Rate when zero (the source's), Loop, OnNotice and Log are
	// filled in by the Engine.
	Publish *stream.PublishConfig
	// StopAtEnd ends Run after the last frame of a file played once
	// (publishing a file), instead of waiting for q at its end.
	StopAtEnd bool
	// Frames ends the input after this many frames (0: all), as a file's
	// end does: the last picture stays on show, or Run ends with
	// StopAtEnd. A loop's rounds count on.
	Frames int64
	// OnListen, if set, gets the web preview's URL once it listens.
	OnListen func(page string)
	// OnStart, if set, is called by Run, on a goroutine of its own, once
	// the engine answers commands and before it paints its first frame:
	// the commands it sends and waits for (Do, SetStrength, SetStyle …)
	// have taken effect when the first frame is painted. No frame is
	// painted until it returns (or Run stops), and Run returns only after
	// it has: keep it short, and start a goroutine for commands sent
	// later.
	OnStart func(*Engine)
	Log     *slog.Logger
}

// Engine is a running live preview.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	src      capture.Source
	styles   *stylize.StyleSet
	names    []string                    // the styles' names, for the state (never changed)
	precs    []string                    // and their precisions
	frames   *pipeline.Latest[*gocv.Mat] // captured, for the paint loop
	shown    *pipeline.Latest[*gocv.Mat] // rendered, for the window
	in       *pipeline.Pool[*gocv.Mat]
	views    *pipeline.Pool[*gocv.Mat]
	requests chan request
	switched chan switchDone
	builds   sync.WaitGroup // style switches being built
	stopped  chan struct{}  // closed when the paint loop has stopped (or Close ran): no command is answered any more
	web      *web.Broadcaster
	pub      *stream.Publisher
	pubDone  chan struct{} // closed when the publisher's Run returned
	ended    chan struct{} // closed at the end of the input with StopAtEnd
	inputEnd atomic.Bool   // the source has ended (no new frame will come)
	stats    stats
	epoch    int64 // the source's discontinuities so far; owned by the capture goroutine

	mu        sync.Mutex // guards state, notice and pubNotice
	state     web.State  // published by the paint loop
	notice    string
	pubNotice string // the publisher's ("publish: reconnecting (…)")

	life  sync.Mutex // guards ran and freed
	ran   bool       // Run was called
	freed bool       // Close freed what New made

	// Owned by the paint loop.
	p painter
}

// New makes an Engine; Run starts it, and Close frees an Engine that is
// not run. From New on the Engine owns cfg.Source; when New fails, the
// source is still the caller's to close.
func New(cfg Config) (*Engine, error) {
	if cfg.Source == nil || cfg.Styles == nil {
		return nil, errors.New("live: a source and styles are required")
	}
	if cfg.Title == "" {
		cfg.Title = "vidstyle"
	}
	if cfg.StatsPeriod <= 0 {
		cfg.StatsPeriod = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Keys == nil {
		cfg.Keys = func(int) (Command, bool) { return Command{}, false }
	}
	e := &Engine{
		cfg: cfg, log: cfg.Log, src: cfg.Source, styles: cfg.Styles, names: cfg.Styles.Names(), precs: cfg.Styles.Precisions(),
		frames: pipeline.NewLatest[*gocv.Mat](), shown: pipeline.NewLatest[*gocv.Mat](),
		in: capture.NewMatPool(), views: capture.NewMatPool(),
		requests: make(chan request, 16), switched: make(chan switchDone, 1), stopped: make(chan struct{}),
		ended: make(chan struct{}),
	}
	e.p = painter{styled: gocv.NewMat(), strength: 1, hud: true, target: cfg.Styles.Current(), pending: map[int][]chan<- reply{}}
	e.publish()
	return e, nil
}

// Run captures, paints and shows frames until ctx ends, the Quit command,
// or the window is closed. It returns once every goroutine it started has
// stopped (Config.OnStart's included) and the source is closed, on error
// too. Run an Engine once: a second Run, or a Run after Close, is an
// error.
func (e *Engine) Run(ctx context.Context) error {
	e.life.Lock()
	switch {
	case e.freed:
		e.life.Unlock()
		return errors.New("live: Run after Close")
	case e.ran:
		e.life.Unlock()
		return errors.New("live: Run called twice (run an Engine once)")
	}
	e.ran = true
	e.life.Unlock()
	defer e.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.p.quit = cancel
	var wg sync.WaitGroup
	stopped := sync.OnceFunc(func() { close(e.stopped) })
	defer stopped()
	// fail stops what was started before an error.
	fail := func(err error) error {
		cancel()
		wg.Wait()
		return err
	}

	// The source, decorated for live use.
	props := e.src.Props()
	switch {
	case props.Kind == capture.KindCamera && e.cfg.Reopen != nil:
		e.src = capture.Reconnect(ctx, e.src, capture.ReconnectConfig{
			Open: e.cfg.Reopen,
			OnLost: func(_ error, wait time.Duration) {
				e.setNotice("camera lost - retrying")
				e.log.Warn(fmt.Sprintf("%s stopped delivering frames: retrying in %v", props.Name, wait))
			},
			OnBack: func() { e.epoch++; e.setNotice(""); e.log.Info(props.Name + " is back") }, // inside Read
		})
	case props.Kind == capture.KindStream && !capture.Rereadable(props):
		// A network stream: when it drops, open it again; pace it, since
		// it may arrive faster than it plays.
		if e.cfg.Reopen != nil {
			e.src = capture.Reconnect(ctx, e.src, capture.ReconnectConfig{
				Open: e.cfg.Reopen,
				OnLost: func(err error, wait time.Duration) {
					e.setNotice("stream lost - retrying")
					e.log.Warn(fmt.Sprintf("%s stopped delivering frames: retrying in %v", props.Name, wait))
				},
				OnBack: func() { e.epoch++; e.setNotice(""); e.log.Info(props.Name + " is back") },
			})
		}
		if in, ok := e.src.(capture.Interrupter); ok {
			// A stream that sends nothing holds its read for ffmpeg's
			// timeout (15 s): stopping ends it at once.
			defer context.AfterFunc(ctx, in.Interrupt)()
		}
		if !e.cfg.Unpaced {
			e.src = capture.Pace(ctx, e.src)
		}
	case props.Kind == capture.KindFile || capture.Rereadable(props):
		// A file, or one served over HTTP (it ends, and rewinds, as a
		// local one: no reconnecting at its end).
		if in, ok := e.src.(capture.Interrupter); ok && props.Kind == capture.KindStream {
			// A server that stalls holds the read: stopping ends it.
			defer context.AfterFunc(ctx, in.Interrupt)()
		}
		if e.cfg.Loop {
			e.src = capture.Loop(e.src, func() { e.epoch++ }) // called inside Read, on the capture goroutine
		}
		if !e.cfg.Unpaced {
			e.src = capture.Pace(ctx, e.src)
		}
	}
	e.src = capture.Limit(e.src, e.cfg.Frames) // as the transcoder's -frames

	// Outputs: the web stream and the window.
	if e.cfg.Web != nil {
		if err := e.serve(ctx, &wg); err != nil {
			return fail(err)
		}
	}
	if e.cfg.Publish != nil {
		if err := e.startPublish(ctx, &wg); err != nil {
			return fail(err) // the web preview's goroutines stop first
		}
	}
	winErr := make(chan error, 1)
	if e.cfg.Window {
		wg.Add(1)
		go func() {
			defer wg.Done()
			winErr <- stream.RunWindow(ctx, stream.WindowConfig{
				Title: e.cfg.Title, Frames: e.shown, OnShown: e.onShown, Log: e.log,
				OnKey: func(key int) {
					if cmd, ok := e.cfg.Keys(key); ok {
						select {
						case e.requests <- request{cmd: cmd}:
						case <-ctx.Done():
						}
					}
				},
			})
			cancel() // the window was closed
		}()
	}
	e.styles.Swap().OnFirstFrame(func(name string) { e.log.Info("showing " + e.styles.Label(name)) })

	// capture ──► paint, after OnStart's commands.
	started := make(chan struct{})
	if e.cfg.OnStart != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(started)
			e.cfg.OnStart(e)
		}()
	} else {
		close(started)
	}
	wg.Add(2)
	go func() { defer wg.Done(); e.capture(ctx) }()
	go func() { defer wg.Done(); e.report(ctx) }()
	e.paintLoop(ctx, started)
	stopped() // a command still waiting (OnStart's) is told
	cancel()
	wg.Wait()
	e.builds.Wait()
	select {
	case err := <-winErr:
		return err
	default:
		return nil
	}
}

// capture reads frames into the mailbox until the source ends or ctx
// does.
func (e *Engine) capture(ctx context.Context) {
	for ctx.Err() == nil {
		ref := e.in.Get()
		tm, err := e.src.Read(ref.V)
		if err != nil {
			ref.Release()
			if ctx.Err() == nil {
				e.inputEnd.Store(true)
			}
			switch {
			case ctx.Err() != nil:
			case e.cfg.StopAtEnd:
				close(e.ended)
			case e.src.Props().Kind == capture.KindImage:
				e.log.Info("a still picture: it stays on show, painted again at each change of style, strength or colours")
			default:
				if e.cfg.Window {
					e.setNotice("end of input - q to quit")
				} else {
					e.setNotice("end of input")
				}
				e.log.Info("end of input: the last picture stays on show")
			}
			return
		}
		tm.Captured, tm.Epoch = time.Now(), e.epoch
		e.frames.Put(pipeline.Frame[*gocv.Mat]{Timing: tm, Image: ref})
	}
}

// paintLoop paints the newest frame, one at a time, and applies commands
// between frames. Until started is closed (OnStart has returned) it
// applies commands only.
func (e *Engine) paintLoop(ctx context.Context, started <-chan struct{}) {
	var frames <-chan struct{} // nil, never ready, until started
	var ended chan struct{}
	for {
		select {
		case <-started:
			started = nil
			frames, ended = e.frames.Ready(), e.ended
		case <-ctx.Done():
			e.p.failPending(ctx.Err())
			return
		case req := <-e.requests:
			e.apply(req)
		case sw := <-e.switched:
			e.finishSwitch(sw)
		case <-ended: // StopAtEnd: the last frame, if it waits, then stop
			if f, ok := e.frames.TryTake(); ok && !e.p.paused && e.paint(f) == nil {
				e.render()
			}
			if e.pub != nil {
				// Every frame sent is published and the stream ended as
				// at its end: stopping it dropped the last ones.
				e.pub.Finish()
				select {
				case <-e.pubDone:
				case <-ctx.Done():
				}
			}
			e.p.failPending(ErrStopped)
			return
		case <-frames:
			f, ok := e.frames.TryTake()
			if !ok {
				continue
			}
			if e.p.paused {
				f.Image.Release()
				continue
			}
			if err := e.paint(f); err != nil {
				e.log.Error("frame dropped: " + firstLine(err))
				continue
			}
			e.render()
		}
	}
}

// serve starts the web preview: the broadcaster (one VP8 encoder, one RTP
// track every viewer reads) and the HTTP server.
func (e *Engine) serve(ctx context.Context, wg *sync.WaitGroup) error {
	bc, err := web.NewBroadcaster(e.cfg.Bitrate, e.log)
	if err != nil {
		return err
	}
	cfg := *e.cfg.Web
	cfg.Control, cfg.Log = e, e.log
	srv, err := web.NewServer(cfg, bc.Track(), bc.RequestKeyframe)
	if err != nil {
		bc.Close()
		return err
	}
	url, err := srv.Listen()
	if err != nil {
		bc.Close()
		return err
	}
	e.web = bc
	e.log.Info("web preview: " + url + "   (OBS overlay: " + OverlayURL(url) + ")")
	if e.cfg.OnListen != nil {
		e.cfg.OnListen(url)
	}
	wg.Add(3)
	go func() { defer wg.Done(); bc.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := srv.Serve(); err != nil {
			e.log.Error("web preview: " + err.Error())
		}
	}()
	go func() { defer wg.Done(); <-ctx.Done(); srv.Close() }()
	return nil
}

// Close frees an Engine that was made but not run: its source (an
// ffmpeg child for a file) and its buffers; Do returns ErrStopped after
// it, and Run an error. Once Run was called, Run frees everything itself
// and Close does nothing. Close is idempotent.
func (e *Engine) Close() {
	e.life.Lock()
	defer e.life.Unlock()
	if e.ran || e.freed {
		return
	}
	e.freed = true
	close(e.stopped)
	e.close()
}

// close frees what the Engine holds once its goroutines have stopped.
func (e *Engine) close() {
	e.frames.Close()
	e.shown.Close()
	e.p.close()
	if e.web != nil {
		e.web.Close()
	}
	if e.pub != nil {
		e.pub.Close()
	}
	e.src.Close()
	e.in.Close()
	e.views.Close()
}

// currentNotice is what the source (and the publisher) are going
// through, "" while frames flow.
func (e *Engine) currentNotice() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.noticeLocked()
}

// noticeLocked joins the source's and the publisher's notices; e.mu is
// held.
func (e *Engine) noticeLocked() string {
	switch {
	case e.notice == "":
		return e.pubNotice
	case e.pubNotice == "":
		return e.notice
	}
	return e.notice + "; " + e.pubNotice
}

func (e *Engine) setNotice(s string) {
	e.mu.Lock()
	e.notice = s
	e.mu.Unlock()
}

// OverlayURL is the OBS page beside the preview page's URL.
func OverlayURL(page string) string {
	base, query, _ := strings.Cut(page, "?")
	if query != "" {
		return base + "overlay?" + query
	}
	return base + "overlay"
}

// firstLine keeps the first line of an error's text.
func firstLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
