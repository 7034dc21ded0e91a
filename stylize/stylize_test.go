package stylize_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// sharedModel returns a pretrained model from ../shared/models, or skips.
func sharedModel(t testing.TB, name string) stylize.Model {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", name+".onnx")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("pretrained model %s not present (%v): skipping", name, err)
	}
	return stylize.Model{Name: name, ONNX: data}
}

func builtin(t testing.TB, name string) stylize.Model {
	t.Helper()
	return testort.Models(t, name)[0]
}

// stylizeOne runs frame through slot of s into out: prepare, infer,
// finish; the error names the step that failed.
func stylizeOne(s *stylize.Stylizer, slot int, frame, out *gocv.Mat) error {
	if err := s.Prepare(slot, frame); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := s.Infer(slot); err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	if err := s.Finish(slot, out); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

func newStylizer(t testing.TB, m stylize.Model, cfg stylize.Config) *stylize.Stylizer {
	t.Helper()
	if cfg.Device == "" {
		cfg.Device = stylize.DeviceCPU
	}
	s, err := stylize.New(sharedRT, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// johnsonModel is the project's Johnson test graph made with o, with the
// pixel convention its graph and metadata give.
func johnsonModel(t testing.TB, name string, o testmodels.JohnsonOptions) stylize.Model {
	t.Helper()
	data := testmodels.JohnsonGraph(o)
	g, err := models.ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := models.ResolveConvention(g, "")
	if err != nil {
		t.Fatal(err)
	}
	return stylize.Model{Name: name, ONNX: data, Convention: conv}
}

func randomBGR(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 3*w*h)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func TestPackUnpackRoundTripIsExact(t *testing.T) {
	for _, sz := range [][2]int{{16, 16}, {17, 33}, {560, 320}, {101, 75}} {
		w, h := sz[0], sz[1]
		pw, ph := stylize.PadTo(w, 4), stylize.PadTo(h, 4)
		src := randomBGR(w, h, uint64(w*h))
		planes := make([]float32, 3*pw*ph)
		stylize.Pack(planes, pw, ph, src, w, h, 3*w)
		dst := make([]byte, len(src))
		stylize.Unpack(dst, w, h, 3*w, planes, pw, ph)
		if !bytes.Equal(src, dst) {
			t.Errorf("%dx%d: round trip changed pixels", w, h)
		}
		// The padding repeats the last column and row.
		if pw > w && planes[pw-1] != planes[w-1] {
			t.Errorf("%dx%d: right padding %v, want %v", w, h, planes[pw-1], planes[w-1])
		}
	}
}

func TestUnpackRoundsAndClamps(t *testing.T) {
	planes := []float32{-20, 254.6, 300, 127.49, // R
		0.5, 1.49, float32(nanValue()), 255, // G
		10, 20, 30, 40} // B
	dst := make([]byte, 12)
	stylize.Unpack(dst, 4, 1, 12, planes, 4, 1)
	want := []byte{10, 1, 0, 20, 1, 255, 30, 0, 255, 40, 255, 127}
	if !bytes.Equal(dst, want) {
		t.Fatalf("got %v, want %v", dst, want)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestRedFrameReachesModelAsR255(t *testing.T) {
	const w, h = 18, 17 // not multiples of 4: padding is checked too
	s := newStylizer(t, builtin(t, "toon"), stylize.Config{FrameWidth: w, FrameHeight: h})
	red := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 255, 0), h, w, gocv.MatTypeCV8UC3) // BGR
	defer red.Close()
	if err := s.Prepare(1, &red); err != nil {
		t.Fatal(err)
	}
	in := s.InputPlanes(1)
	plane := len(in) / 3
	if plane != 20*20 {
		t.Fatalf("input plane has %d values, want 20x20", plane)
	}
	for i := 0; i < plane; i++ {
		if in[i] != 255 || in[plane+i] != 0 || in[2*plane+i] != 0 {
			t.Fatalf("value %d: RGB = %v %v %v, want 255 0 0", i, in[i], in[plane+i], in[2*plane+i])
		}
	}
	// And the toon style keeps red red: R high, G and B low.
	if err := s.Infer(1); err != nil {
		t.Fatal(err)
	}
	out := gocv.NewMat()
	defer out.Close()
	if err := s.Finish(1, &out); err != nil {
		t.Fatal(err)
	}
	px := out.GetVecbAt(h/2, w/2)
	if px[2] < 200 || px[0] > 60 || px[1] > 60 {
		t.Errorf("centre pixel BGR %v: red did not stay red", px)
	}
}

func TestOddSizesComeBackAtTheirOwnSize(t *testing.T) {
	ms := []stylize.Model{builtin(t, "toon"), builtin(t, "pencil")}
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "models", "udnie.onnx")); err == nil {
		ms = append(ms, sharedModel(t, "udnie"))
	} else {
		t.Log("pretrained udnie not present: checking built-in styles only")
	}
	for _, m := range ms {
		for _, sz := range [][4]int{{17, 33, 0, 0}, {101, 75, 0, 0}, {16, 16, 0, 0}, {130, 98, 65, 49}, {64, 36, 128, 72}} {
			s := newStylizer(t, m, stylize.Config{FrameWidth: sz[0], FrameHeight: sz[1], Width: sz[2], Height: sz[3]})
			frame := gocv.NewMatWithSize(sz[1], sz[0], gocv.MatTypeCV8UC3)
			gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
			out := gocv.NewMat()
			for slot := range s.Slots() {
				if err := stylizeOne(s, slot, &frame, &out); err != nil {
					t.Fatalf("%s %v: %v", m.Name, sz, err)
				}
				if out.Cols() != sz[0] || out.Rows() != sz[1] || out.Type() != gocv.MatTypeCV8UC3 {
					t.Errorf("%s %v: output %dx%d type %v", m.Name, sz, out.Cols(), out.Rows(), out.Type())
				}
			}
			frame.Close()
			out.Close()
			s.Close()
		}
	}
}

func TestPrepareRejectsFrameOfAnotherSize(t *testing.T) {
	s := newStylizer(t, builtin(t, "toon"), stylize.Config{FrameWidth: 32, FrameHeight: 32})
	m := gocv.NewMatWithSize(20, 32, gocv.MatTypeCV8UC3)
	defer m.Close()
	if err := s.Prepare(0, &m); !errors.Is(err, stylize.ErrFrame) {
		t.Fatalf("err = %v, want ErrFrame", err)
	}
}

func TestNewRejectsTinyFramesAndBadModels(t *testing.T) {
	rt := sharedRT
	cases := []struct {
		name  string
		model stylize.Model
		cfg   stylize.Config
		want  string
	}{
		{"tiny frame", builtin(t, "toon"), stylize.Config{FrameWidth: 15, FrameHeight: 40}, "smaller than the 16x16 minimum"},
		{"tiny processing size", builtin(t, "toon"), stylize.Config{FrameWidth: 64, FrameHeight: 64, Width: 8, Height: 8}, "processing size 8x8"},
		{"not onnx", stylize.Model{Name: "notes.onnx", ONNX: []byte("hello, I am text")}, stylize.Config{FrameWidth: 64, FrameHeight: 64}, "not a valid ONNX model"},
		{"truncated", stylize.Model{Name: "half", ONNX: builtin(t, "toon").ONNX[:300]}, stylize.Config{FrameWidth: 64, FrameHeight: 64}, "not a valid ONNX model"},
		{"bad device", builtin(t, "toon"), stylize.Config{FrameWidth: 64, FrameHeight: 64, Device: "tpu"}, `device "tpu"`},
		// A working model with one field more (99, a varint) 10 bytes long whose
		// last byte is above 1: ONNX Runtime's parser takes it, Go's
		// refuses it, so the external-data check could not read the model.
		{"unreadable varint", stylize.Model{Name: "odd", ONNX: append(builtin(t, "toon").ONNX, 0x98, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
			stylize.Config{FrameWidth: 64, FrameHeight: 64}, "not a valid ONNX model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := stylize.New(rt, c.model, c.cfg)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %q, want one line containing %q", err, c.want)
			}
			if c.model.Name == "odd" {
				if r, err := stylize.NewRunner(rt, c.model.ONNX, nil, 1); err == nil {
					r.Close()
					t.Error("NewRunner runs it")
				}
			}
		})
	}
}

