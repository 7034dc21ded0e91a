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
	Model          string        `json:"model"`
	Width          int           `json:"width"`
	Height         int           `json:"height"`
	Device         string        `json:"device"`
	Threads        int           `json:"threads"`
	Spin           bool          `json:"spin"`
	Frames         int64         `json:"frames"`
	RawFPS         float64       `json:"raw_fps"`
	PipelineFPS    float64       `json:"pipeline_fps"`
	Ratio          float64       `json:"pipeline_over_raw"`
	Serial         bool          `json:"serial"`
	Stages         []benchStage  `json:"stages"`
	AllocsPerFrame float64       `json:"go_allocs_per_frame"`
	GFLOPPerFrame  float64       `json:"gflop_per_frame"`
	GFLOPS         float64       `json:"gflops"`
	PeakGFLOPS     float64       `json:"peak_gflops"`
	PeakFormula    string        `json:"peak_formula"`
	Scales         []benchScale  `json:"scales"`
	Elapsed        time.Duration `json:"elapsed_ns"`
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
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envFlags(fs, &dir, &mirror, &ortLib, &quiet)
	fs.StringVar(&o.model, "model", models.DefaultStyle, "the model: built-in, file, stored or catalog name")
	fs.StringVar(&o.size, "size", "640x360", "processing size WxH")
	fs.StringVar(&o.in, "in", "", "clip for the pipeline run (default: a generated 10 s clip at -size)")
	fs.StringVar(&o.device, "device", stylize.DeviceAuto, "auto, cpu, cuda or tensorrt")
	fs.IntVar(&o.threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	fs.BoolVar(&o.spin, "spin", false, "let ONNX Runtime's threads spin-wait")
	fs.Int64Var(&o.frames, "frames", 0, "frames per measurement (0: about 10 s of inference, 5 to 300)")
	fs.BoolVar(&o.serial, "serial", false, "double buffering off in the pipeline run")
	fs.StringVar(&scales, "scales", "1,0.75,0.5,0.25", "processing scales for the raw frames/s table")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
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
	res, err := bench(o, scales, c, log)
	if err != nil {
		c.line("vidstyle: error: " + oneLine(err))
		return exitError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
		return exitOK
	}
	printBench(stdout, res)
	return exitOK
}

