package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

const modelsUsage = `Usage:
  vidstyle models list   [flags]              every style -model accepts now, and what can be pulled
  vidstyle models pull   [flags] NAME|URL     download a catalog model (or any ONNX URL) into the models folder
  vidstyle models info   [flags] FILE|NAME    inputs, outputs, contract, metadata and cost of a model
  vidstyle models import [flags] FILE [NAME]  check a local ONNX file and store it in the models folder
  vidstyle models quantize [-calib DIR|VIDEO] [-frames N] [flags] MODEL [NAME]
                                              an INT8 copy of a float32 Johnson-style model, calibrated
                                              on real frames, stored as NAME (default MODEL.int8)

Flags come before the arguments. Pulled and imported models are made to run at
any frame size (fixed 224x224 inputs become symbolic), checked by running them.

Flags:
`

// modelsCmd is what the models commands share.
type modelsCmd struct {
	eng    *vidstyle.Engine
	store  models.Store
	mirror string
}

// modelsMain runs "vidstyle models …".
func modelsMain(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	var ef engineFlags
	var sha, name, calib string
	var frames int
	fs := flag.NewFlagSet("models "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ef.add(fs, false)
	want := map[string][2]int{"list": {0, 0}, "pull": {1, 1}, "info": {1, 1}, "import": {1, 2}, "quantize": {1, 2}}
	if sub == "pull" {
		fs.StringVar(&sha, "sha256", "", "expected sha256 of a URL download (catalog models have theirs)")
		fs.StringVar(&name, "name", "", "store a URL download under this name (default: the file's base name)")
	}
	if sub == "quantize" {
		fs.StringVar(&calib, "calib", "", "calibrate on this folder of photos, video or image (default: the photos in ../shared/testdata beside the checkout)")
		fs.IntVar(&frames, "frames", 24, "calibration frames")
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), modelsUsage)
		fs.PrintDefaults()
	}
	n, ok := want[sub]
	if !ok {
		if sub == "" || sub == "-h" || sub == "help" || sub == "--help" {
			fs.SetOutput(stderr)
			fs.Usage()
			if sub == "" {
				return exitUsage
			}
			return exitOK
		}
		errorf(stderr, "vidstyle: error: models: unknown command %q: use list, pull, info, import or quantize\n", sub)
		return exitUsage
	}
	if code, ok := parseFlags(fs, args, stderr, true); !ok {
		return code
	}
	if sub == "quantize" && frames < 1 {
		errorf(stderr, "vidstyle: error: models quantize: -frames %d: give 1 or more calibration frames\n", frames)
		return exitUsage
	}
	if fs.NArg() < n[0] || fs.NArg() > n[1] {
		errorf(stderr, "vidstyle: error: models %s: wrong number of arguments (see vidstyle models -h)\n", sub)
		return exitUsage
	}
	for _, a := range fs.Args() {
		if strings.TrimSpace(a) == "" {
			errorf(stderr, "vidstyle: error: models %s: an argument is empty: name a model (see vidstyle models -h)\n", sub)
			return exitUsage
		}
	}
	c := newConsole(stderr, ef.quiet, ef.verbose)
	eng, err := ef.engine(c, slog.New(&handler{c: c}))
	if err != nil {
		errorf(stderr, "vidstyle: error: %v (see vidstyle models -h)\n", err)
		return exitUsage
	}
	defer eng.Close()
	m := &modelsCmd{eng: eng, store: eng.Store(), mirror: ef.mirror}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		// The first signal stops what can stop (a download, calibration,
		// the store after an import's check) and gives the signals back
		// to their default: a second one ends the process at once, even
		// while ONNX Runtime is busy.
		<-ctx.Done()
		stop()
	}()

	switch sub {
	case "list":
		err = m.list(stdout)
	case "pull":
		err = m.pull(ctx, fs.Arg(0), name, sha)
	case "info":
		err = m.info(fs.Arg(0), stdout)
	case "import":
		_, err = eng.ImportContext(ctx, fs.Arg(0), fs.Arg(1))
	case "quantize":
		_, err = eng.Quantize(ctx, vidstyle.QuantizeJob{Model: fs.Arg(0), Name: fs.Arg(1), Calib: calib, Frames: frames})
	}
	if err != nil {
		code := exitCode(err)
		if ctx.Err() != nil { // stopped by a signal
			code = exitInterrupted
		}
		c.clearBar()
		c.line("vidstyle: " + errorLine(code, err))
		return code
	}
	return exitOK
}

// list prints every style -model accepts now, and the catalog.
func (e *modelsCmd) list(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tWHERE\tSIZE\tLICENCE\tSTATUS")
	for _, b := range models.Builtins() {
		fmt.Fprintf(tw, "%s\tbuilt in\t-\tsame as vidstyle\tready: %s\n", b.Name, b.Description)
	}
	stored, err := e.eng.StoredModels() // warns about files named like a built-in style
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, name := range stored {
		have[name] = true
		size, licence := "?", "?"
		if st, err := os.Stat(e.store.Path(name)); err == nil {
			size = megabytes(st.Size())
		}
		if data, err := models.ReadFile(e.store.Path(name)); err == nil {
			if g, err := models.ParseGraph(data); err == nil {
				if l, ok := g.MetadataValue("license"); ok {
					licence = l
				}
			}
		}
		if c, ok := models.LookupCatalog(name); ok && licence == "?" {
			licence = c.License
		}
		fmt.Fprintf(tw, "%s\tmodels folder\t%s\t%s\tready\n", field(name, 60), size, field(licence, 60))
	}
	for _, c := range models.Catalog() {
		if !have[c.Name] {
			fmt.Fprintf(tw, "%s\tcatalog\t%s\t%s\tnot downloaded: vidstyle models pull %s\n", c.Name, megabytes(c.Size), c.License, c.Name)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if e.store.Dir == "" {
		fmt.Fprintln(w, "models folder: none ($HOME is not set: give one with -models-dir DIR or $"+models.StoreDirEnv+")")
		return nil
	}
	fmt.Fprintf(w, "models folder: %s\n", e.store.Dir)
	return nil
}

// pull pulls a catalog name or a URL.
func (e *modelsCmd) pull(ctx context.Context, what, name, sha string) error {
	if strings.Contains(what, "://") {
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(what), ".onnx")
		}
		_, err := e.eng.Pull(ctx, models.CatalogEntry{Name: name, URL: what, SHA256: sha})
		return err
	}
	if name != "" || sha != "" {
		return fmt.Errorf("-name and -sha256 are for URL downloads; catalog models have their own")
	}
	entry, ok := models.LookupCatalog(what)
	if !ok {
		return fmt.Errorf("%w %q: not in the catalog (vidstyle models list shows it); for a file on the web give its URL", models.ErrUnknownModel, what)
	}
	_, err := e.eng.Pull(ctx, entry.WithMirror(e.mirror))
	return err
}

