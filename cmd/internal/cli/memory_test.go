package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/cmd/internal/testmedia"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stylize"
)

// loopSource plays a file source over and over, n frames in all.
type loopSource struct {
	src  capture.Source
	left int
	next int64
}

func (l *loopSource) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if l.left == 0 {
		return pipeline.Timing{}, io.EOF
	}
	_, err := l.src.Read(dst)
	if errors.Is(err, io.EOF) {
		if err := l.src.(capture.Rewinder).Rewind(); err != nil {
			return pipeline.Timing{}, err
		}
		_, err = l.src.Read(dst)
	}
	if err != nil {
		return pipeline.Timing{}, err
	}
	l.left--
	l.next++
	return pipeline.Timing{Index: l.next - 1}, nil
}

type discard struct{}

func (discard) Write(pipeline.Frame[*gocv.Mat]) error { return nil }

// rss is this process's resident memory in bytes.
func rss(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(data))[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestNoCMemoryGrowth: 2000 frames through the pipeline (small.mp4 looped,
// the built-in style at 64x36) keep the resident memory flat after
// warm-up, and the pools hold only what they started with.
func TestNoCMemoryGrowth(t *testing.T) {
	o := options{in: testmedia.SmallMP4(t), out: filepath.Join(t.TempDir(), "unused.mp4"), model: "toon", size: "64x36", device: stylize.DeviceCPU, preset: "veryfast"}
	j, _, err := prepare(o, &console{w: io.Discard}, slog.New(slog.DiscardHandler), func() (*stylize.Runtime, error) { return benchRT, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	src := &loopSource{src: j.src.(capture.Source), left: 2000}
	var warm, end int64
	_, err = pipeline.Run(context.Background(), pipeline.Config{OnFrame: func(n int64) {
		switch n {
		case 500:
			warm = rss(t)
		case 2000:
			end = rss(t)
		}
	}}, src, j.styles.swap, discard{}, j.in, j.outPool)
	if err != nil {
		t.Fatal(err)
	}
	growth := float64(end-warm) / float64(warm)
	t.Logf("resident memory: %d MB after 500 frames, %d MB after 2000 (%+.1f %%); buffers: %d in, %d out",
		warm>>20, end>>20, 100*growth, j.in.Live(), j.outPool.Live())
	if growth > 0.10 {
		t.Errorf("resident memory grew %.1f %% from frame 500 to 2000", 100*growth)
	}
	if j.in.Live() > 8 || j.outPool.Live() > 8 {
		t.Errorf("pools grew: %d in, %d out", j.in.Live(), j.outPool.Live())
	}
}
