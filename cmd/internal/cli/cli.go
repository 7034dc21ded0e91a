// Package cli is the vidstyle command line: flags, usage and help, the
// console and progress bar, the key map, signals and exit codes. The work
// itself is the engine's (package vidstyle, and live for the preview).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stream"
	"github.com/vidstyle/vidstyle/stream/web"
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

// engineFlags are the flags every command shares: ONNX Runtime, device,
// threads, the models folder, logging. They are checked alike everywhere,
// by vidstyle.New.
type engineFlags struct {
	ortLib, device, modelsDir, mirror string
	precision                         string
	threads, interOp                  int
	spin, quiet, verbose              bool
}

// add puts the shared flags on fs; device adds the ones that pick how
// models run.
func (f *engineFlags) add(fs *flag.FlagSet, device bool) {
	fs.StringVar(&f.ortLib, "ort-lib", "", "ONNX Runtime library `path` (default: $"+stylize.LibraryEnv+", then lib/ beside the binary)")
	fs.StringVar(&f.modelsDir, "models-dir", models.DefaultStoreDir(), "the models folder")
	fs.StringVar(&f.mirror, "catalog-mirror", "", "fetch catalog models from this base `URL` instead of their source (sizes and hashes still apply)")
	fs.BoolVar(&f.quiet, "q", false, "quiet: warnings and errors only")
	fs.BoolVar(&f.verbose, "v", false, "verbose: debug messages too")
	f.device = stylize.DeviceAuto
	if device {
		fs.StringVar(&f.device, "device", stylize.DeviceAuto, "auto, cpu, cuda or tensorrt (auto: the best GPU provider that loads, else cpu)")
		fs.IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
		fs.IntVar(&f.interOp, "interop", 0, "ONNX Runtime inter-op threads: above 1, independent operators run in parallel (0: one after another)")
		fs.StringVar(&f.precision, "precision", vidstyle.PrecisionAuto, "auto, fp32 or int8 (auto: a style's INT8 version, made by vidstyle models quantize, when the CPU has VNNI)")
		fs.BoolVar(&f.spin, "spin", false, "let ONNX Runtime's threads spin-wait between operators (faster alone, slower beside decode and encode: see BENCHMARKS.md)")
	}
}

// engine makes the engine the flags ask for (a UsageError if they are
// wrong).
func (f *engineFlags) engine(c *console, log *slog.Logger) (*vidstyle.Engine, error) {
	return vidstyle.New(vidstyle.Config{
		Library: f.ortLib, Device: f.device, Threads: f.threads, InterOpThreads: f.interOp, Spin: f.spin, Precision: f.precision,
		ModelsDir: f.modelsDir, CatalogMirror: f.mirror, Log: log, OnDownload: c.download,
	})
}

// options are the main command's flags.
type options struct {
	engineFlags
	in, out     string
	model       string
	size        string
	resize      string
	resizeTo    vidstyle.Size // resize, parsed
	scale       float64
	encThreads  int
	frames      int64
	crf         int
	temporal    float64
	keepColors  bool
	stripMeta   bool
	alpha       string
	framerate   string
	preset      string
	audio       string
	serial      bool
	preload     bool
	force       bool
	live        bool
	loop        bool
	window      bool
	serve       bool
	listen      string
	token       string
	tokenFile   string
	allowHosts  hostList
	maxViewers  int
	bitrate     int
	publish     string
	publishFPS  float64
	snapshots   string
	statsPeriod time.Duration

	// stopAtEnd: a file published without -live is streamed once.
	stopAtEnd bool

	// webCfg is the web preview's config, made by validate (nil without
	// -serve); envToken is $VIDSTYLE_TOKEN, envTokenSet whether it is set.
	webCfg      *web.Config
	envToken    string
	envTokenSet bool
}