// info prints what vidstyle knows about a model.
func (e *modelsCmd) info(what string, w io.Writer) error {
	m, err := e.store.Resolve(what)
	if err != nil {
		return err
	}
	if m.Catalog != nil {
		return fmt.Errorf("%s is in the catalog but not downloaded: vidstyle models pull %s", m.Name, m.Name)
	}
	data, err := m.ONNX()
	if err != nil {
		return err
	}
	g, err := models.ParseGraph(data)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	where := "built in"
	if m.Path != "" {
		where = m.Path
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s (%s, %s)\n", field(m.Name, 100), printable(where, false), megabytes(int64(len(data))))
	fmt.Fprintf(tw, "format\tONNX IR %d, opset %d, producer \"%s\"\n", g.IRVersion, g.Opset, field(g.Producer, 100))
	precision := g.Precision()
	if from, ok := g.MetadataValue(models.MetaQuantizedName); ok {
		precision += " (quantized from " + field(from, 100) + ")"
	}
	fmt.Fprintf(tw, "precision\t%s\n", precision)
	for _, v := range g.Inputs {
		fmt.Fprintf(tw, "input\t%s %s %s\n", field(v.Name, 100), models.ElemTypeName(v.ElemType), dims(v.Dims))
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(tw, "output\t%s %s %s\n", field(v.Name, 100), models.ElemTypeName(v.ElemType), dims(v.Dims))
	}
	h, wd, cerr := g.CheckImage()
	conv, verr := models.ResolveConvention(g, m.Sidecar())
	lerr := e.loads(data)
	switch {
	case lerr != nil:
		fmt.Fprintf(tw, "contract\tcannot load in ONNX Runtime: %s\n", printable(lerr.Error(), false))
	case cerr != nil:
		fmt.Fprintf(tw, "contract\tcannot run: %s\n", printable(cerr.Error(), false))
	case verr != nil:
		fmt.Fprintf(tw, "contract\tcannot run: %s\n", printable(verr.Error(), false))
	case h > 0 && wd > 0:
		fmt.Fprintf(tw, "contract\t%s; fixed %dx%d (frames are resized to it; vidstyle models import makes it size-free)\n", conv, wd, h)
	case h > 0:
		fmt.Fprintf(tw, "contract\t%s; fixed height %d (frames are resized to it, keeping their shape; vidstyle models import makes it size-free)\n", conv, h)
	case wd > 0:
		fmt.Fprintf(tw, "contract\t%s; fixed width %d (frames are resized to it, keeping their shape; vidstyle models import makes it size-free)\n", conv, wd)
	default:
		fmt.Fprintf(tw, "contract\t%s; any frame size\n", conv)
	}
	if cost, err := g.Cost(); err != nil {
		fmt.Fprintf(tw, "cost\tunknown: %s\n", printable(err.Error(), false))
	} else {
		note := ""
		if len(cost.Unknown) > 0 {
			note = " (at least: not counted: " + field(strings.Join(cost.Unknown, ", "), 200) + ")"
		}
		fmt.Fprintf(tw, "cost\t%.3f MFLOP per output pixel = %.0f GFLOP per megapixel; %.1f GFLOP at 640x360, %.0f at 1280x720; %d convolutions%s\n",
			cost.FLOPsPerPixel()/1e6, cost.FLOPsPerPixel()/1e3, cost.GFLOPs(640, 360), cost.GFLOPs(1280, 720), cost.Layers, note)
	}
	// A model's own entries are a few; a crafted one may hold a million
	// (shown whole, they buried the rest of the terminal).
	const maxMetadata = 40
	for i, kv := range g.Metadata {
		label := ""
		if i == 0 {
			label = "metadata"
		}
		if i == maxMetadata {
			fmt.Fprintf(tw, "\t… and %d more entries\n", len(g.Metadata)-maxMetadata)
			break
		}
		v := strings.Join(strings.Fields(kv.Value), " ") // one line
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, field(kv.Key, 60), field(v, 100))
	}
	return tw.Flush()
}

// loads reports whether ONNX Runtime loads the model (on the CPU, one
// thread): the graph can be read and still name an IR version, an opset
// or a shape the runtime refuses. Without a runtime library it says
// nothing.
func (e *modelsCmd) loads(data []byte) error {
	rt, err := e.eng.Runtime()
	if err != nil {
		return nil
	}
	r, err := stylize.NewRunner(rt, data, nil, 1)
	if err != nil {
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, "not a valid ONNX model: "); ok {
			msg = after
		}
		return errors.New(msg)
	}
	r.Close()
	return nil
}

func dims(ds []models.Dim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = field(d.String(), 40)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
