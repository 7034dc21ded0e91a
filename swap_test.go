package vidstyle_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// styleAlone runs each frame through one model by itself.
func styleAlone(t *testing.T, name string, frames []gocv.Mat) []gocv.Mat {
	s, err := stylize.New(sharedRT, testort.Models(t, name)[0], stylize.Config{FrameWidth: frames[0].Cols(), FrameHeight: frames[0].Rows(), Device: stylize.DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := make([]gocv.Mat, len(frames))
	for i := range frames {
		out[i] = gocv.NewMat()
		if err := s.Prepare(0, &frames[i]); err != nil {
			t.Fatal(err)
		}
		if err := s.Infer(0); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(0, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range out {
			m.Close()
		}
	})
	return out
}

// TestSwitchWhileTranscoding: a switch from toon to pencil requested while
// small.mp4 is transcoded gives one frame k before which every frame is
// toon's and from which every frame is pencil's, with all 166 frames.
func TestSwitchWhileTranscoding(t *testing.T) {
	in := testmedia.SmallMP4(t)
	src := testmedia.DecodeAll(t, in)
	refA, refB := styleAlone(t, "toon", src), styleAlone(t, "pencil", src)
	e := newEngine(t, vidstyle.Config{})
	for _, preload := range []bool{true, false} {
		out := filepath.Join(t.TempDir(), "switch.mp4")
		request := make(chan struct{})
		tr, err := e.Open(context.Background(), vidstyle.Job{In: in, Out: out, Model: "toon,pencil", Preset: "veryfast", Preload: preload,
			OnFrame: func(n int64) {
				if n == 60 {
					close(request)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		switched := make(chan error, 1)
		go func() {
			<-request
			switched <- tr.Styles().Switch(1)
		}()
		_, err = tr.Run(context.Background()) // closes the output file
		if err == nil {
			err = <-switched
		}
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := testmedia.DecodeAll(t, out)
		if len(got) != len(src) {
			t.Fatalf("preload=%v: %d frames out of %d", preload, len(got), len(src))
		}
		k := -1
		for i := range got {
			a, b := testmedia.PSNR(got[i], refA[i]), testmedia.PSNR(got[i], refB[i])
			isB := b > a
			// Stabilised (the default) and H.264-coded, a frame is
			// within about 30 dB of its style painting it alone; the
			// other style is about 6 dB away.
			if max(a, b) < 26 {
				t.Errorf("preload=%v: frame %d matches neither style alone (%.1f / %.1f dB)", preload, i, a, b)
			}
			switch {
			case isB && k < 0:
				k = i
			case !isB && k >= 0:
				t.Fatalf("preload=%v: frame %d is toon's again after the switch at %d", preload, i, k)
			}
		}
		if k < 60 {
			t.Fatalf("preload=%v: switch at frame %d, requested after 60 were written", preload, k)
		}
		t.Logf("preload=%v: frames 0..%d toon, %d..165 pencil", preload, k-1, k)
	}
}

// TestSwitchToABrokenModelIsRefused: the current style keeps running.
func TestSwitchToABrokenModelIsRefused(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.onnx")
	// A well-formed graph with an operator no runtime has.
	toon, _ := models.LookupBuiltin("toon")
	if err := os.WriteFile(broken, bytes.Replace(toon.ONNX(), []byte("Floor"), []byte("Flxor"), -1), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := newEngine(t, vidstyle.Config{}).Open(context.Background(), vidstyle.Job{In: testmedia.SmallMP4(t), Out: filepath.Join(dir, "o.mp4"), Model: "toon," + broken, Preset: "veryfast", Frames: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Styles().Switch(1); err == nil || !strings.Contains(err.Error(), "switch to broken refused") {
		t.Fatalf("err = %v", err)
	}
	if tr.Styles().Swap().Active() != "toon" {
		t.Fatalf("active %s", tr.Styles().Swap().Active())
	}
}

// BenchmarkSwitchLatency measures the time from a switch request to the
// first finished frame in the new style, with the styles preloaded and
// loaded on demand, at 320x180.
//
//	go test . -run '^$' -bench SwitchLatency -benchtime 5x
func BenchmarkSwitchLatency(b *testing.B) {
	spec := "toon,pencil"
	shared := filepath.Join(repoRoot(), "..", "shared", "models")
	if _, err := os.Stat(filepath.Join(shared, "udnie.onnx")); err == nil {
		spec = filepath.Join(shared, "udnie.onnx") + "," + filepath.Join(shared, "wave.onnx")
	}
	for _, preload := range []bool{true, false} {
		name := "on-demand"
		if preload {
			name = "preloaded"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, vidstyle.Config{})
			var total time.Duration
			for range b.N {
				request := make(chan struct{})
				tr, err := e.Open(context.Background(), vidstyle.Job{In: testmedia.SmallMP4(b), Out: filepath.Join(b.TempDir(), "o.mp4"), Model: spec,
					Size: vidstyle.Size{Width: 320, Height: 180}, Preset: "veryfast", Preload: preload, Frames: 40,
					OnFrame: func(n int64) {
						if n == 10 {
							close(request)
						}
					}})
				if err != nil {
					b.Fatal(err)
				}
				var asked time.Time
				seen := make(chan time.Duration, 1)
				tr.Styles().Swap().OnFirstFrame(func(string) { seen <- time.Since(asked) })
				go func() {
					<-request
					asked = time.Now()
					if err := tr.Styles().Switch(1); err != nil {
						b.Error(err)
					}
				}()
				if _, err := tr.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				tr.Close()
				total += <-seen
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/switch")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestSwitchToAQuantizedStyleAndBack: a job over small.mp4 with toon and
// an INT8 style (the Johnson test graph quantized by models.Quantize),
// switched to the INT8 style after 10 frames and back 10 frames after its
// first frame came out, with the styles preloaded and loaded on demand,
// gives toon's frames, then the INT8 style's (as it paints alone, at
// 160x96), then toon's again, all 166; the set lists the INT8 style with
// its precision.
func TestSwitchToAQuantizedStyleAndBack(t *testing.T) {
	dir := t.TempDir()
	johnson := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 3})
	noise := func(seed uint64) models.CalibImage {
		r := rand.New(rand.NewPCG(seed, 2))
		px := make([]float32, 3*96*64)
		for i := range px {
			px[i] = float32(r.IntN(256))
		}
		return models.CalibImage{Width: 96, Height: 64, Pixels: px}
	}
	q, _, err := models.Quantize(johnson, stylize.Evaluator{Runtime: sharedRT}, models.QuantizeOptions{Images: []models.CalibImage{noise(1), noise(2)}, Source: "noise", Name: "johnson"})
	if err != nil {
		t.Fatal(err)
	}
	qPath := filepath.Join(dir, "johnson.int8.onnx")
	if err := os.WriteFile(qPath, q, 0o644); err != nil {
		t.Fatal(err)
	}
	in := testmedia.SmallMP4(t)
	src := testmedia.DecodeAll(t, in)
	alone := func(name string, graph []byte) []gocv.Mat {
		s, err := stylize.New(sharedRT, stylize.Model{Name: name, ONNX: graph}, stylize.Config{FrameWidth: src[0].Cols(), FrameHeight: src[0].Rows(), Width: 160, Height: 96, Device: stylize.DeviceCPU})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := make([]gocv.Mat, len(src))
		for i := range src {
			out[i] = gocv.NewMat()
			t.Cleanup(func() { out[i].Close() })
			if err := s.Prepare(0, &src[i]); err != nil {
				t.Fatal(err)
			}
			if err := s.Infer(0); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(0, &out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	toon, _ := models.LookupBuiltin("toon")
	refToon, refInt8 := alone("toon", toon.ONNX()), alone("johnson.int8", q)
	e := newEngine(t, vidstyle.Config{})
	off := 0.0 // every frame painted on its own, as alone
	for _, preload := range []bool{true, false} {
		out := filepath.Join(t.TempDir(), "switch.mp4")
		frames := make(chan int64, len(src))
		var written atomic.Int64
		tr, err := e.Open(context.Background(), vidstyle.Job{In: in, Out: out, Model: "toon," + qPath, Preset: "veryfast", Preload: preload,
			Size: vidstyle.Size{Width: 160, Height: 96}, Temporal: &off, OnFrame: func(n int64) {
				written.Store(n)
				frames <- n
			}})
		if err != nil {
			t.Fatal(err)
		}
		if p := tr.Styles().Precisions(); strings.Join(p, ",") != "fp32,int8" || tr.Styles().Label("johnson.int8") != "johnson.int8 (int8)" {
			t.Errorf("precisions %v, label %q", p, tr.Styles().Label("johnson.int8"))
		}
		shown := make(chan struct{})
		tr.Styles().Swap().OnFirstFrame(func(name string) {
			if name == "johnson.int8" {
				close(shown)
			}
		})
		switched := make(chan error, 1)
		go func() {
			for n := range frames {
				if n == 10 {
					break
				}
			}
			err := tr.Styles().Switch(1)
			if err == nil {
				<-shown
				m := written.Load()
				for n := range frames {
					if n >= m+10 {
						break
					}
				}
				err = tr.Styles().Switch(0)
			}
			switched <- err
		}()
		_, err = tr.Run(context.Background())
		if err == nil {
			err = <-switched
		}
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := testmedia.DecodeAll(t, out)
		if len(got) != len(src) {
			t.Fatalf("preload=%v: %d frames out of %d", preload, len(got), len(src))
		}
		var runs []string // the style of each run of frames, in order
		var bounds []int
		worst := math.Inf(1)
		for i := range got {
			a, b := testmedia.PSNR(got[i], refToon[i]), testmedia.PSNR(got[i], refInt8[i])
			worst = min(worst, max(a, b))
			if max(a, b) < 25 {
				t.Errorf("preload=%v: frame %d matches neither style alone (toon %.1f / int8 %.1f dB)", preload, i, a, b)
			}
			style := map[bool]string{false: "toon", true: "int8"}[b > a]
			if len(runs) == 0 || runs[len(runs)-1] != style {
				runs = append(runs, style)
				bounds = append(bounds, i)
			}
		}
		if strings.Join(runs, ",") != "toon,int8,toon" || bounds[1] < 10 || bounds[2]-bounds[1] < 10 {
			t.Fatalf("preload=%v: styles %v from frames %v, want toon, int8 from ≥ 10 for ≥ 10 frames, toon", preload, runs, bounds)
		}
		t.Logf("preload=%v: frames 0..%d toon, %d..%d int8, %d..%d toon; worst PSNR against its style alone %.1f dB", preload, bounds[1]-1, bounds[1], bounds[2]-1, bounds[2], len(got)-1, worst)
	}
}