func TestDeviceAutoFallsBackToCPUAndSaysWhy(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newStylizer(t, builtin(t, "toon"), stylize.Config{FrameWidth: 32, FrameHeight: 32, Device: stylize.DeviceAuto, Log: log})
	if s.Device() != stylize.DeviceCPU {
		t.Skipf("a GPU provider loaded (%s): no fallback to check", s.Device())
	}
	// A runtime with no GPU providers at all: nothing was asked of a GPU,
	// so the line is a debug one (the job's own line names the device).
	// Providers that are there but find no CUDA make it an info line.
	level := "level=DEBUG"
	if _, err := os.Stat(filepath.Join(filepath.Dir(sharedRT.Path()), "libonnxruntime_providers_cuda.so")); err == nil {
		level = "level=INFO"
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `msg="device cpu"`) || !strings.Contains(lines[0], "cuda unavailable") ||
		!strings.Contains(lines[0], level) {
		t.Fatalf("log = %q, want one line (%s) choosing cpu and saying why", buf.String(), level)
	}
	// Asking for CUDA outright is an error, not a silent fallback.
	if _, err := stylize.New(sharedRT, builtin(t, "toon"), stylize.Config{FrameWidth: 32, FrameHeight: 32, Device: stylize.DeviceCUDA}); !errors.Is(err, stylize.ErrDevice) {
		t.Fatalf("-device cuda on a CPU-only runtime: err = %v, want ErrDevice", err)
	}
}

