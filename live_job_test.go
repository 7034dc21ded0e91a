package vidstyle_test

import (
	"context"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream/web"
)

// TestLiveOnStartSendsCommands: LiveJob.OnStart's commands are answered
// and in effect from the first frame on. OnStart was called before the
// engine ran, and its first command waited for ever.
func TestLiveOnStartSendsCommands(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var le *live.Engine
	var style, strength web.State
	var styleErr, strengthErr error
	shown := int64(-1)
	err := e.Live(ctx, vidstyle.LiveJob{In: testmedia.SmallMP4(t), Model: "toon,pencil", Size: vidstyle.Size{Width: 64, Height: 36},
		Live: live.Config{Unpaced: true, StopAtEnd: true, StatsPeriod: time.Hour},
		OnStart: func(l *live.Engine) {
			le = l
			style, styleErr = l.Do(ctx, live.Command{Op: live.Next})
			strength, strengthErr = l.SetStrength(ctx, 0.5)
			shown = l.Shown()
		}})
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	if styleErr != nil || style.Style != 1 || strengthErr != nil || strength.Strength != 0.5 {
		t.Fatalf("OnStart's commands: next %+v (%v), strength %+v (%v)", style, styleErr, strength, strengthErr)
	}
	if shown != 0 {
		t.Errorf("%d frames shown before OnStart returned", shown)
	}
	if st := le.State(); st.Style != 1 || st.Strength != 0.5 || le.Shown() == 0 {
		t.Errorf("after Live: %+v, %d frames shown", st, le.Shown())
	}
}
