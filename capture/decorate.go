package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// NewMatPool makes the pool that frame Mats of one job come from: each
// buffer is a new empty Mat, closed when the pool and its last user are
// done with it.
func NewMatPool() *pipeline.Pool[*gocv.Mat] {
	return pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMat(); return &m }, func(m *gocv.Mat) { m.Close() })
}

// The decorators below wrap a Source in another Source (as
// pion/mediadevices composes readers): Limit(Pace(ctx, Loop(file, nil)), n)
// reads at most n frames of a file played round and round at its own
// frame rate. Each forwards Props and Close to the source it wraps.

// Limit ends src after n frames; n <= 0 means no limit.
func Limit(src Source, n int64) Source {
	if n <= 0 {
		return src
	}
	return &limited{Source: src, left: n}
}

type limited struct {
	Source
	left int64
}

func (l *limited) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if l.left <= 0 {
		return pipeline.Timing{}, io.EOF
	}
	l.left--
	return l.Source.Read(dst)
}

// Loop starts a file again from its first frame when it ends, for as long
// as it is read; onLoop (if not nil) runs at each restart. The frames keep
// counting up across loops, and the presentation times go on from the
// end of the previous round, so the output of a loop looks like one long
// file. A source that cannot rewind (a camera), or a file that yields no
// frame at all, ends as it would have. A RewindPreparer is asked to ready
// its first rewind at once, so that no seam holds the picture up. A short
// file (up to loopCacheFrames frames and loopCacheBytes) is kept from its
// first round and played from memory after it: a clip of one or two
// frames would otherwise start its decoder again many times a second.
func Loop(src Source, onLoop func()) Source {
	if p, ok := src.(RewindPreparer); ok {
		p.PrepareRewind()
	}
	return &looped{Source: src, onLoop: onLoop}
}

// The most a looped file keeps of its first round to play from memory.
const (
	loopCacheFrames = 50
	loopCacheBytes  = 64 << 20
)

type looped struct {
	Source
	onLoop   func()
	index    int64         // frames delivered so far
	offset   time.Duration // PTS of the rounds before this one
	last     time.Duration // the last PTS delivered, offset included
	inRound  int64         // frames delivered in this round
	duration time.Duration // one frame's duration, to step past the last
	rounds   int           // rounds begun after the first

	// The first round's frames, while it may still be short enough to
	// keep; replay says the rounds after it come from here.
	cache      []loopFrame
	cacheBytes int
	noCache    bool
	replay     bool
}

type loopFrame struct {
	m  gocv.Mat
	tm pipeline.Timing
}

// next reads the round's next frame, from the source or the cache.
func (l *looped) next(dst *gocv.Mat) (pipeline.Timing, error) {
	if !l.replay {
		return l.Source.Read(dst)
	}
	if l.inRound >= int64(len(l.cache)) || l.interrupted() {
		return pipeline.Timing{}, io.EOF
	}
	f := &l.cache[l.inRound]
	f.m.CopyTo(dst)
	return f.tm, nil
}

func (l *looped) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	tm, err := l.next(dst)
	if errors.Is(err, io.EOF) && l.inRound > 0 {
		switch {
		case l.replay:
		case l.rounds == 0 && !l.noCache:
			if l.interrupted() {
				return tm, err // stopped, not ended
			}
			l.replay = true // the whole first round is kept
		default:
			r, ok := l.Source.(Rewinder)
			if !ok || r.Rewind() != nil {
				return tm, err
			}
		}
		l.offset = l.last + l.duration
		l.inRound = 0
		l.rounds++
		if l.onLoop != nil {
			l.onLoop()
		}
		tm, err = l.next(dst)
	}
	if err != nil {
		return tm, err
	}
	if l.rounds == 0 && !l.noCache {
		l.keep(dst, tm)
	}
	if rate := l.Props().Rate; l.duration == 0 && rate.Num > 0 {
		l.duration = time.Duration(float64(time.Second) * float64(rate.Den) / float64(rate.Num))
	}
	tm.PTS += l.offset
	tm.Index = l.index
	l.index++
	l.inRound++
	l.last = tm.PTS
	return tm, nil
}

// keep copies a first-round frame into the cache, or gives the cache up
// once the round is too long for it (or the source cannot rewind, so
// that there is no second round to play).
func (l *looped) keep(m *gocv.Mat, tm pipeline.Timing) {
	size := m.Total() * m.ElemSize()
	_, ok := l.Source.(Rewinder)
	// A source read before it was looped (its first frame here is not its
	// frame 0) has a first round that is not the whole clip: it rewinds.
	if !ok || len(l.cache) == 0 && tm.Index != 0 || len(l.cache) >= loopCacheFrames || l.cacheBytes+size > loopCacheBytes {
		l.dropCache()
		l.noCache = true
		return
	}
	c := gocv.NewMat()
	m.CopyTo(&c)
	l.cache = append(l.cache, loopFrame{m: c, tm: tm})
	l.cacheBytes += size
}