const usageHead = `vidstyle paints video in the style of an artwork, with a neural image
transform net (Johnson et al. 2016) run by ONNX Runtime.

Usage:
  vidstyle -in INPUT -out OUTPUT [options]     stylize a file
  vidstyle -in cam:N [options]                 live preview window of a webcam
  vidstyle models list|pull|info|import …      the styles (see vidstyle models -h)
  vidstyle bench [-model M] [-size WxH] [-json]  measure a model and the pipeline
  vidstyle eval -in SOURCE -out STYLIZED [-ref R] how much a stylized video flickers

Examples:
  vidstyle -in movie.mp4 -out styled.mp4
        every frame in the built-in "toon" style; same size, frame rate and audio
  vidstyle -in movie.mp4 -out styled.mkv -model udnie.onnx -scale 0.5
        a neural style, processed at half size (4x faster) and scaled back up
  vidstyle -in photo.jpg -out styled.png -model pencil
        one image
  vidstyle -in photos/ -out styled/ -model udnie.onnx
        every picture and video in a folder
  vidstyle -in clip.mp4 -out clip.gif -resize 480 -frames 90
        an animated GIF, 480 pixels wide, of the first 90 frames
  vidstyle -in movie.mp4 -out styled.webm -size 640x360 -device cuda -frames 300
        VP9 + Opus, first 300 frames, on an NVIDIA GPU
  vidstyle -in cam:0 -model toon,pencil,udnie.onnx -scale 0.5
        webcam preview window; keys switch styles (press h)
  vidstyle -in movie.mp4 -live -loop -model toon,pencil
        a file played in the preview window as if it were a camera

Preview window keys:
%s

INPUT is a video file, an image (.jpg .png …), cam:N for webcam N, or a
folder: each picture and video in it is stylized into the OUTPUT folder.
OUTPUT is .mp4 .m4v .mov .mkv or .webm for video (H.264 or VP9, audio kept),
.gif for an animated GIF (at most 50 fps, no sound), or an image type for an
image input.
Built-in styles: %s. Any ONNX model taking float32 [1,3,H,W] RGB 0..255 works too.
Ctrl-C stops a transcode and keeps a playable file of the frames done so far;
a second Ctrl-C aborts at once.

Options:
`

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("vidstyle", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by Main
	o.engineFlags.add(fs, true)
	fs.StringVar(&o.in, "in", "", "input: video file, image, or cam:N")
	fs.StringVar(&o.out, "out", "", "output file; its extension picks the format")
	fs.StringVar(&o.model, "model", models.DefaultStyle, "style: an ONNX file, a name in the models folder, a built-in or a catalog name (see vidstyle models list); several as a,b,c or a folder to switch between")
	fs.BoolVar(&o.preload, "preload", false, "load every -model style at the start so that switching is instant")
	fs.BoolVar(&o.force, "force", false, "run a job that looks too big for the free memory anyway (vidstyle estimates it first)")
	fs.StringVar(&o.size, "size", "", "processing size WxH, e.g. 640x360 (output keeps the input size)")
	fs.StringVar(&o.resize, "resize", "", "output size: WxH, a width (480) or a height (x720) with the other side from the picture's shape, or a fraction (0.5)")
	fs.Float64Var(&o.scale, "scale", 0, "processing size as a fraction of the input, e.g. 0.5")
	fs.Int64Var(&o.frames, "frames", 0, "stop after this many frames (0: all)")
	fs.IntVar(&o.crf, "crf", -1, "encoder quality, lower is better, 0 is lossless (-1: 18 for H.264, 32 for VP9)")
	fs.Float64Var(&o.temporal, "temporal", vidstyle.DefaultTemporal, "video: temporal stabilisation, the blend with the previous frame carried along the optical flow where the picture moves, more where it is still (0: off, every frame painted on its own; below 1)")
	fs.BoolVar(&o.keepColors, "keep-colors", false, "keep the source's colours: the style's luminance with the input's chroma (window key c, a web page switch)")
	fs.StringVar(&o.framerate, "framerate", "", "the frame rate of an image sequence input (-in img_%04d.png), as ffmpeg's -framerate: 24, 29.97, 30000/1001 (default 25)")
	fs.StringVar(&o.alpha, "alpha", "auto", "transparency: auto keeps a video's where it is used and the output holds it (.mov as ProRes 4444, .webm/.mkv as VP9 with alpha, .gif on or off, PNG/TIFF/WebP pictures), keep keeps any alpha channel, drop writes it opaque")
	fs.BoolVar(&o.stripMeta, "strip-metadata", false, "leave the input's metadata out of the output: where and when it was filmed (a phone's GPS position), the device, titles (track languages, chapters and the timecode stay)")
	fs.StringVar(&o.audio, "audio", "auto", "audio tracks: auto (copy what plays everywhere the output type does, re-encode the rest), copy (copy every track), none")
	fs.StringVar(&o.preset, "preset", "veryfast", "x264 speed preset")
	fs.IntVar(&o.encThreads, "encode-threads", vidstyle.DefaultEncodeThreads(), "video encoder threads (0: ffmpeg's choice; at most 64)")
	fs.BoolVar(&o.serial, "serial", false, "turn double buffering off (for benchmarks)")
	fs.BoolVar(&o.live, "live", false, "play a video file through the live preview, paced at its frame rate, as if it were a camera")
	fs.BoolVar(&o.loop, "loop", false, "with -live: start the file again at its end")
	fs.BoolVar(&o.window, "window", false, "with -out: also show the frames in a preview window as they are written (q stops, n/p switch styles)")
	fs.StringVar(&o.snapshots, "snapshots", ".", "folder for the preview window's snapshots (key s)")
	fs.BoolVar(&o.serve, "serve", false, "live: serve the stylized video to browsers over WebRTC (page, OBS overlay, WHEP)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "with -serve: the HOST:PORT to listen on (off loopback a token is required)")
	fs.StringVar(&o.token, "token", "", "with -serve: the access `token`, 16+ characters of A-Z a-z 0-9 - . _ ~ (default: $"+tokenEnv+", else none on loopback and a random one elsewhere); other local users can read it in ps: prefer -token-file or $"+tokenEnv)
	fs.StringVar(&o.tokenFile, "token-file", "", "with -serve: read the token from the first line of this `file` (chmod 600: one others can read is refused)")
	fs.Var(&o.allowHosts, "allow-host", "with -serve: another `name[:port]` the server answers to (a name in /etc/hosts, a port forward); repeat it or give several as a,b")
	fs.IntVar(&o.maxViewers, "max-viewers", 16, "with -serve: the most browsers at once")
	fs.IntVar(&o.bitrate, "bitrate", 0, "with -serve and -publish: the VP8 and H.264 bitrate in kbit/s (0: from the frame size)")
	fs.StringVar(&o.publish, "publish", "", "live: also publish the stylized video to this `URL` (rtmp:// rtmps:// srt:// rtsp://) or rolling HLS DIR/NAME.m3u8; -out URL does the same")
	fs.Float64Var(&o.publishFPS, "publish-fps", 0, "with -publish: the steady frame rate published (0: the source's)")
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
	if len(args) > 0 {
		// A report on stdout whose reader went away (vidstyle models
		// list | head -1) ends as other tools' do when SIGPIPE stops
		// them: quietly, exit 141 (it was an error line, "write
		// /dev/stdout: broken pipe", and exit 1).
		out := &pipeOut{w: stdout}
		code, sub := 0, true
		switch args[0] {
		case "models":
			code = modelsMain(args[1:], out, stderr)
		case "bench":
			code = benchMain(args[1:], out, stderr)
		case "eval":
			code = evalMain(args[1:], out, stderr)
		default:
			sub = false
		}
		if sub {
			if out.broken {
				return exitBrokenPipe
			}
			return code
		}
	}
	var o options
	// The token's variable is read once and removed, so that the programs
	// vidstyle starts (ffmpeg) do not inherit it.
	o.envToken, o.envTokenSet = os.LookupEnv(tokenEnv)
	os.Unsetenv(tokenEnv)
	fs := newFlagSet(&o)
	if code, ok := parseFlags(fs, args, stderr, false); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if isFolder(o.in) && (o.out == "" || o.live || o.serve || o.publish != "") {
		// A folder is stylized file by file into a folder; the live
		// outputs play one input.
		what := "give -out FOLDER for the stylized files"
		if o.live || o.serve || o.publish != "" || o.window {
			what = "the live preview (-live, -serve, -publish) plays one file or camera; give one of its files, or -out FOLDER to stylize each"
		}
		errorf(stderr, "vidstyle: error: -in %s is a folder: %s (see -h)\n", o.in, what)
		return exitUsage
	}
	if isFolder(o.in) {
		if capture.IsURL(o.out) || strings.EqualFold(filepath.Ext(o.out), ".m3u8") {
			errorf(stderr, "vidstyle: error: -in %s is a folder, which is stylized file by file into a folder: it cannot be published to %s (see -h)\n", o.in, stream.Redact(o.out))
			return exitUsage
		}
		if err := checkBatchOut(o); err != nil {
			errorf(stderr, "vidstyle: error: %v (see -h)\n", err)
			return exitUsage
		}
		return withEngine(o, stderr, func(eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
			return runBatch(o, set, eng, c, log)
		})
	}
	size, err := o.validate(set)
	if err != nil {
		errorf(stderr, "vidstyle: error: %v (see -h)\n", err)
		return exitUsage
	}
	run := transcode
	if o.out == "" {
		run = runLive
	}
	return withEngine(o, stderr, func(eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
		return run(o, size, eng, c, log)
	})
}

// exitBrokenPipe is the exit code of a program that SIGPIPE stopped.
const exitBrokenPipe = 128 + int(syscall.SIGPIPE)

// pipeOut is stdout for reports: once its reader has gone (EPIPE), what
// is written is dropped.
type pipeOut struct {
	w      io.Writer
	broken bool
}

func (p *pipeOut) Write(b []byte) (int, error) {
	if p.broken {
		return len(b), nil
	}
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.broken = true
		return len(b), nil
	}
	return n, err
}

