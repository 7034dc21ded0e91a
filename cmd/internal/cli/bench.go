package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/models"
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

// benchMain runs "vidstyle bench".
func benchMain(args []string, stdout, stderr io.Writer) int {
	var ef engineFlags
	var cfg vidstyle.BenchConfig
	var size, scales, sweep string
	var asJSON bool
	var rounds int
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ef.add(fs, true)
	fs.StringVar(&cfg.Model, "model", models.DefaultStyle, "the model: built-in, file, stored or catalog name")
	fs.StringVar(&size, "size", "640x360", "processing size WxH")
	fs.StringVar(&cfg.In, "in", "", "clip for the pipeline run (default: a generated 10 s clip at -size)")
	fs.StringVar(&cfg.Framerate, "framerate", "", "the frame rate of a numbered image sequence given to -in (default 25, as ffmpeg reads one)")
	fs.IntVar(&cfg.EncodeThreads, "encode-threads", vidstyle.DefaultEncodeThreads(), "H.264 encoder threads in the pipeline run (0: ffmpeg's choice)")
	fs.Int64Var(&cfg.Frames, "frames", 0, "frames per measurement (0: about 10 s of inference, 5 to 300)")
	fs.BoolVar(&cfg.Serial, "serial", false, "double buffering off in the pipeline run")
	fs.Func("temporal", fmt.Sprintf("temporal stabilisation in the pipeline run: the blend, 0 off (default %v)", vidstyle.DefaultTemporal), func(v string) error {
		a, err := parseBlend(v)
		cfg.Temporal = &a
		return err
	})
	fs.StringVar(&scales, "scales", "1,0.75,0.5,0.25", "processing scales for the raw frames/s table")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&cfg.Profile, "profile", false, "also time each operator type with ONNX Runtime's profiler")
	fs.StringVar(&sweep, "sweep", "", "compare settings in interleaved rounds: ;-separated flag sets, e.g. \"default; -threads 1; -serial\" (flags: -threads -interop -encode-threads -spin -serial -temporal)")
	fs.IntVar(&rounds, "rounds", 3, "rounds of -sweep (each runs every setting once)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, false); !ok {
		return code
	}
	usage := func(err error) int {
		errorf(stderr, "vidstyle: error: bench: %v (see vidstyle bench -h)\n", err)
		return exitUsage
	}
	sz, err := vidstyle.ParseSize(size)
	if err != nil {
		return usage(err)
	}
	cfg.Width, cfg.Height = sz.Width, sz.Height
	cfg.Threads, cfg.InterOpThreads, cfg.Spin = ef.threads, ef.interOp, ef.spin
	if cfg.Frames < 0 || cfg.EncodeThreads < 0 {
		return usage(fmt.Errorf("-frames and -encode-threads cannot be negative"))
	}
	if strings.TrimSpace(cfg.Model) == "" { // the default is a style: this one was given empty
		return usage(fmt.Errorf("-model is empty: name a style (vidstyle models list shows them)"))
	}
	if cfg.Scales, err = parseScales(scales); err != nil {
		return usage(err)
	}
	var settings []vidstyle.BenchSetting
	if sweep != "" {
		if settings, err = parseSweep(sweep, cfg); err != nil {
			return usage(err)
		}
		if rounds < 1 || rounds > 20 {
			return usage(fmt.Errorf("-rounds %d: use 1 to 20", rounds))
		}
	}
	c := newConsole(stderr, ef.quiet, ef.verbose)
	eng, err := ef.engine(c, slog.New(&handler{c: c}))
	if err != nil {
		return usage(err)
	}
	defer eng.Close()
	fail := func(err error) int {
		c.clearBar()
		c.line("vidstyle: error: " + oneLine(err))
		return exitCode(err)
	}
	printJSON := func(v any) int {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		return exitOK
	}
	ctx := context.Background()
	if sweep != "" {
		rows, err := eng.BenchSweep(ctx, settings, rounds)
		if err != nil {
			return fail(err)
		}
		if asJSON {
			return printJSON(rows)
		}
		printSweep(stdout, rows, rounds)
		return exitOK
	}
	res, err := eng.Bench(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	if asJSON {
		return printJSON(res)
	}
	printBench(stdout, res)
	return exitOK
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

// parseSweep reads -sweep's ;-separated flag sets on top of base.
func parseSweep(list string, base vidstyle.BenchConfig) ([]vidstyle.BenchSetting, error) {
	var out []vidstyle.BenchSetting
	for _, entry := range strings.Split(list, ";") {
		entry = strings.TrimSpace(entry)
		c := base
		fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.IntVar(&c.Threads, "threads", c.Threads, "")
		fs.IntVar(&c.InterOpThreads, "interop", c.InterOpThreads, "")
		fs.IntVar(&c.EncodeThreads, "encode-threads", c.EncodeThreads, "")
		fs.BoolVar(&c.Spin, "spin", c.Spin, "")
		fs.BoolVar(&c.Serial, "serial", c.Serial, "")
		fs.Func("temporal", "", func(v string) error {
			a, err := parseBlend(v)
			c.Temporal = &a
			return err
		})
		args := strings.Fields(entry)
		if entry == "default" {
			args = nil
		}
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 || c.Threads < 0 || c.InterOpThreads < 0 || c.EncodeThreads < 0 {
			return nil, fmt.Errorf("-sweep entry %q: use \"default\" or flags among -threads N -interop N -encode-threads N -spin -serial -temporal A", entry)
		}
		if entry == "" {
			entry = "default"
		}
		out = append(out, vidstyle.BenchSetting{Name: entry, Config: c})
	}
	return out, nil
}

// parseBlend reads a -temporal value: 0 (off) or a blend below 1.
func parseBlend(v string) (float64, error) {
	a, err := strconv.ParseFloat(v, 64)
	if err != nil || !(a >= 0 && a < 1) {
		return 0, fmt.Errorf("%q: use 0 (off) or a blend below 1 (default %v)", v, vidstyle.DefaultTemporal)
	}
	return a, nil
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printSweep(w io.Writer, rows []vidstyle.SweepRow, rounds int) {
	if len(rows) == 0 || len(rows[0].Runs) == 0 {
		return
	}
	r := rows[0].Runs[0]
	fmt.Fprintf(w, "model %s at %dx%d on %s, %d rounds (medians over the rounds)\n\n", printable(r.Model, false), r.Width, r.Height, r.Device, rounds)
	fmt.Fprintln(w, "| setting | raw frames/s | pipeline frames/s | pipeline ÷ raw | range |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.3f | %.3f–%.3f |\n", row.Setting, row.RawFPS, row.PipelineFPS, row.Ratio, row.RatioMin, row.RatioMax)
	}
}

func printBench(w io.Writer, r *vidstyle.BenchResult) {
	fmt.Fprintf(w, "model %s (%s) at %dx%d on %s (%.3g GFLOP per frame)\n\n", printable(r.Model, false), r.Precision, r.Width, r.Height, r.Device, r.GFLOPPerFrame)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "raw inference\t%.2f frames/s\t(ONNX Runtime alone, %d frames, half before and half after the pipeline run)\n", r.RawFPS, r.RawFrames)
	if o := r.Other; o != nil {
		fmt.Fprintf(tw, "raw, %s\t%.2f frames/s\t(%s, interleaved with %s at %.2f frames/s: %.2fx)\n", o.Precision, o.RawFPS, printable(o.Model, false), r.Precision, o.ThisRawFPS, o.Speedup)
	}
	fmt.Fprintf(tw, "full pipeline\t%.2f frames/s\t(decode → prepare → infer → finish → H.264, %d frames, double buffering %v, temporal %v)\n", r.PipelineFPS, r.Frames, !r.Serial, r.Temporal)
	fmt.Fprintf(tw, "pipeline ÷ raw\t%.3f\t(medians of per-frame times; from the means: %.3f)\n", r.Ratio, r.RatioMean)
	if r.PeakGFLOPS > 0 {
		fmt.Fprintf(tw, "achieved\t%.1f GFLOP/s\t%.0f %% of the peak: %s\n", r.GFLOPS, 100*r.GFLOPS/r.PeakGFLOPS, r.PeakFormula)
	} else {
		fmt.Fprintf(tw, "achieved\t%.1f GFLOP/s\t(on %s: no nominal peak to compare with)\n", r.GFLOPS, r.Device)
	}
	fmt.Fprintf(tw, "Go allocations\t%.2f per frame\t(whole process, steady state of the pipeline run)\n", r.AllocsPerFrame)
	tw.Flush()
	fmt.Fprintln(w, "\nstage     median ms   p95 ms")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "%-9s %9.2f %8.2f\n", s.Name, s.MedianMS, s.P95MS)
	}
	if len(r.Ops) > 0 {
		fmt.Fprintln(w, "\noperator (ONNX Runtime's profiler)   ms per frame   share   kernels")
		for _, op := range r.Ops {
			fmt.Fprintf(w, "%-36s %12.2f %6.1f %% %9d\n", field(op.Op, 36), millis(op.PerRun), 100*op.Share, op.Kernels)
		}
	}
	if len(r.Scales) > 0 {
		fmt.Fprintln(w, "\nscale  size        raw frames/s")
	}
	for _, s := range r.Scales {
		fmt.Fprintf(w, "%-6.2f %-11s %8.2f\n", s.Scale, fmt.Sprintf("%dx%d", s.Width, s.Height), s.RawFPS)
	}
}