// interrupted reports whether the source was stopped (Interrupter): it
// ends, even where its frames are kept to play.
func (l *looped) interrupted() bool {
	in, ok := l.Source.(interface{ Interrupted() bool })
	return ok && in.Interrupted()
}

func (l *looped) dropCache() {
	for i := range l.cache {
		l.cache[i].m.Close()
	}
	l.cache, l.cacheBytes = nil, 0
}

// Close closes the kept frames and the source.
func (l *looped) Close() error {
	l.dropCache()
	return l.Source.Close()
}

// Pace holds each frame of src back until its presentation time has come
// on the wall clock, counted from the first Read, so a file plays at its
// own speed as a camera would deliver it. A presentation time that goes
// backwards starts the clock again. Read returns ctx's error when ctx ends
// while it waits.
func Pace(ctx context.Context, src Source) Source {
	return &paced{Source: src, ctx: ctx}
}

type paced struct {
	Source
	ctx     context.Context
	started bool
	start   time.Time // wall clock time of PTS 0
	last    time.Duration
}

func (p *paced) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	tm, err := p.Source.Read(dst)
	if err != nil {
		return tm, err
	}
	if !p.started || tm.PTS < p.last {
		p.started = true
		p.start = time.Now().Add(-tm.PTS)
	}
	p.last = tm.PTS
	if err := sleep(p.ctx, time.Until(p.start.Add(tm.PTS))); err != nil {
		return pipeline.Timing{}, err
	}
	return tm, nil
}

// ReconnectConfig says what Reconnect does when its source fails.
type ReconnectConfig struct {
	// Open opens the source again.
	Open func() (Source, error)
	// OnLost runs when the source stops delivering frames, and before
	// every retry, with the error and the wait before the next try.
	OnLost func(err error, retryIn time.Duration)
	// OnBack runs when a reopened source delivers its first frame.
	OnBack func()
	// First and Max bound the wait between tries, which doubles from First
	// (default 250 ms) up to Max (default 4 s; never below First).
	First, Max time.Duration
}

// Reconnect keeps a camera going: when a Read fails it waits, opens the
// source again with cfg.Open, and reads from the new one, retrying with a
// growing wait until one works or ctx ends (then Read returns ctx's
// error). The source it replaces is closed; Close closes the one in use.
func Reconnect(ctx context.Context, src Source, cfg ReconnectConfig) Source {
	if cfg.First <= 0 {
		cfg.First = 250 * time.Millisecond
	}
	if cfg.Max <= 0 {
		cfg.Max = 4 * time.Second
	}
	cfg.Max = max(cfg.Max, cfg.First)
	return &reconnecting{ctx: ctx, src: src, cfg: cfg}
}

type reconnecting struct {
	ctx context.Context
	cfg ReconnectConfig
	mu  sync.Mutex // guards src against Props and Close from other goroutines
	src Source
}

func (r *reconnecting) current() Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.src
}

func (r *reconnecting) Props() Props { return r.current().Props() }

func (r *reconnecting) Close() error { return r.current().Close() }

// Interrupt interrupts the source now in use, when it can be
// (Interrupter): a stop that must not wait out a stalled read.
func (r *reconnecting) Interrupt() {
	if in, ok := r.current().(Interrupter); ok {
		in.Interrupt()
	}
}

func (r *reconnecting) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	wait := r.cfg.First
	reopened := false
	for {
		tm, err := r.current().Read(dst)
		if err == nil {
			if reopened && r.cfg.OnBack != nil {
				r.cfg.OnBack() // back once frames come, not when it opens
			}
			return tm, nil
		}
		if r.ctx.Err() != nil {
			// Stopped (an Interrupt ends the read): not a lost source.
			return pipeline.Timing{}, r.ctx.Err()
		}
		if r.cfg.OnLost != nil {
			r.cfg.OnLost(err, wait)
		}
		if err := sleep(r.ctx, wait); err != nil {
			return pipeline.Timing{}, err
		}
		wait = min(2*wait, r.cfg.Max)
		src, err := r.cfg.Open()
		if err != nil {
			continue
		}
		r.mu.Lock()
		old := r.src
		r.src = src
		r.mu.Unlock()
		old.Close()
		// The wait is not shortened yet: a source that opens and then
		// gives no frame (a server that answers, then fails the file)
		// is tried again at the growing wait, not four times a second.
		reopened = true
	}
}

