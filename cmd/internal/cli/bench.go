package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stylize"
)

const benchUsage = `Usage:
  vidstyle bench [flags]

Measures one model at one size: raw inference (ONNX Runtime alone on a
pre-made tensor), the full pipeline on a real clip (decode, prepare, infer,
finish, H.264 encode to a discarded file), their ratio, time per stage
(median and p95), Go allocations per frame, achieved GFLOP/s against the
machine's peak, and raw frames/s at several scales.

Flags:
`

// benchResult is what vidstyle bench measures (also its -json output).
type benchResult struct {
	Model         string `json:"model"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	Device        string `json:"device"`
	Threads       int    `json:"threads"`
	InterOp       int    `json:"interop_threads"`
	EncodeThreads int    `json:"encode_threads"`
	Spin          bool   `json:"spin"`
	Frames        int64  `json:"frames"`
	RawFrames     int    `json:"raw_frames"`
	// RawFPS, PipelineFPS and Ratio come from the medians of per-frame
	// times (pipeline: the gaps between written frames); the …Mean fields
	// from their means.
	RawFPS          float64      `json:"raw_fps"`
	PipelineFPS     float64      `json:"pipeline_fps"`
	Ratio           float64      `json:"pipeline_over_raw"`
	RawFPSMean      float64      `json:"raw_fps_mean"`
	PipelineFPSMean float64      `json:"pipeline_fps_mean"`
	RatioMean       float64      `json:"pipeline_over_raw_mean"`
	Serial          bool         `json:"serial"`
	Stages          []benchStage `json:"stages"`
	AllocsPerFrame  float64      `json:"go_allocs_per_frame"`
	GFLOPPerFrame   float64      `json:"gflop_per_frame"`
	GFLOPS          float64      `json:"gflops"`
	PeakGFLOPS      float64      `json:"peak_gflops"`
	PeakFormula     string       `json:"peak_formula"`
	Scales          []benchScale `json:"scales"`
	// Ops is ONNX Runtime's own time per operator type (with -profile).
	Ops     []stylize.OpTime `json:"ops,omitempty"`
	Elapsed time.Duration    `json:"elapsed_ns"`
}

type benchStage struct {
	Name     string  `json:"name"`
	MedianMS float64 `json:"median_ms"`
	P95MS    float64 `json:"p95_ms"`
}

type benchScale struct {
	Scale  float64 `json:"scale"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	RawFPS float64 `json:"raw_fps"`
}