// withEngine makes the console, the log and the engine the options ask
// for, runs job with them, says its error in one line and returns its exit
// code.
func withEngine(o options, stderr io.Writer, job func(*vidstyle.Engine, *console, *slog.Logger) (int, error)) int {
	c := newConsole(stderr, o.quiet, o.verbose)
	log := slog.New(&handler{c: c})
	eng, err := o.engine(c, log)
	if err != nil {
		errorf(stderr, "vidstyle: error: %v (see -h)\n", err)
		return exitUsage
	}
	code, err := job(eng, c, log)
	if !errors.Is(err, vidstyle.ErrAborted) {
		// C resources are freed on the way out, but not after an abort:
		// then a job may still be inside OpenCV or ONNX Runtime, and the
		// process is about to exit anyway.
		eng.Close()
	}
	if err != nil {
		c.clearBar()
		c.line("vidstyle: " + errorLine(code, err))
	}
	// Leak check for tests and debugging: a binary built with -tags
	// matprofile reports the Mats still open once everything is closed.
	if n, ok := liveMats(); ok && os.Getenv(debugMatsEnv) != "" && !errors.Is(err, vidstyle.ErrAborted) {
		c.line(fmt.Sprintf("vidstyle: debug: live Mats at exit: %d", n))
	}
	return code
}

