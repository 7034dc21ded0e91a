package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

const modelsUsage = `Usage:
  vidstyle models list   [flags]              every style -model accepts now, and what can be pulled
  vidstyle models pull   [flags] NAME|URL     download a catalog model (or any ONNX URL) into the models folder
  vidstyle models info   [flags] FILE|NAME    inputs, outputs, contract, metadata and cost of a model
  vidstyle models import [flags] FILE [NAME]  check a local ONNX file and store it in the models folder

Flags come before the arguments. Pulled and imported models are made to run at
any frame size (fixed 224x224 inputs become symbolic), checked by running them.

Flags:
`

// env is what the commands share: logging, the models folder, ONNX Runtime.
type env struct {
	c      *console
	log    *slog.Logger
	store  models.Store
	mirror string
	ortLib string
	rt     *stylize.Runtime
	client *http.Client
}

// runtime loads ONNX Runtime on first use.
func (e *env) runtime() (*stylize.Runtime, error) {
	if e.rt != nil {
		return e.rt, nil
	}
	rt, err := loadRuntime(e.ortLib, e.log)
	if err != nil {
		return nil, err
	}
	e.rt = rt
	return rt, nil
}

func (e *env) close() {
	if e.rt != nil {
		e.rt.Close()
	}
}

// envFlags adds the flags every command takes.
func envFlags(fs *flag.FlagSet, dir, mirror, ortLib *string, quiet *bool) {
	fs.StringVar(dir, "models-dir", models.DefaultStoreDir(), "the models folder")
	fs.StringVar(mirror, "catalog-mirror", "", "fetch catalog models from this base `URL` instead of their source (sizes and hashes still apply)")
	fs.StringVar(ortLib, "ort-lib", "", "ONNX Runtime library `path`")
	fs.BoolVar(quiet, "q", false, "quiet: warnings and errors only")
}

