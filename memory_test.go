package vidstyle_test

import (
	"context"
	"log/slog"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/pipeline"
)

type discard struct{}

func (discard) Write(pipeline.Frame[*gocv.Mat]) error { return nil }

// TestNoCMemoryGrowth: 2000 frames through the pipeline (small.mp4 looped,
// the built-in style at 64x36) keep the resident memory flat after
// warm-up, and the pools hold only what they started with.
func TestNoCMemoryGrowth(t *testing.T) {
	file, err := capture.Open(testmedia.SmallMP4(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	p := file.Props()
	styles, err := newEngine(t, vidstyle.Config{}).Styles(context.Background(), vidstyle.StyleConfig{Model: "toon", FrameWidth: p.Width, FrameHeight: p.Height,
		Size: vidstyle.Size{Width: 64, Height: 36}})
	if err != nil {
		t.Fatal(err)
	}
	defer styles.Close()
	in, out := capture.NewMatPool(), capture.NewMatPool()
	defer in.Close()
	defer out.Close()
	src := capture.Limit(capture.Loop(file, nil), 2000)
	var warm, end int64
	_, err = pipeline.Run(context.Background(), pipeline.Config{OnFrame: func(n int64) {
		switch n {
		case 500:
			warm = testmedia.RSS(t)
		case 2000:
			end = testmedia.RSS(t)
		}
	}}, src, styles.Swap(), discard{}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	growth := float64(end-warm) / float64(warm)
	t.Logf("resident memory: %d MB after 500 frames, %d MB after 2000 (%+.1f %%); buffers: %d in, %d out",
		warm>>20, end>>20, 100*growth, in.Live(), out.Live())
	if growth > 0.10 {
		t.Errorf("resident memory grew %.1f %% from frame 500 to 2000", 100*growth)
	}
	if in.Live() > 8 || out.Live() > 8 {
		t.Errorf("pools grew: %d in, %d out", in.Live(), out.Live())
	}
}