func TestFindLibrary(t *testing.T) {
	dir := t.TempDir()
	if _, err := stylize.FindLibrary(filepath.Join(dir, "nope.so"), "", ""); !errors.Is(err, stylize.ErrLibrary) {
		t.Errorf("missing explicit path: err = %v", err)
	}
	lib := filepath.Join(dir, "lib", stylize.LibraryName)
	os.MkdirAll(filepath.Dir(lib), 0o755)
	os.WriteFile(lib, []byte("x"), 0o644)
	if p, err := stylize.FindLibrary(filepath.Join(dir, "lib"), "", ""); err != nil || p != lib {
		t.Errorf("folder: %q %v", p, err)
	}
	// Beside the binary: bin/../lib.
	if p, _ := stylize.FindLibrary("", filepath.Join(dir, "bin"), ""); p != lib {
		t.Errorf("exe-relative: %q, want %q", p, lib)
	}
	// In the checkout that holds the working directory.
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644)
	deep := filepath.Join(dir, "a", "b")
	os.MkdirAll(deep, 0o755)
	if p, _ := stylize.FindLibrary("", "", deep); p != lib {
		t.Errorf("checkout: %q, want %q", p, lib)
	}
	if p, _ := stylize.FindLibrary("", "", t.TempDir()); p != stylize.LibraryName {
		t.Errorf("fallback: %q, want the bare name", p)
	}
}

func TestLoadTwiceIsRefused(t *testing.T) {
	if _, err := stylize.Load(sharedRT.Path(), slog.New(slog.DiscardHandler)); !errors.Is(err, stylize.ErrLibrary) {
		t.Fatalf("second Load: err = %v", err)
	}
}

// TestLibraryVersion reads the version of the library the tests loaded
// without asking it for an API, and refuses what is not ONNX Runtime.
func TestLibraryVersion(t *testing.T) {
	if v := stylize.LibraryVersion(sharedRT.Path()); v != sharedRT.Version() || v == "" {
		t.Errorf("LibraryVersion = %q, the binding says %q", v, sharedRT.Version())
	}
	for _, p := range []string{"/lib/x86_64-linux-gnu/libz.so.1", "/nonexistent.so", "/etc/hostname"} {
		if v := stylize.LibraryVersion(p); v != "" {
			t.Errorf("LibraryVersion(%s) = %q", p, v)
		}
	}
}