// parseCommand parses a subcommand's flags, which must come before its
// arguments: a flag after them is an error with a hint, never ignored.
func parseCommand(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return exitOK, false
		}
		fmt.Fprintf(stderr, "vidstyle: %s: %v (see vidstyle %s -h)\n", fs.Name(), err, fs.Name())
		return exitUsage, false
	}
	for _, a := range fs.Args() {
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			fmt.Fprintf(stderr, "vidstyle: %s: flag %s comes after the arguments; flags go first: vidstyle %s %s … %s\n",
				fs.Name(), a, fs.Name(), a, strings.Join(withoutFlags(fs.Args()), " "))
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

// modelsMain runs "vidstyle models …".
func modelsMain(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	var dir, mirror, ortLib, sha, name string
	var quiet bool
	fs := flag.NewFlagSet("models "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envFlags(fs, &dir, &mirror, &ortLib, &quiet)
	want := map[string][2]int{"list": {0, 0}, "pull": {1, 1}, "info": {1, 1}, "import": {1, 2}}
	if sub == "pull" {
		fs.StringVar(&sha, "sha256", "", "expected sha256 of a URL download (catalog models have theirs)")
		fs.StringVar(&name, "name", "", "store a URL download under this name (default: the file's base name)")
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
		fmt.Fprintf(stderr, "vidstyle: models: unknown command %q: use list, pull, info or import\n", sub)
		return exitUsage
	}
	if code, ok := parseCommand(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() < n[0] || fs.NArg() > n[1] {
		fmt.Fprintf(stderr, "vidstyle: models %s: wrong number of arguments (see vidstyle models -h)\n", sub)
		return exitUsage
	}
	c := newConsole(stderr, quiet, false)
	e := &env{c: c, log: slog.New(&handler{c: c}), store: models.Store{Dir: dir}, mirror: mirror, ortLib: ortLib,
		client: &http.Client{Timeout: 10 * time.Minute}}
	defer e.close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch sub {
	case "list":
		err = e.list(stdout)
	case "pull":
		err = e.pullCommand(ctx, fs.Arg(0), name, sha)
	case "info":
		err = e.info(fs.Arg(0), stdout)
	case "import":
		err = e.importFile(fs.Arg(0), fs.Arg(1))
	}
	if err != nil {
		c.clearBar()
		c.line("vidstyle: error: " + oneLine(err))
		return exitError
	}
	return exitOK
}

// list prints every style -model accepts now, and the catalog.
func (e *env) list(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tWHERE\tSIZE\tLICENCE\tSTATUS")
	for _, b := range models.Builtins() {
		fmt.Fprintf(tw, "%s\tbuilt in\t-\tsame as vidstyle\tready: %s\n", b.Name, b.Description)
	}
	stored, err := e.store.Names()
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
		if data, err := os.ReadFile(e.store.Path(name)); err == nil {
			if g, err := models.ParseGraph(data); err == nil {
				if l, ok := g.MetadataValue("license"); ok {
					licence = l
				}
			}
		}
		if c, ok := models.LookupCatalog(name); ok && licence == "?" {
			licence = c.License
		}
		fmt.Fprintf(tw, "%s\tmodels folder\t%s\t%s\tready\n", name, size, licence)
	}
	for _, c := range models.Catalog() {
		if !have[c.Name] {
			fmt.Fprintf(tw, "%s\tcatalog\t%s\t%s\tnot downloaded: vidstyle models pull %s\n", c.Name, megabytes(c.Size), c.License, c.Name)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "models folder: %s\n", e.store.Dir)
	return nil
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// pullCommand pulls a catalog name or a URL.
func (e *env) pullCommand(ctx context.Context, what, name, sha string) error {
	if strings.Contains(what, "://") {
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(what), ".onnx")
		}
		_, err := e.pull(ctx, models.CatalogEntry{Name: name, URL: what, SHA256: sha})
		return err
	}
	if name != "" || sha != "" {
		return fmt.Errorf("-name and -sha256 are for URL downloads; catalog models have their own")
	}
	entry, ok := models.LookupCatalog(what)
	if !ok {
		return fmt.Errorf("%w %q: not in the catalog (vidstyle models list shows it); for a file on the web give its URL", models.ErrUnknownModel, what)
	}
	_, err := e.pull(ctx, entry.WithMirror(e.mirror))
	return err
}

// pull downloads a model, makes it run at any size, and stores it. A model
// already stored from the same bytes is left alone.
func (e *env) pull(ctx context.Context, entry models.CatalogEntry) (string, error) {
	if entry.SHA256 != "" && e.store.Has(entry.Name) {
		if src, err := e.store.StoredSource(entry.Name); err == nil && strings.EqualFold(src.SHA256, entry.SHA256) {
			e.log.Info(fmt.Sprintf("%s is already in the models folder: %s", entry.Name, e.store.Path(entry.Name)))
			return e.store.Path(entry.Name), nil
		}
	}
	e.log.Info(fmt.Sprintf("downloading %s from %s", entry.Name, entry.URL))
	start := time.Now()
	data, sum, err := models.Fetch(ctx, e.client, models.Download{URL: entry.URL, Size: entry.Size, SHA256: entry.SHA256,
		Progress: func(done, total int64) { e.byteProgress(done, total, start) }})
	e.c.clearBar()
	if err != nil {
		return "", err
	}
	if entry.SHA256 == "" {
		e.log.Warn(fmt.Sprintf("no sha256 to check %s against; it is %s (pass -sha256 %s to check it next time)", entry.URL, sum, sum))
	}
	return e.store1(entry.Name, data, models.Source{URL: entry.URL, SHA256: sum})
}

func (e *env) byteProgress(done, total int64, start time.Time) {
	if !e.c.tty || e.c.minimum > slog.LevelInfo {
		return
	}
	rate := float64(done) / max(time.Since(start).Seconds(), 1e-3) / 1e6
	if total > 0 {
		e.c.drawBar(fmt.Sprintf("%3d%% %s of %s  %.1f MB/s", done*100/total, megabytes(done), megabytes(total), rate))
	} else {
		e.c.drawBar(fmt.Sprintf("%s  %.1f MB/s", megabytes(done), rate))
	}
}

// importFile checks a local ONNX file and stores it.
func (e *env) importFile(path, name string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256(data)
	stored, err := e.store1(name, data, models.Source{URL: "file://" + abs, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return err
	}
	if side, err := os.ReadFile(models.SidecarPath(path)); err == nil {
		if _, err := models.ParseSidecar(side); err != nil {
			return fmt.Errorf("sidecar %s: %w", models.SidecarPath(path), err)
		}
		if err := os.WriteFile(models.SidecarPath(stored), side, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// store1 checks a model, makes it size-free when it can, and stores it.
func (e *env) store1(name string, data []byte, src models.Source) (string, error) {
	g, err := models.ParseGraph(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if _, _, err := g.CheckImage(); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	conv, err := models.ResolveConvention(g, "")
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	rt, err := e.runtime()
	if err != nil {
		return "", err
	}
	prepared, err := anySize(rt, name, data, conv, e.log)
	if err != nil {
		return "", err
	}
	path, err := e.store.Put(name, models.WithSource(prepared, src))
	if err != nil {
		return "", err
	}
	e.log.Info(fmt.Sprintf("stored %s in %s (%s): use it with -model %s", name, path, megabytes(int64(len(prepared))), name))
	return path, nil
}

// anySize returns a version of the model that runs at any frame size, shown
// by running it at two sizes. A graph that really depends on its declared
// size is kept as it is, with a warning: frames will be resized to it.
func anySize(rt *stylize.Runtime, name string, data []byte, conv models.Convention, log *slog.Logger) ([]byte, error) {
	free, changed, err := models.FreeSize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	runs := func(graph []byte) error {
		for _, sz := range [][2]int{{96, 64}, {72, 120}} {
			if err := runOnce(rt, stylize.Model{Name: name, ONNX: graph, Convention: conv}, sz[0], sz[1]); err != nil {
				return err
			}
		}
		return nil
	}
	err = runs(free)
	switch {
	case err == nil:
		if changed {
			log.Info(fmt.Sprintf("%s declared a fixed input size; rewritten to take any size (checked at 96x64 and 72x120)", name))
		}
		return free, nil
	case !changed:
		return nil, err
	}
	log.Warn(fmt.Sprintf("%s depends on its declared size (%s): keeping it; frames will be resized to that size", name, oneLine(err)))
	if err := runOnce(rt, stylize.Model{Name: name, ONNX: data, Convention: conv}, 96, 64); err != nil {
		return nil, err
	}
	return data, nil
}

// runOnce runs a model on one grey w×h frame and checks the result's size.
func runOnce(rt *stylize.Runtime, m stylize.Model, w, h int) error {
	s, err := stylize.New(rt, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceCPU})
	if err != nil {
		return err
	}
	defer s.Close()
	in := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), h, w, gocv.MatTypeCV8UC3)
	defer in.Close()
	out := gocv.NewMat()
	defer out.Close()
	if err := s.Prepare(0, &in); err != nil {
		return err
	}
	if err := s.Infer(0); err != nil {
		return err
	}
	if err := s.Finish(0, &out); err != nil {
		return err
	}
	if out.Cols() != w || out.Rows() != h {
		return fmt.Errorf("model %s: %dx%d in, %dx%d out", m.Name, w, h, out.Cols(), out.Rows())
	}
	return nil
}

// info prints what vidstyle knows about a model.
func (e *env) info(what string, w io.Writer) error {
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
	fmt.Fprintf(tw, "model\t%s (%s, %s)\n", m.Name, where, megabytes(int64(len(data))))
	fmt.Fprintf(tw, "format\tONNX IR %d, opset %d, producer %q\n", g.IRVersion, g.Opset, g.Producer)
	for _, v := range g.Inputs {
		fmt.Fprintf(tw, "input\t%s %s %s\n", v.Name, models.ElemTypeName(v.ElemType), dims(v.Dims))
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(tw, "output\t%s %s %s\n", v.Name, models.ElemTypeName(v.ElemType), dims(v.Dims))
	}
	h, wd, cerr := g.CheckImage()
	conv, verr := models.ResolveConvention(g, m.Sidecar())
	switch {
	case cerr != nil:
		fmt.Fprintf(tw, "contract\tcannot run: %v\n", cerr)
	case verr != nil:
		fmt.Fprintf(tw, "contract\tcannot run: %v\n", verr)
	case h > 0:
		fmt.Fprintf(tw, "contract\t%s; fixed %dx%d (frames are resized to it; vidstyle models import makes it size-free)\n", conv, wd, h)
	default:
		fmt.Fprintf(tw, "contract\t%s; any frame size\n", conv)
	}
	if cost, err := g.Cost(); err != nil {
		fmt.Fprintf(tw, "cost\tunknown: %v\n", err)
	} else {
		note := ""
		if len(cost.Unknown) > 0 {
			note = " (at least: not counted: " + strings.Join(cost.Unknown, ", ") + ")"
		}
		fmt.Fprintf(tw, "cost\t%.3f MFLOP per output pixel = %.0f GFLOP per megapixel; %.1f GFLOP at 640x360, %.0f at 1280x720; %d convolutions%s\n",
			cost.FLOPsPerPixel()/1e6, cost.FLOPsPerPixel()/1e3, cost.GFLOPs(640, 360), cost.GFLOPs(1280, 720), cost.Layers, note)
	}
	for i, kv := range g.Metadata {
		label := ""
		if i == 0 {
			label = "metadata"
		}
		v := kv.Value
		if len(v) > 100 {
			v = v[:97] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, kv.Key, strings.ReplaceAll(v, "\n", " "))
	}
	return tw.Flush()
}

func dims(ds []models.Dim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
