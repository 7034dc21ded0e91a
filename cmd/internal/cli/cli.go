// Package cli is the vidstyle command line: it parses flags, wires a source,
// a stylizer and an output into a pipeline, reports progress, and turns
// errors and signals into one-line messages and exit codes.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// debugMatsEnv, when set in a matprofile build, makes vidstyle report the
// OpenCV Mats left open at exit.
const debugMatsEnv = "VIDSTYLE_DEBUG_MATS"

// options are the parsed flags.
type options struct {
	in, out     string
	model       string
	size        string
	scale       float64
	device      string
	threads     int
	interOp     int
	profile     bool // bench only: ONNX Runtime's per-operator profile
	encThreads  int
	spin        bool
	ortLib      string
	frames      int64
	crf         int
	preset      string
	serial      bool
	preload     bool
	live        bool
	loop        bool
	window      bool
	serve       bool
	listen      string
	token       string
	maxViewers  int
	bitrate     int
	snapshots   string
	modelsDir   string
	mirror      string
	quiet       bool
	verbose     bool
	statsPeriod time.Duration
}

const usageHead = `vidstyle paints video in the style of an artwork, with a neural image
transform net (Johnson et al. 2016) run by ONNX Runtime.

Usage:
  vidstyle -in INPUT -out OUTPUT [options]     stylize a file
  vidstyle -in cam:N [options]                 live preview window of a webcam
  vidstyle models list|pull|info|import …      the styles (see vidstyle models -h)
  vidstyle bench [-model M] [-size WxH] [-json]  measure a model and the pipeline

Examples:
  vidstyle -in movie.mp4 -out styled.mp4
        every frame in the built-in "toon" style; same size, frame rate and audio
  vidstyle -in movie.mp4 -out styled.mkv -model udnie.onnx -scale 0.5
        a neural style, processed at half size (4x faster) and scaled back up
  vidstyle -in photo.jpg -out styled.png -model pencil
        one image
  vidstyle -in movie.mp4 -out styled.webm -size 640x360 -device cuda -frames 300
        VP9 + Opus, first 300 frames, on an NVIDIA GPU
  vidstyle -in cam:0 -model toon,pencil,udnie.onnx -scale 0.5
        webcam preview window; keys switch styles (press h)
  vidstyle -in movie.mp4 -live -loop -model toon,pencil
        a file played in the preview window as if it were a camera

Preview window keys:
%s

INPUT is a video file, an image (.jpg .png …), or cam:N for webcam N.
OUTPUT is .mp4 .m4v .mov .mkv or .webm for video (H.264 or VP9, audio kept),
or an image type for an image input.
Built-in styles: %s. Any ONNX model taking float32 [1,3,H,W] RGB 0..255 works too.
Ctrl-C stops a transcode and keeps a playable file of the frames done so far;
a second Ctrl-C aborts at once.

Options:
`