func BenchmarkPackUnpack640x360(b *testing.B) {
	const w, h = 640, 360
	src := randomBGR(w, h, 7)
	planes := make([]float32, 3*w*h)
	dst := make([]byte, len(src))
	b.ReportAllocs()
	for b.Loop() {
		stylize.Pack(planes, w, h, src, w, h, 3*w)
		stylize.Unpack(dst, w, h, 3*w, planes, w, h)
	}
}

func TestImportedZooShapedModelRunsAtAnySize(t *testing.T) {
	fixed := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224})
	free, changed, err := models.FreeSize(fixed)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	for _, sz := range [][2]int{{560, 320}, {640, 360}} {
		s := newStylizer(t, stylize.Model{Name: "zoo", ONNX: free}, stylize.Config{FrameWidth: sz[0], FrameHeight: sz[1]})
		if w, h := s.Size(); w != sz[0] || h != sz[1] {
			t.Fatalf("processing size %dx%d", w, h)
		}
		frame := gocv.NewMatWithSize(sz[1], sz[0], gocv.MatTypeCV8UC3)
		out := gocv.NewMat()
		if err := stylizeOne(s, 0, &frame, &out); err != nil {
			t.Fatalf("%v: %v", sz, err)
		}
		if out.Cols() != sz[0] || out.Rows() != sz[1] {
			t.Errorf("output %dx%d", out.Cols(), out.Rows())
		}
		frame.Close()
		out.Close()
		s.Close()
	}
	// Not rewritten: it runs at its own size, with a warning, and frames are
	// resized to it and back.
	var logs bytes.Buffer
	s := newStylizer(t, stylize.Model{Name: "zoo224", ONNX: fixed}, stylize.Config{FrameWidth: 560, FrameHeight: 320, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if w, h := s.Size(); w != 224 || h != 224 || !strings.Contains(logs.String(), "takes only 224x224 frames") {
		t.Fatalf("fixed model: size %dx%d, log %q", w, h, logs.String())
	}
	// A fixed size beyond what vidstyle paints is refused in one line
	// (100000x100000: Go was asked for 120 GB at once, a crash).
	huge := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 100000})
	if _, err := stylize.New(sharedRT, stylize.Model{Name: "huge", ONNX: huge}, stylize.Config{FrameWidth: 560, FrameHeight: 320, Device: stylize.DeviceCPU}); err == nil ||
		!strings.Contains(err.Error(), "takes only 100000x100000 frames, more than vidstyle paints") {
		t.Errorf("a 100000x100000 model: %v", err)
	}
	frame := gocv.NewMatWithSize(320, 560, gocv.MatTypeCV8UC3)
	defer frame.Close()
	out := gocv.NewMat()
	defer out.Close()
	if err := stylizeOne(s, 1, &frame, &out); err != nil || out.Cols() != 560 || out.Rows() != 320 {
		t.Fatalf("fixed model output %dx%d %v", out.Cols(), out.Rows(), err)
	}
}

func TestPackWithLayouts(t *testing.T) {
	const w, h = 5, 3
	src := randomBGR(w, h, 3)
	for _, l := range []stylize.Layout{
		{Scale: 1},
		{NHWC: true, Scale: 1},
		{BGR: true, Scale: 1.0 / 255},
		{NHWC: true, BGR: true, Scale: 2.0 / 255, Offset: -1},
	} {
		pw, ph := stylize.PadTo(w, 4), stylize.PadTo(h, 4)
		planes := make([]float32, 3*pw*ph)
		stylize.PackWith(planes, pw, ph, src, w, h, 3*w, l)
		// Pixel (1,2): check where its red value went.
		x, y := 1, 2
		red := float64(src[(y*w+x)*3+2])*l.Scale + l.Offset
		c := 0
		if l.BGR {
			c = 2
		}
		idx := c*pw*ph + y*pw + x
		if l.NHWC {
			idx = (y*pw+x)*3 + c
		}
		if math.Abs(float64(planes[idx])-red) > 1e-5 {
			t.Errorf("%+v: red at %d is %v, want %v", l, idx, planes[idx], red)
		}
		dst := make([]byte, len(src))
		stylize.UnpackWith(dst, w, h, 3*w, planes, pw, ph, l)
		if !bytes.Equal(dst, src) {
			t.Errorf("%+v: round trip changed pixels", l)
		}
	}
}