// benchMain runs "vidstyle bench".
func benchMain(args []string, stdout, stderr io.Writer) int {
	var o options
	var dir, mirror, ortLib, scales string
	var quiet, asJSON bool
	var sweep string
	var rounds int
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envFlags(fs, &dir, &mirror, &ortLib, &quiet)
	fs.StringVar(&o.model, "model", models.DefaultStyle, "the model: built-in, file, stored or catalog name")
	fs.StringVar(&o.size, "size", "640x360", "processing size WxH")
	fs.StringVar(&o.in, "in", "", "clip for the pipeline run (default: a generated 10 s clip at -size)")
	fs.StringVar(&o.device, "device", stylize.DeviceAuto, "auto, cpu, cuda or tensorrt")
	fs.IntVar(&o.threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	fs.IntVar(&o.interOp, "interop", 0, "ONNX Runtime inter-op threads (above 1: parallel execution mode)")
	fs.IntVar(&o.encThreads, "encode-threads", defaultEncodeThreads(), "H.264 encoder threads in the pipeline run (0: ffmpeg's choice)")
	fs.BoolVar(&o.spin, "spin", false, "let ONNX Runtime's threads spin-wait")
	fs.Int64Var(&o.frames, "frames", 0, "frames per measurement (0: about 10 s of inference, 5 to 300)")
	fs.BoolVar(&o.serial, "serial", false, "double buffering off in the pipeline run")
	fs.StringVar(&scales, "scales", "1,0.75,0.5,0.25", "processing scales for the raw frames/s table")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&o.profile, "profile", false, "also time each operator type with ONNX Runtime's profiler")
	fs.StringVar(&sweep, "sweep", "", "compare settings in interleaved rounds: ;-separated flag sets, e.g. \"default; -threads 1; -serial\" (flags: -threads -interop -encode-threads -spin -serial)")
	fs.IntVar(&rounds, "rounds", 3, "rounds of -sweep (each runs every setting once)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseCommand(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vidstyle: bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	o.modelsDir, o.mirror, o.ortLib, o.quiet = dir, mirror, ortLib, quiet
	o.preset = "veryfast"
	c := newConsole(stderr, quiet, false)
	log := slog.New(&handler{c: c})
	fail := func(err error) int {
		c.line("vidstyle: error: " + oneLine(err))
		return exitError
	}
	if _, err := parseScales(scales); err != nil {
		return fail(err)
	}
	var settings []benchSetting
	if sweep != "" {
		var err error
		if settings, err = parseSweep(sweep, o); err != nil {
			return fail(err)
		}
		if rounds < 1 || rounds > 20 {
			return fail(fmt.Errorf("-rounds %d: use 1 to 20", rounds))
		}
	}
	rt, err := loadRuntime(o.ortLib, log)
	if err != nil {
		return fail(err)
	}
	defer rt.Close()
	printJSON := func(v any) int {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		return exitOK
	}
	if sweep != "" {
		rows, err := benchSweep(rt, settings, rounds, c, log)
		if err != nil {
			return fail(err)
		}
		if asJSON {
			return printJSON(rows)
		}
		printSweep(stdout, rows, rounds)
		return exitOK
	}
	res, err := bench(rt, o, scales, c, log)
	if err != nil {
		return fail(err)
	}
	if asJSON {
		return printJSON(res)
	}
	printBench(stdout, res)
	return exitOK
}

func bench(rt *stylize.Runtime, o options, scaleList string, c *console, log *slog.Logger) (*benchResult, error) {
	start := time.Now()
	w, h, err := parseSize(o.size)
	if err != nil {
		return nil, err
	}
	scales, err := parseScales(scaleList)
	if err != nil {
		return nil, err
	}
	runtimeFn := func() (*stylize.Runtime, error) { return rt, nil }
	ms, err := loadModels([]string{o.model}, models.Store{Dir: o.modelsDir}, o.mirror, c, log, runtimeFn)
	if err != nil {
		return nil, err
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
	res := &benchResult{Model: m.Name, Width: w, Height: h, Threads: o.threads, InterOp: o.interOp, EncodeThreads: o.encThreads, Spin: o.spin, Serial: o.serial,
		GFLOPPerFrame: cost.GFLOPs(w, h)}
	res.PeakGFLOPS, res.PeakFormula = peakGFLOPS()

	// Raw inference: per-frame times of Infer on one prepared tensor.
	raw := func(w, h int, frames int64, profile string) ([]time.Duration, string, error) {
		s, err := stylize.New(rt, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: o.device,
			Threads: o.threads, InterOpThreads: o.interOp, Spin: o.spin, ProfilePrefix: profile, Log: slog.New(slog.DiscardHandler)})
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
	log.Info(fmt.Sprintf("bench: %s at %dx%d: raw inference", m.Name, w, h))
	n := o.frames
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

	// The pipeline on a real clip.
	clip := o.in
	tmp, err := os.MkdirTemp("", "vidstyle-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if clip == "" {
		clip = filepath.Join(tmp, "clip.mp4")
		if err := makeClip("", w, h, clip); err != nil {
			return nil, err
		}
	}
	log.Info(fmt.Sprintf("bench: pipeline on %s, %d frames", clip, n))
	po := o
	po.in, po.out, po.frames, po.size, po.model = clip, filepath.Join(tmp, "out.mp4"), n, fmt.Sprintf("%dx%d", w, h), o.model
	j, _, err := prepare(po, c, slog.New(slog.DiscardHandler), runtimeFn)
	if err != nil {
		return nil, err
	}
	// Allocations are counted in the steady state: from the 10th written
	// frame to the last (the run's start-up allocates goroutines and
	// channels once).
	var ms0, ms1 runtime.MemStats
	steady := min(int64(10), n/2)
	written := make([]time.Time, n+1) // written[k]: when frame k was written
	st, err := j.run(context.Background(), func(k int64) {
		if k <= n {
			written[k] = time.Now()
		}
		switch k {
		case steady:
			runtime.ReadMemStats(&ms0)
		case n:
			runtime.ReadMemStats(&ms1)
		}
	})
	if err == nil {
		err = j.out.Close()
	}
	j.close()
	if err != nil {
		return nil, err
	}
	after, _, err := raw(w, h, half, "")
	if err != nil {
		return nil, err
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
	}{{"decode", st.Read}, {"prepare", st.Prepare}, {"infer", st.Infer}, {"finish", st.Finish}, {"encode", st.Write}} {
		res.Stages = append(res.Stages, benchStage{s.name, millis(s.st.Percentile(50)), millis(s.st.Percentile(95))})
	}

	if o.profile {
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
	for _, f := range scales {
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
		res.Scales = append(res.Scales, benchScale{Scale: f, Width: sw, Height: sh, RawFPS: fps})
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// parseScales reads -scales: a comma-separated list of factors, or
// nothing for no scale table.
func parseScales(list string) ([]float64, error) {
	var scales []float64
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 4 {
			return nil, fmt.Errorf("-scales %q: want numbers like 1,0.5", list)
		}
		scales = append(scales, v)
	}
	return scales, nil
}

// benchSetting is one entry of -sweep: its text and the options it makes.
type benchSetting struct {
	name string
	o    options
}

// parseSweep reads -sweep's ;-separated flag sets on top of base.
func parseSweep(list string, base options) ([]benchSetting, error) {
	var out []benchSetting
	for _, entry := range strings.Split(list, ";") {
		entry = strings.TrimSpace(entry)
		o := base
		fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.IntVar(&o.threads, "threads", o.threads, "")
		fs.IntVar(&o.interOp, "interop", o.interOp, "")
		fs.IntVar(&o.encThreads, "encode-threads", o.encThreads, "")
		fs.BoolVar(&o.spin, "spin", o.spin, "")
		fs.BoolVar(&o.serial, "serial", o.serial, "")
		args := strings.Fields(entry)
		if entry == "default" {
			args = nil
		}
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 || o.threads < 0 || o.interOp < 0 || o.encThreads < 0 {
			return nil, fmt.Errorf("-sweep entry %q: use \"default\" or flags among -threads N -interop N -encode-threads N -spin -serial", entry)
		}
		if entry == "" {
			entry = "default"
		}
		out = append(out, benchSetting{name: entry, o: o})
	}
	return out, nil
}

// sweepRow is one setting's results over the rounds of -sweep.
type sweepRow struct {
	Setting string         `json:"setting"`
	Runs    []*benchResult `json:"runs"`
	// Medians over the rounds.
	RawFPS      float64 `json:"raw_fps"`
	PipelineFPS float64 `json:"pipeline_fps"`
	Ratio       float64 `json:"pipeline_over_raw"`
	RatioMin    float64 `json:"pipeline_over_raw_min"`
	RatioMax    float64 `json:"pipeline_over_raw_max"`
}

// benchSweep runs every setting once per round, the rounds one after
// another, so that the machine's changing load spreads over all settings.
func benchSweep(rt *stylize.Runtime, settings []benchSetting, rounds int, c *console, log *slog.Logger) ([]sweepRow, error) {
	if len(settings) > 0 && settings[0].o.in == "" { // one generated clip for every run
		w, h, err := parseSize(settings[0].o.size)
		if err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp("", "vidstyle-sweep-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		clip := filepath.Join(tmp, "clip.mp4")
		if err := makeClip("", w, h, clip); err != nil {
			return nil, err
		}
		for i := range settings {
			settings[i].o.in = clip
		}
	}
	rows := make([]sweepRow, len(settings))
	for r := range rounds {
		for i, s := range settings {
			log.Info(fmt.Sprintf("bench: round %d of %d: %s", r+1, rounds, s.name))
			res, err := bench(rt, s.o, "", c, log)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
			rows[i].Setting = s.name
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

func printSweep(w io.Writer, rows []sweepRow, rounds int) {
	if len(rows) == 0 || len(rows[0].Runs) == 0 {
		return
	}
	r := rows[0].Runs[0]
	fmt.Fprintf(w, "model %s at %dx%d on %s, %d rounds (medians over the rounds)\n\n", r.Model, r.Width, r.Height, r.Device, rounds)
	fmt.Fprintln(w, "| setting | raw frames/s | pipeline frames/s | pipeline ÷ raw | range |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.3f | %.3f–%.3f |\n", row.Setting, row.RawFPS, row.PipelineFPS, row.Ratio, row.RatioMin, row.RatioMax)
	}
}

// makeClip writes a w×h H.264 clip at path for a pipeline run: from, scaled
// (with its audio), or else 10 s of ffmpeg's test pattern at 30 fps.
func makeClip(from string, w, h int, path string) error {
	args := []string{"-v", "error", "-y"}
	if from != "" {
		args = append(args, "-i", from, "-vf", fmt.Sprintf("scale=%d:%d", w, h), "-c:a", "copy")
	} else {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-t", "10")
	}
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", path)
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

func printBench(w io.Writer, r *benchResult) {
	fmt.Fprintf(w, "model %s at %dx%d on %s (%.3g GFLOP per frame)\n\n", r.Model, r.Width, r.Height, r.Device, r.GFLOPPerFrame)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "raw inference\t%.2f frames/s\t(ONNX Runtime alone, %d frames, half before and half after the pipeline run)\n", r.RawFPS, r.RawFrames)
	fmt.Fprintf(tw, "full pipeline\t%.2f frames/s\t(decode → prepare → infer → finish → H.264, %d frames, double buffering %v)\n", r.PipelineFPS, r.Frames, !r.Serial)
	fmt.Fprintf(tw, "pipeline ÷ raw\t%.3f\t(medians of per-frame times; from the means: %.3f)\n", r.Ratio, r.RatioMean)
	fmt.Fprintf(tw, "achieved\t%.1f GFLOP/s\t%.0f %% of the peak: %s\n", r.GFLOPS, 100*r.GFLOPS/r.PeakGFLOPS, r.PeakFormula)
	fmt.Fprintf(tw, "Go allocations\t%.2f per frame\t(whole process, steady state of the pipeline run)\n", r.AllocsPerFrame)
	tw.Flush()
	fmt.Fprintln(w, "\nstage     median ms   p95 ms")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "%-9s %9.2f %8.2f\n", s.Name, s.MedianMS, s.P95MS)
	}
	if len(r.Ops) > 0 {
		fmt.Fprintln(w, "\noperator (ONNX Runtime's profiler)   ms per frame   share   kernels")
		for _, op := range r.Ops {
			fmt.Fprintf(w, "%-36s %12.2f %6.1f %% %9d\n", op.Op, millis(op.PerRun), 100*op.Share, op.Kernels)
		}
	}
	if len(r.Scales) > 0 {
		fmt.Fprintln(w, "\nscale  size        raw frames/s")
	}
	for _, s := range r.Scales {
		fmt.Fprintf(w, "%-6.2f %-11s %8.2f\n", s.Scale, fmt.Sprintf("%dx%d", s.Width, s.Height), s.RawFPS)
	}
}
