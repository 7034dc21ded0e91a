package live

import (
	"context"
	"fmt"
	"sync"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/stream"
)

// startPublish starts the publisher: the stylized frames, without the
// HUD, through a newest-wins mailbox to an ffmpeg that pushes them at a
// steady rate (the source's unless Config.Publish says). Its notice
// ("publish: reconnecting (…)") shows in the HUD and the web state.
func (e *Engine) startPublish(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := *e.cfg.Publish
	props := e.src.Props()
	cfg.Width, cfg.Height = props.Width, props.Height
	if (cfg.Rate.Num <= 0 || cfg.Rate.Den <= 0) && props.Kind != capture.KindImage {
		cfg.Rate = props.Rate // a still picture's 1 fps would be a stream few players start
	}
	if cfg.Rate.Num <= 0 || cfg.Rate.Den <= 0 || cfg.Rate.FPS() > 120 {
		cfg.Rate = capture.RateFromFloat(30)
	}
	if props.Kind != capture.KindFile {
		cfg.Audio = "" // a camera or a live stream: no audio to take along
	}
	cfg.Loop = e.cfg.Loop
	cfg.Log = e.log
	cfg.OnNotice = func(s string) {
		e.mu.Lock()
		e.pubNotice = s
		e.mu.Unlock()
	}
	pub, err := stream.NewPublisher(cfg)
	if err != nil {
		return err
	}
	e.pub = pub
	audio := "no audio"
	if cfg.Audio != "" {
		audio = "audio from " + cfg.Audio
	}
	e.log.Info(fmt.Sprintf("publish: %s, H.264 %dx%d at %v fps, %d kbit/s, %s", stream.Redact(cfg.Target), cfg.Width&^1, cfg.Height&^1, cfg.Rate, pub.Kbps(), audio))
	wg.Add(1)
	e.pubDone = make(chan struct{})
	go func() { defer wg.Done(); defer close(e.pubDone); pub.Run(ctx) }()
	return nil
}

// PublishStats are the publisher's counts (zero without one); call it
// after Run returned or while it runs.
func (e *Engine) PublishStats() stream.PublishStats {
	if e.pub == nil {
		return stream.PublishStats{}
	}
	return e.pub.Stats()
}
