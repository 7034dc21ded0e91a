package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"text/tabwriter"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/eval"
)

const evalUsage = `Usage:
  vidstyle eval -in SOURCE -out STYLIZED [-ref REFERENCE] [-json]

Measures how much STYLIZED flickers against SOURCE, the video it was made
from: the temporal warping error E_warp (Lai et al. 2018) over the pixels
the optical flow of SOURCE can be trusted on (Ruder et al. 2016's occlusion
and motion-boundary masks; Farneback flow, not the DIS flow vidstyle's
stabiliser uses), the same measure on SOURCE itself (the floor), a flicker
index on still regions, and the texture (Laplacian energy). With -ref (for
example the same style with -temporal 0) it also prints the reference's
numbers, the reduction in E_warp, the texture kept and the mean deviation
from the reference. Judge lossless or -crf 1 files: x264 at CRF 18 hides
part of the flicker. Frames are paired by time, as they are shown: each
source picture with the output frame that first shows it.

Example:
  vidstyle -in clip.mp4 -out on.mkv -model udnie.onnx -crf 0
  vidstyle -in clip.mp4 -out off.mkv -model udnie.onnx -crf 0 -temporal 0
  vidstyle eval -in clip.mp4 -out on.mkv -ref off.mkv

Flags:
`

// evalMain runs "vidstyle eval".
func evalMain(args []string, stdout, stderr io.Writer) int {
	var files eval.Files
	var cfg eval.Config
	var asJSON, quiet bool
	var framerate string
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&files.In, "in", "", "the source video the output was made from")
	fs.StringVar(&files.Out, "out", "", "the stylized video to judge")
	fs.StringVar(&files.Ref, "ref", "", "a reference output to compare with (e.g. made with -temporal 0)")
	fs.IntVar(&files.Frames, "frames", 0, "compare the first N frames (0: all)")
	fs.StringVar(&framerate, "framerate", "", "the frame rate of an image sequence source (-in img_%04d.png), as given to vidstyle (default 25)")
	fs.BoolVar(&cfg.NoFlow, "no-flow", false, "measure with zero flow (plain frame differences), to see what the flow removes")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&quiet, "q", false, "warnings only")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), evalUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr, false); !ok {
		return code
	}
	if files.In == "" || files.Out == "" {
		errorf(stderr, "vidstyle: error: eval needs -in SOURCE and -out STYLIZED (see vidstyle eval -h)")
		return exitUsage
	}
	if files.Frames < 0 {
		errorf(stderr, "vidstyle: error: eval: -frames cannot be negative (see vidstyle eval -h)")
		return exitUsage
	}
	if framerate != "" {
		r, err := vidstyle.ParseFramerate(framerate)
		if err != nil {
			errorf(stderr, "vidstyle: error: eval: %v (see vidstyle eval -h)", err)
			return exitUsage
		}
		files.Framerate = r
	}
	c := newConsole(stderr, quiet, false)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := eval.Run(ctx, files, cfg, slog.New(&handler{c: c}))
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
	printEval(stdout, files, res)
	return exitOK
}

func printEval(w io.Writer, files eval.Files, r eval.Result) {
	fmt.Fprintf(w, "%s against %s: %d frames at %dx%d, %.0f %% of pixels kept by the masks, structure %.2f\n\n", printable(hidePasswords(files.Out), false), printable(hidePasswords(files.In), false), r.Frames, r.Width, r.Height, 100*r.Valid, r.Structure)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tE_warp (×10⁻³)\tstill-region flicker (levels)\ttexture")
	fmt.Fprintf(tw, "output\t%.3f\t%.2f\t%.1f\n", 1e3*r.EWarp, r.StaticFlicker, r.Texture)
	if r.HasRef {
		fmt.Fprintf(tw, "reference\t%.3f\t%.2f\t%.1f\n", 1e3*r.RefEWarp, r.RefStaticFlicker, r.RefTexture)
	}
	fmt.Fprintf(tw, "input (floor)\t%.3f\t%.2f\t\n", 1e3*r.Floor, r.StaticFlickerInput)
	tw.Flush()
	if r.Floor > 0 {
		fmt.Fprintf(w, "\noutput E_warp is %.2f× the input's\n", r.EWarp/r.Floor)
	}
	if r.HasRef {
		fmt.Fprintf(w, "against the reference: E_warp %+.1f %%, texture kept %.2f, deviation %.2f levels (%.2f on moving pixels)\n",
			-100*r.Reduction, r.TextureKept, r.Deviation, r.DeviationMoving)
	}
}
