package live

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vidstyle/vidstyle/stream/web"
)

// Op is what a Command does.
type Op int

// The commands. Keys send most of them; the web API sends Pick,
// SetStrength, SetPaused and SetColors.
const (
	Next         Op = iota + 1 // the next style, wrapping around
	Prev                       // the previous style
	Pick                       // style Command.Index (from 0)
	TogglePause                // pause or resume
	SetPaused                  // pause (Value != 0) or resume
	Snapshot                   // save the view as a PNG
	CycleView                  // stylized → original → side by side
	Stronger                   // strength +10 %
	Weaker                     // strength −10 %
	SetStrength                // strength Command.Value, 0 to 1
	ToggleHUD                  // HUD on or off
	Help                       // key help on or off
	Quit                       // stop
	ToggleColors               // colour preservation on or off
	SetColors                  // colour preservation on (Value != 0) or off
)

// Command is a request to the paint loop.
type Command struct {
	Op    Op
	Index int
	Value float64
}

// ErrStopped means the Engine is not running (any more).
var ErrStopped = errors.New("live: not running")

type request struct {
	cmd Command
	res chan<- reply // nil: nobody waits (keys)
}

type reply struct {
	state web.State
	err   error
}

// switchDone is a style session built off the paint loop.
type switchDone struct {
	index int
	err   error
	built bool // a new session was made (not: the style was current already)
}

// Do sends cmd to the paint loop and returns the state once it has taken
// effect: for a style switch, once the new style is the one frames are
// painted with. It waits for Run to be running (Config.OnStart is the
// place for commands that must apply before the first frame), and returns
// ErrStopped once Run has stopped or Close ran.
func (e *Engine) Do(ctx context.Context, cmd Command) (web.State, error) {
	res := make(chan reply, 1)
	select {
	case e.requests <- request{cmd: cmd, res: res}:
	case <-e.stopped:
		return web.State{}, ErrStopped
	case <-ctx.Done():
		return web.State{}, ctx.Err()
	}
	select {
	case r := <-res:
		return r.state, r.err
	case <-e.stopped:
		return web.State{}, ErrStopped
	case <-ctx.Done():
		return web.State{}, ctx.Err()
	}
}

// State is what the web page shows: published by the paint loop after
// every change, with the source's notice.
func (e *Engine) State() web.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	st.Styles = append([]string(nil), st.Styles...)
	st.Precisions = append([]string(nil), st.Precisions...)
	st.Notice = e.noticeLocked()
	rate, latency := e.stats.rates() // now, not as of the last frame painted
	st.FPS, st.LatencyMS = rate, latency.Milliseconds()
	return st
}

// SetStyle, SetStrength and SetPaused are web.Control: the web API sends
// the same commands as the keys.
func (e *Engine) SetStyle(ctx context.Context, i int) (web.State, error) {
	return e.Do(ctx, Command{Op: Pick, Index: i})
}

// SetStrength: see SetStyle.
func (e *Engine) SetStrength(ctx context.Context, v float64) (web.State, error) {
	return e.Do(ctx, Command{Op: SetStrength, Value: v})
}

// SetPaused: see SetStyle.
func (e *Engine) SetPaused(ctx context.Context, p bool) (web.State, error) {
	v := 0.0
	if p {
		v = 1
	}
	return e.Do(ctx, Command{Op: SetPaused, Value: v})
}

// SetKeepColors: see SetStyle.
func (e *Engine) SetKeepColors(ctx context.Context, on bool) (web.State, error) {
	v := 0.0
	if on {
		v = 1
	}
	return e.Do(ctx, Command{Op: SetColors, Value: v})
}

