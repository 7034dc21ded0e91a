package vidstyle

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stylize"
)

// BenchResult is what vidstyle bench measures (also its -json output).
type BenchResult struct {
	Model string `json:"model"`
	// Precision is the model's: fp32 or int8.
	Precision string `json:"precision"`
	// Other is the same style at the other precision, when there is one
	// (a quantized sibling, or the float model a quantized one came from),
	// timed in the same run, interleaved with this one.
	Other         *BenchOther `json:"other,omitempty"`
	Width         int         `json:"width"`
	Height        int         `json:"height"`
	Device        string      `json:"device"`
	Threads       int         `json:"threads"`
	InterOp       int         `json:"interop_threads"`
	EncodeThreads int         `json:"encode_threads"`
	Spin          bool        `json:"spin"`
	Frames        int64       `json:"frames"`
	RawFrames     int         `json:"raw_frames"`
	// RawFPS, PipelineFPS and Ratio come from the medians of per-frame
	// times (pipeline: the gaps between written frames); the …Mean fields
	// from their means.
	RawFPS          float64 `json:"raw_fps"`
	PipelineFPS     float64 `json:"pipeline_fps"`
	Ratio           float64 `json:"pipeline_over_raw"`
	RawFPSMean      float64 `json:"raw_fps_mean"`
	PipelineFPSMean float64 `json:"pipeline_fps_mean"`
	RatioMean       float64 `json:"pipeline_over_raw_mean"`
	Serial          bool    `json:"serial"`
	// Temporal is the stabiliser's blend in the pipeline run (0: off).
	Temporal       float64      `json:"temporal"`
	Stages         []BenchStage `json:"stages"`
	AllocsPerFrame float64      `json:"go_allocs_per_frame"`
	GFLOPPerFrame  float64      `json:"gflop_per_frame"`
	GFLOPS         float64      `json:"gflops"`
	// PeakGFLOPS is the CPU's nominal peak, and PeakFormula how it is
	// reckoned; 0 and "" when the model ran on a GPU.
	PeakGFLOPS  float64      `json:"peak_gflops"`
	PeakFormula string       `json:"peak_formula"`
	Scales      []BenchScale `json:"scales"`
	// Ops is ONNX Runtime's own time per operator type (with -profile).
	Ops     []stylize.OpTime `json:"ops,omitempty"`
	Elapsed time.Duration    `json:"elapsed_ns"`
}

// BenchOther is raw inference of the other precision of a style,
// interleaved with the measured one's.
type BenchOther struct {
	Model     string  `json:"model"`
	Precision string  `json:"precision"`
	RawFPS    float64 `json:"raw_fps"`
	// ThisRawFPS is the measured model's raw frames/s in the same rounds;
	// Speedup is RawFPS ÷ ThisRawFPS.
	ThisRawFPS float64 `json:"this_raw_fps"`
	Speedup    float64 `json:"speedup"`
}

// BenchStage is one pipeline stage's time per frame.
type BenchStage struct {
	Name     string  `json:"name"`
	MedianMS float64 `json:"median_ms"`
	P95MS    float64 `json:"p95_ms"`
}