// exitCode maps an engine error to the process's exit code.
func exitCode(err error) int {
	if vidstyle.IsUsage(err) {
		return exitUsage
	}
	return exitError
}

// errorLine is how an error is printed: "error: …", but a stop the user
// asked for says what it kept or did without calling it an error.
func errorLine(code int, err error) string {
	if code == exitInterrupted {
		return oneLine(err)
	}
	return "error: " + oneLine(err)
}

// parseFlags parses a command's flags. With positional, arguments may
// follow the flags, but a flag after them is an error with a hint, never
// ignored; without, any argument is an error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, positional bool) (int, bool) {
	name := "vidstyle"
	if fs.Name() != "vidstyle" {
		name = "vidstyle " + fs.Name()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return exitOK, false
		}
		errorf(stderr, "vidstyle: error: %v (see %s -h)\n", err, name)
		return exitUsage, false
	}
	if !positional && fs.NArg() > 0 {
		errorf(stderr, "vidstyle: error: unexpected argument %q (flags come as -name value; see %s -h)\n", fs.Arg(0), name)
		return exitUsage, false
	}
	for _, a := range fs.Args() {
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			errorf(stderr, "vidstyle: error: %s: flag %s comes after the arguments; flags go first: %s %s … %s\n",
				fs.Name(), a, name, a, strings.Join(withoutFlags(fs.Args()), " "))
			return exitUsage, false
		}
	}
	return exitOK, true
}

func withoutFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				i++ // its value
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
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

