package vidstyle

import (
	"context"
	"fmt"
	"slices"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stream"
)

// LiveJob is a live preview to run: a camera ("cam:N") or a file played as
// one, in the styles of Model, shown and served as Live says.
type LiveJob struct {
	In    string
	Model string // a -model value (default models.DefaultStyle)
	// Framerate is an image sequence input's frame rate, as in Job.
	Framerate string
	Size      Size
	// Resize is the size the picture is shown and sent at, as in Job.
	Resize  Size
	Preload bool
	// Force runs a job that looks too big for the free memory anyway.
	Force bool
	// Temporal is the temporal stabilisation's blend, as in Job (nil:
	// DefaultTemporal; 0: off). A loop of the file, a reconnect and a
	// style switch start it afresh.
	Temporal *float64
	// KeepColors starts with colour preservation on (a key and the web
	// page turn it on and off).
	KeepColors bool
	// Live configures the live engine; its Source, Reopen and Styles are
	// filled in by Live.
	Live live.Config
	// OnStart, if set, is called with the running engine (to send it
	// commands) before its first frame: what it sets and waits for (Do,
	// SetStrength, SetStyle …) applies from the first frame on. It is
	// live.Config.OnStart (called before Live.OnStart when both are
	// set): Live waits for it to return.
	OnStart func(*live.Engine)
}

// Live opens the job's source and styles and runs the live engine until
// ctx ends, the Quit command, or the window is closed.
func (e *Engine) Live(ctx context.Context, job LiveJob) error {
	if job.Model == "" {
		job.Model = models.DefaultStyle
	}
	if job.Live.Window {
		if err := stream.CheckDisplay(); err != nil {
			return err
		}
	}
	open, err := openOptions(job.In, job.Framerate)
	if err != nil {
		return err
	}
	// Published once and ended, a logo GIF is the one-frame video it was.
	open.GIFAsVideo = job.Live.StopAtEnd
	src, err := e.openSource(ctx, job.In, open)
	if err != nil {
		return err
	}
	if p := src.Props(); p.Kind == capture.KindImage && job.Live.StopAtEnd {
		// Published once, a picture is a stream of one frame.
		src.Close()
		return usagef("input %s is an image: add -live to keep the stylized picture on the stream, or give -out FILE for the stylized image", job.In)
	}
	// Non-square pixels are shown at their display shape, as players do.
	raw := src.Props()
	src = capture.SquarePixels(src)
	p := src.Props()
	if p.Width != raw.Width {
		e.log.Info(fmt.Sprintf("%s has pixels of aspect %d:%d: shown at %dx%d, as players show it", job.In, raw.SAR.Num, raw.SAR.Den, p.Width, p.Height))
	}
	r, err := e.resized(src, job.Resize, true)
	if err != nil {
		src.Close()
		return err
	}
	src, p = r, r.Props()
	tempo, err := temporalBlend(job.Temporal)
	if err != nil {
		src.Close()
		return err
	}
	job.Size = e.oriented(job.Size, p.Width, p.Height)
	if err := e.checkMemory(job.Model, p.Width, p.Height, job.Size, job.Preload, job.Force, false); err != nil {
		src.Close()
		return err
	}
	styles, err := e.Styles(ctx, StyleConfig{Model: job.Model, FrameWidth: p.Width, FrameHeight: p.Height, Size: job.Size, Preload: job.Preload, Temporal: tempo, KeepColors: job.KeepColors})
	if err != nil {
		src.Close()
		return err
	}
	defer styles.Close()
	cfg := job.Live
	cfg.Source, cfg.Styles = src, styles
	cfg.Reopen = func() (capture.Source, error) {
		s, err := capture.OpenWith(ctx, job.In, open, e.log)
		if err != nil {
			return nil, err
		}
		sq := capture.SquarePixels(s)
		r, err := e.resized(sq, job.Resize, false)
		if err != nil {
			sq.Close()
			return nil, err
		}
		return r, nil
	}
	if cfg.Publish != nil {
		// A file's audio goes out with the published video.
		pc := *cfg.Publish
		if p.Kind == capture.KindFile && pc.Audio == "" && p.Media != nil && slices.ContainsFunc(p.Media.Streams, func(s media.Stream) bool { return s.Type == "audio" }) {
			pc.Audio = p.Media.Path // as ffmpeg reads it (media.FileArg)
		}
		cfg.Publish = &pc
	}
	if cfg.Log == nil {
		cfg.Log = e.log
	}
	if job.OnStart != nil {
		// Called by Run once its paint loop answers commands: called
		// before Run, a command waited for ever.
		then := cfg.OnStart
		cfg.OnStart = func(l *live.Engine) {
			job.OnStart(l)
			if then != nil {
				then(l)
			}
		}
	}
	eng, err := live.New(cfg)
	if err != nil {
		src.Close()
		return err
	}
	w, h := styles.First().Size()
	keys := ""
	if cfg.Window {
		keys = "; press h in the window for keys"
	}
	e.log.Info(fmt.Sprintf("live: %s (%dx%d) with %s at %dx%d on %s%s", job.In, p.Width, p.Height, styles.Names()[0], w, h, styles.First().Device(), keys))
	e.hintTemporalOnGPU(tempo, styles.First().Device())
	return outOfMemory(eng.Run(ctx))
}
