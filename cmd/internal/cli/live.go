package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream"
)

// Hot keys of the preview window (Qt delivers lower-case letters, digits,
// space, Enter and Esc; Shift is lost, so '=' stands in for '+').
const hotKeys = `n / p      next / previous style      1-9   pick a style
space      pause / resume             s     save a PNG snapshot
o          stylized / original / side by side
c          keep the source's colours on / off
+ (=) / -  style strength             f     HUD on / off
h          this help                  q Esc quit`

// keyCommand maps an OpenCV key code to a live command.
func keyCommand(key int) (live.Command, bool) {
	ops := map[int]live.Op{'n': live.Next, 'p': live.Prev, ' ': live.TogglePause, 's': live.Snapshot,
		'o': live.CycleView, '+': live.Stronger, '=': live.Stronger, '-': live.Weaker, 'f': live.ToggleHUD,
		'h': live.Help, 'q': live.Quit, 27: live.Quit, 'c': live.ToggleColors}
	if op, ok := ops[key]; ok {
		return live.Command{Op: op}, true
	}
	if key >= '1' && key <= '9' {
		return live.Command{Op: live.Pick, Index: key - '1'}, true
	}
	return live.Command{}, false
}

// runLive shows the stylized input in a window (and/or serves it to
// browsers) until q, Esc, the window is closed, or Ctrl-C.
func runLive(o options, size vidstyle.Size, eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
	window := (!o.serve && o.publish == "") || o.window
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cfg := live.Config{
		Loop: o.loop, Frames: int64(o.frames), Window: window, Keys: keyCommand, Bitrate: o.bitrate, Snapshots: o.snapshots,
		StatsPeriod: o.statsPeriod, HelpLines: []string{"n/p style  1-9 pick  space pause  s snapshot", "o original/split  c colours  +/- strength  f HUD  q quit"}, OnHelp: func() { c.line(hotKeys) },
	}
	cfg.Web = o.webCfg // nil without -serve
	cfg.Publish, cfg.StopAtEnd = o.publishConfig(), o.stopAtEnd
	err := eng.Live(ctx, vidstyle.LiveJob{In: o.in, Framerate: o.framerate, Model: o.model, Size: size, Resize: o.resizeTo, Preload: o.preload, Force: o.force, Temporal: new(o.temporal), KeepColors: o.keepColors, Live: cfg})
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Ctrl-C before the first frame: a silent stream's probe, say.
		return exitInterrupted, fmt.Errorf("interrupted while opening %s", o.in)
	case errors.Is(err, stream.ErrDisplay) && !o.serve:
		err = fmt.Errorf("%w (or watch it in a browser with -serve)", err)
	case errors.Is(err, stream.ErrDisplay):
		err = fmt.Errorf("%w (or leave out -window: the browser preview needs no display)", err)
	}
	if err != nil {
		return exitCode(err), err
	}
	return exitOK, nil
}