// validate checks the flags that go together and returns the processing
// size they ask for.
func (o *options) validate(set map[string]bool) (vidstyle.Size, error) {
	if o.in == "" {
		return vidstyle.Size{}, errors.New("-in is required")
	}
	if err := o.checkPublish(set); err != nil {
		return vidstyle.Size{}, err
	}
	if o.out == "" && o.publish == "" && !o.live && !strings.HasPrefix(o.in, "cam:") && !capture.IsURL(o.in) {
		if _, err := strconv.Atoi(o.in); err != nil {
			if o.serve {
				return vidstyle.Size{}, errors.New("-serve streams live: add -live to play the file through it (-loop repeats it), or write a file with -out instead of -serve")
			}
			return vidstyle.Size{}, errors.New("-out is required (or -live to watch a file in the preview window)")
		}
	}
	if set["model"] && strings.TrimSpace(o.model) == "" {
		return vidstyle.Size{}, errors.New("-model is empty: name a style (vidstyle models list shows them)")
	}
	if err := o.checkEncoder(set); err != nil {
		return vidstyle.Size{}, err
	}
	switch {
	case o.loop && !o.live:
		return vidstyle.Size{}, errors.New("-loop goes with -live")
	case o.live && o.out != "":
		return vidstyle.Size{}, errors.New("-live is for the preview window and web page: leave out -out")
	case o.serve && o.out != "":
		return vidstyle.Size{}, errors.New("-serve is live: leave out -out")
	case o.maxViewers < 1:
		return vidstyle.Size{}, errors.New("-max-viewers must be at least 1")
	case set["size"] && set["scale"]:
		return vidstyle.Size{}, errors.New("give -size or -scale, not both")
	case o.threads < 0 || o.interOp < 0 || o.encThreads < 0 || o.frames < 0 || o.crf < -1:
		return vidstyle.Size{}, errors.New("-threads, -interop, -encode-threads, -frames and -crf cannot be negative (-crf -1 is the default)")
	case o.statsPeriod <= 0:
		return vidstyle.Size{}, errors.New("-stats-period must be positive")
	case !(o.temporal >= 0 && o.temporal < 1):
		return vidstyle.Size{}, fmt.Errorf("-temporal %v: use 0 (off) or a blend below 1 (default %v)", o.temporal, vidstyle.DefaultTemporal)
	}
	if set["snapshots"] {
		if err := checkSnapshots(o.snapshots); err != nil {
			return vidstyle.Size{}, err
		}
	}
	var err error
	if o.webCfg, err = o.webConfig(set, o.envToken, o.envTokenSet); err != nil {
		return vidstyle.Size{}, err
	}
	if set["resize"] {
		if o.resizeTo, err = vidstyle.ParseResize(o.resize); err != nil {
			return vidstyle.Size{}, err
		}
	}
	size := vidstyle.Size{Scale: o.scale}
	if set["size"] {
		if size, err = vidstyle.ParseSize(o.size); err != nil {
			return size, err
		}
	}
	if set["scale"] && !(o.scale > 0 && o.scale <= 8) {
		return size, fmt.Errorf("-scale %v: must be above 0 and at most 8", o.scale)
	}
	return size, nil
}

// checkSnapshots says, before the window opens, that a -snapshots folder
// the user named cannot take the snapshots: missing, a file, or read-only
// (the first s would have said it, with the session under way).
func checkSnapshots(dir string) error {
	if !isFolder(dir) {
		return fmt.Errorf("-snapshots %s: no such folder (the preview window's snapshots, key s, go there)", dir)
	}
	if err := writableFolder(dir); err != nil {
		return fmt.Errorf("-snapshots %s: cannot write in it: %w", dir, errors.Unwrap(err))
	}
	return nil
}

// checkEncoder refuses, before anything loads, an output type vidstyle
// cannot write and encoder settings the encoder would refuse: the
// engine's own check (vidstyle.Job.CheckEncoder, which Open makes too),
// so that the flags and the engine agree. A missing or read-only output
// folder stays an error of the run (exit 1), not of the options.
func (o *options) checkEncoder(set map[string]bool) error {
	job := vidstyle.Job{In: o.in, Out: o.out, EncodeThreads: o.encThreads}
	if set["preset"] {
		job.Preset = o.preset
	}
	if o.crf >= 0 {
		job.CRF = new(o.crf)
	}
	return job.CheckEncoder()
}

// indent puts two spaces before each line.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// oneLine is an error's text on one line: a newline in it (a file name
// with one, errors joined) is written as \n, like the other controls.
func oneLine(err error) string {
	return field(hidePasswords(strings.TrimSpace(err.Error())), maxLine)
}