// apply carries out one command on the paint loop and answers it, except
// a style switch, which is answered when its session is ready.
func (e *Engine) apply(req request) {
	p := &e.p
	answer := func(err error) {
		if req.res != nil {
			req.res <- reply{e.State(), err}
		}
	}
	n := e.styles.Len()
	held := p.paused || e.inputEnd.Load() // before the command: a resume shows the held picture too
	switch req.cmd.Op {
	case Next, Prev, Pick:
		i := p.target
		switch req.cmd.Op {
		case Next:
			i = (i + 1) % n
		case Prev:
			i = (i + n - 1) % n
		default:
			i = req.cmd.Index
		}
		if i < 0 || i >= n {
			if req.res == nil {
				// A key, which nobody answers; a caller that is answered (the
				// web API) reports the error itself, so that requests cannot
				// flood the log.
				e.log.Warn(fmt.Sprintf("key %s: there is no style %s, there are %d (keys 1 to %d; n and p go round)", styleNumber(i), styleNumber(i), n, min(n, 9)))
				return
			}
			answer(fmt.Errorf("there is no style %s (index %d; the API counts from 0): there are %d", styleNumber(i), i, n))
			return
		}
		e.startSwitch(i, req.res)
		return
	case TogglePause, SetPaused:
		paused := !p.paused
		if req.cmd.Op == SetPaused {
			paused = req.cmd.Value != 0
		}
		if paused != p.paused {
			p.paused = paused
			e.log.Info(map[bool]string{true: "paused", false: "resumed"}[paused])
		}
	case ToggleColors, SetColors:
		ctl := e.styles.Controls()
		on := !ctl.KeepColors()
		if req.cmd.Op == SetColors {
			on = req.cmd.Value != 0
		}
		if on != ctl.KeepColors() {
			ctl.SetKeepColors(on)
			e.log.Info("colours: " + map[bool]string{true: "the source's (keep colours)", false: "the style's"}[on])
			if e.repaint() { // paused or ended: painted again at once
				e.publish()
				answer(nil)
				return
			}
		}
	case Snapshot:
		answer(e.snapshot())
		return
	case CycleView:
		p.view = (p.view + 1) % 3
		e.log.Info("view: " + [...]string{"stylized", "original", "side by side"}[p.view])
	case SetStrength:
		p.strength = max(0, min(1, req.cmd.Value))
	case Stronger, Weaker:
		d := 0.1
		if req.cmd.Op == Weaker {
			d = -0.1
		}
		p.strength = max(0, min(1, p.strength+d))
		e.log.Info(fmt.Sprintf("strength %.0f%%", p.strength*100))
	case ToggleHUD:
		p.hud = !p.hud
		e.log.Info("HUD " + map[bool]string{true: "on", false: "off"}[p.hud])
	case Help:
		p.help = !p.help
		if p.help && e.cfg.OnHelp != nil {
			e.cfg.OnHelp()
		}
	case Quit:
		p.quit()
		answer(nil)
		return
	default:
		answer(fmt.Errorf("live: unknown command %d", req.cmd.Op))
		return
	}
	if held || p.paused {
		// The picture held is shown again for the change: its latency
		// is the change's, not the time since it was captured (which
		// grew for as long as the pause lasted).
		p.captured = time.Now()
	}
	e.render() // show the change at once, also while paused
	e.publish()
	answer(nil)
}

// startSwitch makes style i the target. Its session is built off the
// paint loop (the old style keeps painting meanwhile), one build at a
// time; a request is answered when the style it asked for is the one
// frames are painted with, or has failed. Requests made while a build runs
// queue up, and the newest target is built next.
func (e *Engine) startSwitch(i int, res chan<- reply) {
	p := &e.p
	if res != nil {
		p.pending[i] = append(p.pending[i], res)
	}
	p.target = i
	switch {
	case p.building:
	case i == e.styles.Current():
		e.finishSwitch(switchDone{index: i})
	default:
		e.build(i)
	}
}

// build switches to style i in a goroutine that Run waits for.
func (e *Engine) build(i int) {
	e.p.building = true
	e.builds.Add(1)
	go func() {
		defer e.builds.Done()
		err := e.styles.Switch(i)
		e.switched <- switchDone{index: i, err: err, built: true} // one build at a time: the buffer takes it
	}()
}

// finishSwitch runs on the paint loop when a build is done.
func (e *Engine) finishSwitch(sw switchDone) {
	p := &e.p
	p.building = false
	if sw.err != nil {
		e.log.Warn(firstLine(sw.err))
		if p.target == sw.index {
			p.target = e.styles.Current()
		}
	}
	e.publish()
	// Requests for a style other than the target were overtaken by a
	// newer one: they get the state as it is now (with the build's error
	// if it was theirs).
	for i := range p.pending {
		if i == p.target {
			continue
		}
		err := error(nil)
		if i == sw.index {
			err = sw.err
		}
		for _, res := range p.takePending(i) {
			res <- reply{e.State(), err}
		}
	}
	if p.target != e.styles.Current() { // the newest target is still to build
		e.build(p.target)
		return
	}
	err := error(nil)
	if sw.index == p.target {
		err = sw.err
	}
	if sw.built && err == nil {
		e.repaint() // paused or ended: the picture on show, in the new style
	}
	for _, res := range p.takePending(p.target) {
		res <- reply{e.State(), err}
	}
}

// publish copies the paint loop's state for State.
func (e *Engine) publish() {
	rate, latency := e.stats.rates()
	p := &e.p
	e.mu.Lock()
	e.state = web.State{Styles: e.names, Precisions: e.precs, Style: e.styles.Current(), Strength: p.strength, Paused: p.paused, KeepColors: e.styles.Controls().KeepColors(),
		FPS: rate, LatencyMS: latency.Milliseconds()}
	e.mu.Unlock()
}

// styleNumber is index i counted from 1, as the keys and messages count
// styles, for any int (MaxInt's number does not fit an int).
func styleNumber(i int) string {
	if i >= 0 {
		return strconv.FormatUint(uint64(i)+1, 10)
	}
	return strconv.Itoa(i + 1)
}