// BenchScale is raw inference at one processing scale.
type BenchScale struct {
	Scale  float64 `json:"scale"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	RawFPS float64 `json:"raw_fps"`
}

// BenchConfig is one vidstyle bench measurement.
type BenchConfig struct {
	// Model is the model (a -model value naming one style; default the
	// built-in default).
	Model string
	// Width and Height are the processing size (default 640x360).
	Width, Height int
	// In is the clip for the pipeline run (default: a generated 10 s clip
	// at the processing size).
	In string
	// Framerate is In's frame rate when it is a numbered image sequence
	// (Job.Framerate); empty: ffmpeg's 25.
	Framerate string
	// Frames per measurement (0: about 10 s of inference, 5 to 300).
	Frames int64
	// Threads, InterOpThreads and Spin set ONNX Runtime as Config does, for
	// this measurement; EncodeThreads and Serial set the pipeline run as
	// Job does.
	Threads, InterOpThreads int
	Spin                    bool
	EncodeThreads           int
	Serial                  bool
	// Temporal is the pipeline run's temporal stabilisation, as in Job
	// (nil: DefaultTemporal; 0: off).
	Temporal *float64
	// Profile also times each operator type with ONNX Runtime's profiler.
	Profile bool
	// Scales are processing scales for the raw frames/s table.
	Scales []float64
}

// BenchSetting is one named entry of a sweep.
type BenchSetting struct {
	Name   string
	Config BenchConfig
}

// Bench measures one model at one size: raw inference (ONNX Runtime alone
// on a pre-made tensor), the full pipeline on a real clip (decode, prepare,
// infer, finish, H.264 encode to a discarded file), their ratio, time per
// stage, Go allocations per frame, achieved GFLOP/s against the machine's
// peak, and raw frames/s at cfg.Scales.
func (e *Engine) Bench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	start := time.Now()
	if cfg.Model == "" {
		cfg.Model = models.DefaultStyle
	}
	if cfg.Width == 0 && cfg.Height == 0 {
		cfg.Width, cfg.Height = 640, 360
	}
	w, h := cfg.Width, cfg.Height
	if err := (Size{Width: w, Height: h}).check(); err != nil {
		return nil, err
	}
	if cfg.Frames < 0 || cfg.Threads < 0 || cfg.InterOpThreads < 0 || cfg.EncodeThreads < 0 {
		return nil, usagef("frames and thread counts cannot be negative")
	}
	for _, f := range cfg.Scales {
		if !(f > 0 && f <= 4) {
			return nil, usagef("scale %v: use numbers above 0 and up to 4", f)
		}
	}
	tempo, err := temporalBlend(cfg.Temporal)
	if err != nil {
		return nil, err
	}
	if cfg.Framerate != "" && cfg.In == "" {
		return nil, usagef("-framerate %s: it is the rate of a numbered image sequence given with -in", cfg.Framerate)
	}
	if _, err := openOptions(cfg.In, cfg.Framerate); err != nil {
		return nil, err // before the measurements: a wrong -framerate is refused at once
	}
	rt, release, err := e.useRuntime()
	if err != nil {
		return nil, err
	}
	defer release() // Close refuses until this call returns
	log := e.log
	ms, err := e.Models(ctx, cfg.Model)
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 {
		return nil, usagef("bench measures one model, not %d", len(ms))
	}
	m := ms[0]
	g, err := models.ParseGraph(m.ONNX)
	if err != nil {
		return nil, err
	}
	cost, err := g.Cost()
	if err != nil {
		return nil, err
	}
	res := &BenchResult{Model: m.Name, Width: w, Height: h, Threads: cfg.Threads, InterOp: cfg.InterOpThreads, EncodeThreads: cfg.EncodeThreads, Spin: cfg.Spin, Serial: cfg.Serial,
		Temporal: tempo, GFLOPPerFrame: cost.GFLOPs(w, h)}
	res.PeakGFLOPS, res.PeakFormula = peakGFLOPS()
	res.Precision = g.Precision()

	// Raw inference: per-frame times of Infer on one prepared tensor.
	rawOf := func(m stylize.Model, w, h int, frames int64, profile string) ([]time.Duration, string, error) {
		s, err := stylize.New(rt, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: e.cfg.Device,
			Threads: cfg.Threads, InterOpThreads: cfg.InterOpThreads, Spin: cfg.Spin, ProfilePrefix: profile, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, "", err
		}
		defer s.Close()
		frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		defer frame.Close()
		gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
		if err := s.Prepare(0, &frame); err != nil {
			return nil, "", err
		}
		if err := s.Infer(0); err != nil { // warm-up
			return nil, "", err
		}
		times := make([]time.Duration, frames)
		for i := range times {
			t0 := time.Now()
			if err := s.Infer(0); err != nil {
				return nil, "", err
			}
			times[i] = time.Since(t0)
		}
		return times, s.Device(), nil
	}
	raw := func(w, h int, frames int64, profile string) ([]time.Duration, string, error) {
		return rawOf(m, w, h, frames, profile)
	}
	log.Info(fmt.Sprintf("bench: %s at %dx%d: raw inference", m.Name, w, h))
	n := cfg.Frames
	if n == 0 { // about 10 s of inference, from one timed frame
		one, _, err := raw(w, h, 1, "")
		if err != nil {
			return nil, err
		}
		n = max(5, min(300, int64(10*time.Second/max(one[0], time.Millisecond))))
	}
	// Raw inference runs half before and half after the pipeline, so that
	// a change of the machine's load during the run weighs on both sides
	// of the ratio alike.
	half := max(3, (n+1)/2)
	before, dev, err := raw(w, h, half, "")
	if err != nil {
		return nil, err
	}
	res.Device = dev
	res.Frames = n
	if dev != stylize.DeviceCPU { // the CPU's nominal peak says nothing of a GPU's
		res.PeakGFLOPS, res.PeakFormula = 0, ""
	}

	// The pipeline on a real clip.
	clip := cfg.In
	tmp, err := os.MkdirTemp("", "vidstyle-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if clip == "" {
		clip = filepath.Join(tmp, "clip.mp4")
		if err := MakeClip("", w, h, clip); err != nil {
			return nil, err
		}
	}
	log.Info(fmt.Sprintf("bench: pipeline on %s, %d frames", clip, n))
	// The pipeline run: a quiet engine sharing this one's runtime, with
	// this measurement's thread settings.
	pe := &Engine{cfg: e.cfg, log: slog.New(slog.DiscardHandler), store: e.store, rt: rt, borrowed: true}
	pe.cfg.Threads, pe.cfg.InterOpThreads, pe.cfg.Spin = cfg.Threads, cfg.InterOpThreads, cfg.Spin
	// Allocations are counted in the steady state: from the 10th written
	// frame to the last (the run's start-up allocates goroutines and
	// channels once).
	var ms0, ms1 runtime.MemStats
	steady := min(int64(10), n/2)
	written := make([]time.Time, n+1) // written[k]: when frame k was written
	onFrame := func(k int64) {
		if k <= n {
			written[k] = time.Now()
		}
		switch k {
		case steady:
			runtime.ReadMemStats(&ms0)
		case n:
			runtime.ReadMemStats(&ms1)
		}
	}
	j, err := pe.Open(ctx, Job{In: clip, Framerate: cfg.Framerate, Out: filepath.Join(tmp, "out.mp4"), Model: cfg.Model, Size: Size{Width: w, Height: h},
		Frames: n, Preset: "veryfast", EncodeThreads: cfg.EncodeThreads, Serial: cfg.Serial, Temporal: new(tempo), OnFrame: onFrame})
	if err != nil {
		return nil, err
	}
	r, err := j.Run(ctx)
	j.Close()
	if err != nil {
		return nil, err
	}
	after, _, err := raw(w, h, half, "")
	if err != nil {
		return nil, err
	}
	if other, ok := e.otherPrecision(m, g); ok {
		log.Info(fmt.Sprintf("bench: %s against %s (%s), raw inference interleaved", other.Name, m.Name, res.Precision))
		var mine, theirs []time.Duration
		k := max(2, half/3)
		for range 3 {
			a, _, err := raw(w, h, k, "")
			if err != nil {
				return nil, err
			}
			b, _, err := rawOf(other, w, h, k, "")
			if err != nil {
				return nil, err
			}
			mine, theirs = append(mine, a...), append(theirs, b...)
		}
		o := &BenchOther{Model: other.Name}
		if og, err := models.ParseGraph(other.ONNX); err == nil { // otherPrecision parsed it
			o.Precision = og.Precision()
		}
		o.ThisRawFPS, _ = rates(mine)
		o.RawFPS, _ = rates(theirs)
		o.Speedup = o.RawFPS / o.ThisRawFPS
		res.Other = o
	}
	rawTimes := append(before, after...)
	res.RawFrames = len(rawTimes)
	res.RawFPS, res.RawFPSMean = rates(rawTimes)
	if n > 1 {
		gaps := make([]time.Duration, 0, n-1)
		for k := int64(2); k <= n; k++ {
			gaps = append(gaps, written[k].Sub(written[k-1]))
		}
		res.PipelineFPS, res.PipelineFPSMean = rates(gaps)
	}
	res.Ratio = res.PipelineFPS / res.RawFPS
	res.RatioMean = res.PipelineFPSMean / res.RawFPSMean
	res.GFLOPS = res.GFLOPPerFrame * res.RawFPS
	if n > steady {
		res.AllocsPerFrame = float64(ms1.Mallocs-ms0.Mallocs) / float64(n-steady)
	}
	for _, s := range []struct {
		name string
		st   pipeline.StageStats
	}{{"decode", r.Stats.Read}, {"prepare", r.Stats.Prepare}, {"infer", r.Stats.Infer}, {"finish", r.Stats.Finish}, {"encode", r.Stats.Write}} {
		res.Stages = append(res.Stages, BenchStage{s.name, millis(s.st.Percentile(50)), millis(s.st.Percentile(95))})
	}

	if cfg.Profile {
		// A separate short run with ONNX Runtime's profiler on (it costs a
		// little per operator, so the timed runs above go without it).
		log.Info(fmt.Sprintf("bench: profiling %s at %dx%d", m.Name, w, h))
		prefix := filepath.Join(tmp, "profile")
		if _, _, err := raw(w, h, min(n, 5), prefix); err != nil {
			return nil, err
		}
		if res.Ops, err = stylize.ReadProfile(prefix); err != nil {
			return nil, err
		}
	}
	for _, f := range cfg.Scales {
		sw, sh := int(float64(w)*f+0.5), int(float64(h)*f+0.5)
		if sw < stylize.MinSize || sh < stylize.MinSize {
			continue
		}
		log.Info(fmt.Sprintf("bench: raw inference at %dx%d", sw, sh))
		k := max(3, int64(float64(n)*min(1, 1/(f*f))/4))
		times, _, err := raw(sw, sh, k, "")
		if err != nil {
			return nil, err
		}
		fps, _ := rates(times)
		res.Scales = append(res.Scales, BenchScale{Scale: f, Width: sw, Height: sh, RawFPS: fps})
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// SweepRow is one setting's results over the rounds of -sweep.
type SweepRow struct {
	Setting string         `json:"setting"`
	Runs    []*BenchResult `json:"runs"`
	// Medians over the rounds.
	RawFPS      float64 `json:"raw_fps"`
	PipelineFPS float64 `json:"pipeline_fps"`
	Ratio       float64 `json:"pipeline_over_raw"`
	RatioMin    float64 `json:"pipeline_over_raw_min"`
	RatioMax    float64 `json:"pipeline_over_raw_max"`
}

// BenchSweep runs every setting once per round, the rounds one after
// another, so that the machine's changing load spreads over all settings;
// rows hold the medians over the rounds.
func (e *Engine) BenchSweep(ctx context.Context, settings []BenchSetting, rounds int) ([]SweepRow, error) {
	if rounds < 1 || rounds > 20 {
		return nil, usagef("-rounds %d: use 1 to 20", rounds)
	}
	if len(settings) > 0 && settings[0].Config.In == "" { // one generated clip for every run
		w, h := settings[0].Config.Width, settings[0].Config.Height
		if w == 0 && h == 0 {
			w, h = 640, 360
		}
		tmp, err := os.MkdirTemp("", "vidstyle-sweep-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		clip := filepath.Join(tmp, "clip.mp4")
		if err := MakeClip("", w, h, clip); err != nil {
			return nil, err
		}
		for i := range settings {
			settings[i].Config.In = clip
		}
	}
	rows := make([]SweepRow, len(settings))
	for r := range rounds {
		for i, s := range settings {
			e.log.Info(fmt.Sprintf("bench: round %d of %d: %s", r+1, rounds, s.Name))
			c := s.Config
			c.Scales = nil
			res, err := e.Bench(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			rows[i].Setting = s.Name
			rows[i].Runs = append(rows[i].Runs, res)
		}
	}
	for i := range rows {
		var raw, pipe, ratio []float64
		for _, res := range rows[i].Runs {
			raw, pipe, ratio = append(raw, res.RawFPS), append(pipe, res.PipelineFPS), append(ratio, res.Ratio)
		}
		rows[i].RawFPS, rows[i].PipelineFPS, rows[i].Ratio = median(raw), median(pipe), median(ratio)
		rows[i].RatioMin, rows[i].RatioMax = slices.Min(ratio), slices.Max(ratio)
	}
	return rows, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MakeClip writes a w×h H.264 clip at path for a pipeline run: from, scaled
// (with its audio), or else 10 s of ffmpeg's test pattern at 30 fps.
func MakeClip(from string, w, h int, path string) error {
	args := []string{"-v", "error", "-y"}
	if from != "" {
		args = append(args, "-i", media.FileArg(from), "-vf", fmt.Sprintf("scale=%d:%d", w, h), "-c:a", "copy")
	} else {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-t", "10")
	}
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", media.FileArg(path))
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("making a clip with ffmpeg: %v %s", err, out)
	}
	return nil
}

// rates turns per-frame times into frames/s twice: from their median
// (robust to the bursts of a shared machine) and from their mean.
func rates(times []time.Duration) (median, mean float64) {
	if len(times) == 0 {
		return 0, 0
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	var sum time.Duration
	for _, t := range sorted {
		sum += t
	}
	mid := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		mid = (sorted[len(sorted)/2-1] + mid) / 2
	}
	return 1 / mid.Seconds(), float64(len(sorted)) / sum.Seconds()
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakGFLOPS is the machine's nominal FP32 peak: cores × FLOP per cycle ×
// clock. 32 FLOP per cycle is two FMA units on 8-wide vectors (AVX2, or
// AVX-512 at half rate), the EPYC's figure; the clock comes from
// /proc/cpuinfo.
func peakGFLOPS() (float64, string) {
	ghz := 2.6
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
				if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 0 {
					ghz = mhz / 1000
				}
				break
			}
		}
	}
	cores := runtime.NumCPU()
	peak := float64(cores) * 32 * ghz
	return peak, fmt.Sprintf("%d cores × 32 FLOP/cycle × %.2f GHz = %.0f GFLOP/s", cores, ghz, peak)
}