// defaultEncodeThreads is the encoder's thread count unless -encode-threads
// says otherwise: one on machines of up to 4 cores, where ONNX Runtime's
// threads already take every core (measured on 2 cores: the pipeline runs
// 6–15 % faster with the built-in style, and the same with a neural one;
// BENCHMARKS.md), else ffmpeg's own choice.
func defaultEncodeThreads() int {
	if runtime.NumCPU() <= 4 {
		return 1
	}
	return 0
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("vidstyle", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by Main
	fs.StringVar(&o.in, "in", "", "input: video file, image, or cam:N")
	fs.StringVar(&o.out, "out", "", "output file; its extension picks the format")
	fs.StringVar(&o.model, "model", models.DefaultStyle, "style: an ONNX file, a name in the models folder, a built-in or a catalog name (see vidstyle models list); several as a,b,c or a folder to switch between")
	fs.BoolVar(&o.preload, "preload", false, "load every -model style at the start so that switching is instant")
	fs.StringVar(&o.modelsDir, "models-dir", models.DefaultStoreDir(), "the models folder")
	fs.StringVar(&o.mirror, "catalog-mirror", "", "fetch catalog models from this base `URL` instead of their source")
	fs.StringVar(&o.size, "size", "", "processing size WxH, e.g. 640x360 (output keeps the input size)")
	fs.Float64Var(&o.scale, "scale", 0, "processing size as a fraction of the input, e.g. 0.5")
	fs.StringVar(&o.device, "device", stylize.DeviceAuto, "auto, cpu, cuda or tensorrt (auto: the best GPU provider that loads, else cpu)")
	fs.IntVar(&o.threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	fs.IntVar(&o.interOp, "interop", 0, "ONNX Runtime inter-op threads: above 1, independent operators run in parallel (0: one after another)")
	fs.BoolVar(&o.spin, "spin", false, "let ONNX Runtime's threads spin-wait between operators (faster alone, slower beside decode and encode: see BENCHMARKS.md)")
	fs.StringVar(&o.ortLib, "ort-lib", "", "ONNX Runtime library `path` (default: $"+stylize.LibraryEnv+", then lib/ beside the binary)")
	fs.Int64Var(&o.frames, "frames", 0, "stop after this many frames (0: all)")
	fs.IntVar(&o.crf, "crf", 0, "encoder quality, lower is better (default 18 for H.264, 32 for VP9)")
	fs.StringVar(&o.preset, "preset", "veryfast", "x264 speed preset")
	fs.IntVar(&o.encThreads, "encode-threads", defaultEncodeThreads(), "video encoder threads (0: ffmpeg's choice)")
	fs.BoolVar(&o.serial, "serial", false, "turn double buffering off (for benchmarks)")
	fs.BoolVar(&o.live, "live", false, "play a video file through the live preview, paced at its frame rate, as if it were a camera")
	fs.BoolVar(&o.loop, "loop", false, "with -live: start the file again at its end")
	fs.BoolVar(&o.window, "window", false, "with -out: also show the frames in a preview window as they are written (q stops, n/p switch styles)")
	fs.StringVar(&o.snapshots, "snapshots", ".", "folder for the preview window's snapshots (key s)")
	fs.BoolVar(&o.serve, "serve", false, "live: serve the stylized video to browsers over WebRTC (page, OBS overlay, WHEP)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "with -serve: the HOST:PORT to listen on (off loopback a token is required)")
	fs.StringVar(&o.token, "token", "", "with -serve: the access token (default: none on loopback, a random one elsewhere)")
	fs.IntVar(&o.maxViewers, "max-viewers", 16, "with -serve: the most browsers at once")
	fs.IntVar(&o.bitrate, "bitrate", 0, "with -serve: VP8 bitrate in kbit/s (0: from the frame size)")
	fs.BoolVar(&o.quiet, "q", false, "quiet: warnings and errors only")
	fs.BoolVar(&o.verbose, "v", false, "verbose: debug messages too")
	fs.DurationVar(&o.statsPeriod, "stats-period", 5*time.Second, "how often progress is logged when stderr is not a terminal")
	fs.Usage = func() {
		var names []string
		for _, b := range models.Builtins() {
			names = append(names, b.Name)
		}
		fmt.Fprintf(fs.Output(), usageHead, indent(hotKeys), strings.Join(names, ", "))
		fs.PrintDefaults()
	}
	return fs
}

// Main runs vidstyle with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	quietLibraries()
	if len(args) > 0 && args[0] == "models" {
		return modelsMain(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bench" {
		return benchMain(args[1:], stdout, stderr)
	}
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "vidstyle: %v (see -h)\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vidstyle: unexpected argument %q (flags come as -name value; see -h)\n", fs.Arg(0))
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.validate(set); err != nil {
		fmt.Fprintf(stderr, "vidstyle: %v (see -h)\n", err)
		return exitUsage
	}

	c := newConsole(stderr, o.quiet, o.verbose)
	log := slog.New(&handler{c: c})
	run := transcode
	if o.out == "" {
		run = runLive
	}
	code, err := run(o, c, log)
	if err != nil {
		c.clearBar()
		c.line("vidstyle: error: " + oneLine(err))
	}
	// Leak check for tests and debugging: a binary built with -tags
	// matprofile reports the Mats still open once everything is closed.
	if n, ok := liveMats(); ok && os.Getenv(debugMatsEnv) != "" && code != exitInterrupted {
		c.line(fmt.Sprintf("vidstyle: debug: live Mats at exit: %d", n))
	}
	return code
}

// newConsole makes the stderr console: a terminal gets a progress bar.
func newConsole(stderr io.Writer, quiet, verbose bool) *console {
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	c := &console{w: stderr, tty: tty, minimum: slog.LevelInfo}
	switch {
	case quiet:
		c.minimum = slog.LevelWarn
	case verbose:
		c.minimum = slog.LevelDebug
	}
	return c
}

// quietLibraries keeps FFmpeg and OpenCV from printing their own warnings
// (pages of them for a file that is not a video): vidstyle says what went
// wrong in one line.
func quietLibraries() {
	if _, set := os.LookupEnv("OPENCV_LOG_LEVEL"); !set {
		capture.QuietOpenCV()
	}
	for k, v := range map[string]string{"OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_LOG_LEVEL": "ERROR",
		"QT_LOGGING_RULES": "default.warning=false"} {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

func (o *options) validate(set map[string]bool) error {
	if o.in == "" {
		return errors.New("-in is required")
	}
	if o.out == "" && !o.live && !strings.HasPrefix(o.in, "cam:") {
		if _, err := strconv.Atoi(o.in); err != nil {
			return errors.New("-out is required (or -live to watch a file in the preview window)")
		}
	}
	if o.loop && !o.live {
		return errors.New("-loop goes with -live")
	}
	if o.live && o.out != "" {
		return errors.New("-live is for the preview window and web page: leave out -out")
	}
	if o.serve && o.out != "" {
		return errors.New("-serve is live: leave out -out")
	}
	if o.maxViewers < 1 {
		return errors.New("-max-viewers must be at least 1")
	}
	if set["size"] && set["scale"] {
		return errors.New("give -size or -scale, not both")
	}
	if set["size"] {
		if _, _, err := parseSize(o.size); err != nil {
			return err
		}
	}
	if set["scale"] && !(o.scale > 0 && o.scale <= 8) {
		return fmt.Errorf("-scale %v: must be above 0 and at most 8", o.scale)
	}
	switch o.device {
	case stylize.DeviceAuto, stylize.DeviceCPU, stylize.DeviceCUDA, stylize.DeviceTensorRT:
	default:
		return fmt.Errorf("-device %q: use auto, cpu, cuda or tensorrt", o.device)
	}
	if o.threads < 0 || o.interOp < 0 || o.encThreads < 0 || o.frames < 0 || o.crf < 0 {
		return errors.New("-threads, -interop, -encode-threads, -frames and -crf cannot be negative")
	}
	if o.statsPeriod <= 0 {
		return errors.New("-stats-period must be positive")
	}
	return nil
}

// parseSize reads "WxH".
func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil {
		return 0, 0, fmt.Errorf("-size %q: want WIDTHxHEIGHT, e.g. 640x360", s)
	}
	if w < stylize.MinSize || h < stylize.MinSize || w > 16384 || h > 16384 {
		return 0, 0, fmt.Errorf("-size %s: each side must be %d to 16384", s, stylize.MinSize)
	}
	return w, h, nil
}

// processingSize is the size frames are stylized at.
func (o *options) processingSize(p capture.Props) (int, int, error) {
	switch {
	case o.size != "":
		return parseSize(o.size)
	case o.scale > 0:
		w := int(float64(p.Width)*o.scale + 0.5)
		h := int(float64(p.Height)*o.scale + 0.5)
		if w < stylize.MinSize || h < stylize.MinSize {
			return 0, 0, fmt.Errorf("-scale %v makes %dx%d frames, below the %dx%d minimum", o.scale, w, h, stylize.MinSize, stylize.MinSize)
		}
		return w, h, nil
	}
	return p.Width, p.Height, nil
}

// indent puts two spaces before each line.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// oneLine keeps the first line of an error's text.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