func bench(o options, scaleList string, c *console, log *slog.Logger) (*benchResult, error) {
	start := time.Now()
	w, h, err := parseSize(o.size)
	if err != nil {
		return nil, err
	}
	var scales []float64
	for _, f := range strings.Split(scaleList, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 4 {
			return nil, fmt.Errorf("-scales %q: want numbers like 1,0.5", scaleList)
		}
		scales = append(scales, v)
	}
	rt, err := loadRuntime(o.ortLib, log)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
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
	res := &benchResult{Model: m.Name, Width: w, Height: h, Threads: o.threads, Spin: o.spin, Serial: o.serial,
		GFLOPPerFrame: cost.GFLOPs(w, h)}
	res.PeakGFLOPS, res.PeakFormula = peakGFLOPS()

	// Raw inference at the size, and the number of frames for ~10 s.
	raw := func(w, h int, frames int64) (float64, string, error) {
		s, err := stylize.New(rt, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: o.device, Threads: o.threads, Spin: o.spin, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			return 0, "", err
		}
		defer s.Close()
		frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		defer frame.Close()
		gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
		if err := s.Prepare(0, &frame); err != nil {
			return 0, "", err
		}
		if err := s.Infer(0); err != nil { // warm-up
			return 0, "", err
		}
		if frames == 0 { // about 10 s
			t0 := time.Now()
			s.Infer(0)
			frames = max(5, min(300, int64(10*time.Second/max(time.Since(t0), time.Millisecond))))
		}
		t0 := time.Now()
		for range frames {
			if err := s.Infer(0); err != nil {
				return 0, "", err
			}
		}
		return float64(frames) / time.Since(t0).Seconds(), s.Device(), nil
	}
	log.Info(fmt.Sprintf("bench: %s at %dx%d: raw inference", m.Name, w, h))
	var n int64 = o.frames
	if n == 0 {
		// Size the run from one timed inference inside raw().
		fps, dev, err := raw(w, h, 0)
		if err != nil {
			return nil, err
		}
		n = max(5, min(300, int64(fps*10)))
		res.RawFPS, res.Device = fps, dev
	} else {
		if res.RawFPS, res.Device, err = raw(w, h, n); err != nil {
			return nil, err
		}
	}
	res.Frames = n
	res.GFLOPS = res.GFLOPPerFrame * res.RawFPS

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
	var first, last time.Time
	var ms0, ms1 runtime.MemStats
	steady := min(int64(10), n/2)
	st, err := j.run(context.Background(), func(k int64) {
		last = time.Now()
		switch k {
		case 1:
			first = last
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
	if n > 1 {
		res.PipelineFPS = float64(n-1) / last.Sub(first).Seconds()
	}
	res.Ratio = res.PipelineFPS / res.RawFPS
	if n > steady {
		res.AllocsPerFrame = float64(ms1.Mallocs-ms0.Mallocs) / float64(n-steady)
	}
	for _, s := range []struct {
		name string
		st   pipeline.StageStats
	}{{"decode", st.Read}, {"prepare", st.Prepare}, {"infer", st.Infer}, {"finish", st.Finish}, {"encode", st.Write}} {
		res.Stages = append(res.Stages, benchStage{s.name, millis(s.st.Percentile(50)), millis(s.st.Percentile(95))})
	}

	for _, f := range scales {
		sw, sh := int(float64(w)*f+0.5), int(float64(h)*f+0.5)
		if sw < stylize.MinSize || sh < stylize.MinSize {
			continue
		}
		log.Info(fmt.Sprintf("bench: raw inference at %dx%d", sw, sh))
		k := max(3, int64(float64(n)*min(1, 1/(f*f))/4))
		fps, _, err := raw(sw, sh, k)
		if err != nil {
			return nil, err
		}
		res.Scales = append(res.Scales, benchScale{Scale: f, Width: sw, Height: sh, RawFPS: fps})
	}
	res.Elapsed = time.Since(start)
	return res, nil
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
	fmt.Fprintf(w, "model %s at %dx%d on %s (%.1f GFLOP per frame)\n\n", r.Model, r.Width, r.Height, r.Device, r.GFLOPPerFrame)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "raw inference\t%.2f frames/s\t(ONNX Runtime alone, %d frames)\n", r.RawFPS, r.Frames)
	fmt.Fprintf(tw, "full pipeline\t%.2f frames/s\t(decode → prepare → infer → finish → H.264, double buffering %v)\n", r.PipelineFPS, !r.Serial)
	fmt.Fprintf(tw, "pipeline ÷ raw\t%.3f\t\n", r.Ratio)
	fmt.Fprintf(tw, "achieved\t%.1f GFLOP/s\t%.0f %% of the peak: %s\n", r.GFLOPS, 100*r.GFLOPS/r.PeakGFLOPS, r.PeakFormula)
	fmt.Fprintf(tw, "Go allocations\t%.2f per frame\t(whole process, steady state of the pipeline run)\n", r.AllocsPerFrame)
	tw.Flush()
	fmt.Fprintln(w, "\nstage     median ms   p95 ms")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "%-9s %9.2f %8.2f\n", s.Name, s.MedianMS, s.P95MS)
	}
	fmt.Fprintln(w, "\nscale  size        raw frames/s")
	for _, s := range r.Scales {
		fmt.Fprintf(w, "%-6.2f %-11s %8.2f\n", s.Scale, fmt.Sprintf("%dx%d", s.Width, s.Height), s.RawFPS)
	}
}