// TestConventionsPaintTheSamePicture: a graph that takes NHWC, BGR or
// another value range (and converts inside) paints, when fed by its
// convention, what the plain Johnson graph with the same weights paints.
func TestConventionsPaintTheSamePicture(t *testing.T) {
	const w, h = 66, 50
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer frame.Close()
	gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	paint := func(o testmodels.JohnsonOptions) gocv.Mat {
		s := newStylizer(t, johnsonModel(t, "j", o), stylize.Config{FrameWidth: w, FrameHeight: h})
		out := gocv.NewMat()
		if err := stylizeOne(s, 0, &frame, &out); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		return out
	}
	plain := paint(testmodels.JohnsonOptions{Opset: 13, Seed: 3})
	defer plain.Close()
	for _, o := range []testmodels.JohnsonOptions{
		{Opset: 13, Seed: 3, NHWC: true},
		{Opset: 13, Seed: 3, BGR: true},
		{Opset: 13, Seed: 3, Range: "0..1"},
		{Opset: 13, Seed: 3, NHWC: true, BGR: true, Range: "-1..1"},
	} {
		got := paint(o)
		diff := gocv.NewMat()
		gocv.AbsDiff(plain, got, &diff)
		flat := diff.Reshape(1, 0)
		_, worst, _, _ := gocv.MinMaxLoc(flat)
		if worst > 1 {
			t.Errorf("%+v: differs from the plain graph by up to %v levels", o, worst)
		}
		flat.Close()
		diff.Close()
		got.Close()
	}
}

// TestStylizeLoopAllocatesNothing: prepare → infer → finish on both slots,
// at the frame size and resized, makes no Go heap allocation per frame
// (tensors are bound once per slot; the Mats are reused).
func TestStylizeLoopAllocatesNothing(t *testing.T) {
	for _, cfg := range []stylize.Config{
		{FrameWidth: 64, FrameHeight: 36},
		{FrameWidth: 96, FrameHeight: 54, Width: 64, Height: 36},
	} {
		s := newStylizer(t, builtin(t, "toon"), cfg)
		frame := gocv.NewMatWithSize(cfg.FrameHeight, cfg.FrameWidth, gocv.MatTypeCV8UC3)
		defer frame.Close()
		out := gocv.NewMatWithSize(cfg.FrameHeight, cfg.FrameWidth, gocv.MatTypeCV8UC3)
		defer out.Close()
		slot := 0
		step := func() {
			if err := stylizeOne(s, slot, &frame, &out); err != nil {
				t.Fatal(err)
			}
			slot = 1 - slot
		}
		step() // first use of each slot sizes its buffers
		step()
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("%dx%d processed at %dx%d: %.2f allocations per frame", cfg.FrameWidth, cfg.FrameHeight, cfg.Width, cfg.Height, n)
		}
	}
}