// sleep waits d, or returns ctx's error if it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("capture: %w", ctx.Err())
	}
}

// SquarePixels shows a picture of non-square pixels (anamorphic video:
// DV, HDV, DVB, some phone and camera files) at its display shape, as
// players do: each frame is scaled to the width times the pixel aspect
// (Props.SAR), rounded to even, with the height kept; its Props say so,
// with a 1:1 SAR. A source of square pixels, of no known aspect, or of an
// implausible one (beyond 4:1 either way) is returned as it is. The
// transcoder does not use it: a file keeps its pixels and says their
// aspect.
func SquarePixels(src Source) Source {
	p := src.Props()
	w, ok := displayWidth(p.Width, p.SAR.Num, p.SAR.Den)
	if !ok {
		return src
	}
	q := p
	q.Width, q.SAR = w, media.Ratio{Num: 1, Den: 1}
	return &squared{Source: src, props: q, buf: gocv.NewMat(), alpha: gocv.NewMat()}
}

// Resize scales every frame of src to w×h (area averaging down, bicubic
// up), and a still picture's transparency with it; its Props say the new
// size, its pixel aspect unchanged (make them square first when the
// shape must hold: SquarePixels). A source already w×h is returned as it
// is.
func Resize(src Source, w, h int) Source {
	p := src.Props()
	if p.Width == w && p.Height == h || w <= 0 || h <= 0 {
		return src
	}
	q := p
	q.Width, q.Height = w, h
	return &squared{Source: src, props: q, buf: gocv.NewMat(), alpha: gocv.NewMat()}
}

// DisplaySize is the size a source's frames are shown at: its width
// times its pixel aspect (as SquarePixels gives it), its height.
func DisplaySize(p Props) (int, int) {
	w, _ := displayWidth(p.Width, p.SAR.Num, p.SAR.Den)
	return w, p.Height
}

// displayWidth is w scaled by the pixel aspect num:den, rounded to even,
// and whether it differs from w and is plausible.
func displayWidth(w, num, den int) (int, bool) {
	if num <= 0 || den <= 0 || num > 4*den || den > 4*num {
		return w, false
	}
	d := int(math.Round(float64(w)*float64(num)/float64(den)/2)) * 2
	if d == w || d == w&^1 || d < 2 || d > 16384 {
		return w, false
	}
	return d, true
}

// squared is a source scaled to the size its props give (SquarePixels,
// Resize).
type squared struct {
	Source
	props Props
	buf   gocv.Mat // the frame as decoded
	alpha gocv.Mat // the source's alpha at props' size, made once
}

func (s *squared) Props() Props { return s.props }

func (s *squared) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	tm, err := s.Source.Read(&s.buf)
	if err != nil {
		return tm, err
	}
	scale(s.buf, dst, s.props.Width, s.props.Height)
	return tm, nil
}

// scale resizes src into dst at w×h: area averaging where it shrinks (no
// aliasing), bicubic where it grows (the sharper of the cheap ones).
func scale(src gocv.Mat, dst *gocv.Mat, w, h int) {
	interp := gocv.InterpolationCubic
	if w*h < src.Cols()*src.Rows() {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(src, dst, image.Pt(w, h), 0, 0, interp)
}

// Alpha is the AlphaSource method: the source's transparency at the new
// size, or nil (none, or a source that has none).
func (s *squared) Alpha() *gocv.Mat {
	as, ok := s.Source.(AlphaSource)
	if !ok {
		return nil
	}
	a := as.Alpha()
	if a == nil || a.Empty() {
		return nil
	}
	if s.alpha.Empty() { // made once
		scale(*a, &s.alpha, s.props.Width, s.props.Height)
	}
	return &s.alpha
}

// Rewind rewinds the source when it can (Loop asks).
func (s *squared) Rewind() error {
	if r, ok := s.Source.(Rewinder); ok {
		return r.Rewind()
	}
	return fmt.Errorf("%s cannot start again", s.props.Name)
}

// PrepareRewind readies the source's rewind when it can.
func (s *squared) PrepareRewind() {
	if p, ok := s.Source.(RewindPreparer); ok {
		p.PrepareRewind()
	}
}

// Interrupt interrupts the source when it can.
func (s *squared) Interrupt() {
	if in, ok := s.Source.(Interrupter); ok {
		in.Interrupt()
	}
}

// Interrupted reports whether the source was interrupted (a loop over
// this source ends then, even where it plays kept frames).
func (s *squared) Interrupted() bool {
	in, ok := s.Source.(interface{ Interrupted() bool })
	return ok && in.Interrupted()
}

func (s *squared) Close() error {
	s.buf.Close()
	s.alpha.Close()
	return s.Source.Close()
}