// TestBrokenWeightsAreRefused: a model whose output is not a number (a
// NaN weight), one flat value (weights of zero) or 0..1 pixels from a
// 0..255 picture fails on its first frame with one line, instead of
// giving black frames; one that scales its input by 0.5 (dark, but
// numbers) runs.
func TestBrokenWeightsAreRefused(t *testing.T) {
	for _, c := range []struct {
		k    float32
		want string
	}{{float32(math.NaN()), "100% of its output is not a number"}, {float32(math.Inf(1)), "not a number"}, {0.5, ""},
		{0, "its output is one flat value (0) whatever the picture"}, {1.0 / 255, `stays within 0.00..1.00, where a 0..255 model paints 0..255: for a model of 0..1 pixels, put scaled.json beside it with {"range": "0..1"}`},
		// k 2 stands for a 0..1 model that clamps (ClampedGraph): flat,
		// and the hint says why.
		{2, `its output is one flat value (1) whatever the picture: for a model of 0..1 pixels, put scaled.json beside it with {"range": "0..1"}`}} {
		graph := testmodels.ScaledGraph(c.k)
		if c.k == 2 {
			graph = testmodels.ClampedGraph()
		}
		s := newStylizer(t, stylize.Model{Name: "scaled", ONNX: graph}, stylize.Config{FrameWidth: 32, FrameHeight: 32})
		in := testmedia.Texture(t, 32, 32, 3, 5)
		out := gocv.NewMat()
		if err := s.Prepare(0, &in); err != nil {
			t.Fatal(err)
		}
		if err := s.Infer(0); err != nil {
			t.Fatal(err)
		}
		err := s.Finish(0, &out)
		in.Close()
		out.Close()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("k %v: %v", c.k, err)
		case c.want != "" && (err == nil || !errors.Is(err, stylize.ErrModel) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("k %v: err = %v, want %q", c.k, err, c.want)
		}
	}
}

// TestAModelThatDoesNothingIsRefused: a graph whose output is its input
// is refused when it loads; it was run, its output never written, and
// blamed on zero weights.
func TestAModelThatDoesNothingIsRefused(t *testing.T) {
	_, err := stylize.New(sharedRT, stylize.Model{Name: "pass", ONNX: testmodels.PassThroughGraph()}, stylize.Config{FrameWidth: 32, FrameHeight: 32, Device: stylize.DeviceCPU})
	if err == nil || !errors.Is(err, stylize.ErrModel) || !strings.Contains(err.Error(), `its output is its input "input": the model does nothing`) {
		t.Errorf("a pass-through graph: %v", err)
	}
}

// TestFlatFramesDoNotDecideTheNumberCheck: a first frame of one colour
// (a fade from black, a title card) is not where the output's numbers
// are judged: the first frame with a picture is. A Johnson net paints a
// one-colour frame in one colour, which is not a broken model.
func TestFlatFramesDoNotDecideTheNumberCheck(t *testing.T) {
	run := func(s *stylize.Stylizer, in gocv.Mat) error {
		defer in.Close()
		out := gocv.NewMat()
		defer out.Close()
		if err := s.Prepare(0, &in); err != nil {
			t.Fatal(err)
		}
		if err := s.Infer(0); err != nil {
			t.Fatal(err)
		}
		return s.Finish(0, &out)
	}
	card := func(b, g, r float64) gocv.Mat {
		return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(b, g, r, 0), 32, 32, gocv.MatTypeCV8UC3)
	}
	s := newStylizer(t, stylize.Model{Name: "scaled", ONNX: testmodels.ScaledGraph(float32(math.NaN()))}, stylize.Config{FrameWidth: 32, FrameHeight: 32})
	if err := run(s, card(0, 0, 0)); err != nil {
		t.Errorf("a black first frame: %v", err)
	}
	if err := run(s, card(100, 120, 140)); err != nil {
		t.Errorf("a first frame of one colour: %v", err)
	}
	if err := run(s, testmedia.Texture(t, 32, 32, 3, 6)); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("the first frame with a picture: err = %v, want the NaN refusal", err)
	}
	for _, nhwc := range []bool{false, true} {
		j := newStylizer(t, johnsonModel(t, "johnson", testmodels.JohnsonOptions{Opset: 13, Seed: 8, NHWC: nhwc}), stylize.Config{FrameWidth: 32, FrameHeight: 32})
		if err := run(j, card(100, 128, 160)); err != nil {
			t.Errorf("a Johnson net (NHWC %v) on a title card: %v", nhwc, err)
		}
		if err := run(j, testmedia.Texture(t, 32, 32, 3, 7)); err != nil {
			t.Errorf("a Johnson net (NHWC %v) on a picture: %v", nhwc, err)
		}
	}
}
