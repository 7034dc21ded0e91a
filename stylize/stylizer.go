// Package stylize runs an image transform net on video frames with ONNX
// Runtime. It owns the cgo edge to the runtime: the shared library, the
// session, the tensors, and the conversions between OpenCV BGR Mats and the
// model's planar RGB float32 tensors.
//
// A Stylizer has two slots, each an input/output tensor pair. A slot is always
// owned by exactly one of three steps — Prepare (frame → input tensor), Infer
// (the model), Finish (output tensor → frame) — so that while Infer runs on
// one slot, the other slot can be finished and prepared for the next frame.
package stylize

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/temporal"
)

// Devices that Config.Device accepts.
const (
	DeviceAuto     = "auto"
	DeviceCPU      = "cpu"
	DeviceCUDA     = "cuda"
	DeviceTensorRT = "tensorrt"
)

// NumSlots is the number of input/output tensor pairs (double buffering).
const NumSlots = 2

// MinSize is the smallest frame side a Stylizer takes.
const MinSize = 16

// Config says how to run a model.
type Config struct {
	// FrameWidth and FrameHeight are the size of the frames given to Prepare
	// and produced by Finish.
	FrameWidth, FrameHeight int
	// Width and Height are the processing size: frames are resized to it
	// before the model and back after. Zero means the frame size.
	Width, Height int
	// Device is auto, cpu, cuda or tensorrt. Empty means auto.
	Device string
	// Threads is ONNX Runtime's intra-op thread count; 0 lets it choose.
	Threads int
	// InterOpThreads above 1 runs independent operators in parallel (ONNX
	// Runtime's parallel execution mode) on that many threads; 0 or 1
	// runs them one after another, each spread over the intra-op threads.
	InterOpThreads int
	// Spin lets ONNX Runtime's intra-op threads spin-wait between
	// operators (its default). Off, they sleep and leave the cores to
	// decoding and encoding.
	Spin bool
	// CacheDir holds TensorRT engines between runs; empty disables the cache.
	CacheDir string
	// ProfilePrefix, when set, makes ONNX Runtime time every operator and
	// write the times, as JSON, to a file named PREFIX_DATE.json when the
	// Stylizer closes (see ReadProfile).
	ProfilePrefix string
	// Exact runs the model's graph as it is; by default a float model's
	// transposed convs and last 3-channel conv are rewritten into the same
	// function in sub-pixel form, which ONNX Runtime runs faster
	// (models.FasterFP32; max abs diff ≈ 1e-4 levels).
	Exact bool
	// Temporal, above 0, stabilizes video over time: each result is
	// blended with the previous one carried along the input's optical flow
	// (package temporal), with this blend a (below 1). 0 paints each frame
	// on its own. Images need none: their one frame passes through.
	Temporal float64
	// Controls, if set, are changed while frames flow (colour
	// preservation); a StyleSet shares one between its styles.
	Controls *Controls
	// Log receives the device choice and warnings.
	Log *slog.Logger
}

// Model is a named serialized ONNX graph and how to feed it.
type Model struct {
	Name string
	ONNX []byte
	// Convention is the model's layout, channel order, value range and size
	// multiple; the zero value is the Johnson convention.
	Convention models.Convention
}

// Stylizer runs one model at one processing size.
type Stylizer struct {
	mu     sync.Mutex
	closed bool

	sess     *ort.DynamicAdvancedSession
	name     string
	device   string
	inName   string // the model's input, bound again before each run on a GPU
	outName  string
	log      *slog.Logger
	fw, fh   int // frame size
	w, h     int // processing size
	pw, ph   int // processing size padded to the model's multiple
	conv     models.Convention
	layout   Layout
	slots    [NumSlots]slot
	resizeIn gocv.InterpolationFlags
	// resizeOut scales results back up bicubic: bilinear is the softest
	// of bilinear, bicubic and Lanczos, and blurs the strokes.
	resizeOut gocv.InterpolationFlags
	// stab is the temporal filter at the processing size (nil: off).
	// Prepare starts its flow, which runs on the stabiliser's goroutine
	// beside Infer; Finish waits for it before the blend.
	stab *temporal.Stabilizer
	ctl  *Controls
	// checked is set once Finish has looked at a first output's numbers.
	checked atomic.Bool
	// ran is set once a run has succeeded; until then Infer may find that
	// the model paints another size than it is given (resized).
	ran bool
	// ow, oh are the output tensor's size when it differs from the input's
	// (pw, ph); cw, ch the part of it that the shown w×h pixels map to.
	// Zero: the model paints the size it is given.
	ow, oh, cw, ch int
}

type slot struct {
	in, out *ort.Tensor[float32]
	// binding ties the two tensors to the session once, so that a run
	// allocates nothing in Go.
	binding *ort.IoBinding
	// small holds the frame at the processing size when it differs from the
	// frame size: the resized input in Prepare, the result in Finish (the two
	// never overlap on one slot).
	small gocv.Mat
	// src is the source frame at the processing size in YCrCb, kept from
	// Prepare to Finish when keep is set (colour preservation).
	src  gocv.Mat
	keep bool
	// big holds the result at the model's output size when that is not
	// its input size (see resized), before it is scaled to the
	// processing size.
	big gocv.Mat
}

// maxFixedSide is the largest side of a fixed-size model's input that New
// builds a session for.
const maxFixedSide = 8192

// New loads model into rt for frames of cfg's size.
func New(rt *Runtime, model Model, cfg Config) (*Stylizer, error) {
	if rt.isClosed() {
		return nil, fmt.Errorf("%w: runtime", ErrClosed)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Width == 0 && cfg.Height == 0 {
		cfg.Width, cfg.Height = cfg.FrameWidth, cfg.FrameHeight
	}
	if cfg.FrameWidth < MinSize || cfg.FrameHeight < MinSize {
		return nil, fmt.Errorf("%w: %dx%d is smaller than the %dx%d minimum", ErrFrame, cfg.FrameWidth, cfg.FrameHeight, MinSize, MinSize)
	}
	if cfg.Width < MinSize || cfg.Height < MinSize {
		return nil, fmt.Errorf("%w: processing size %dx%d is smaller than the %dx%d minimum", ErrFrame, cfg.Width, cfg.Height, MinSize, MinSize)
	}
	// Given bytes, ONNX Runtime reads external-data files relative to the
	// working directory: refuse such a model before it sees it, and bytes
	// this check cannot read (ONNX Runtime's parser accepts some that Go's
	// does not: what it would see there is unchecked).
	if err := checkModelBytes(model.ONNX); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrModel, model.Name, err)
	}
	conv := model.Convention.WithDefaults()
	inName, outName, fixedW, fixedH, err := checkContract(model, conv.NHWC)
	if err != nil {
		return nil, err
	}
	var exact []byte // the model as given, when it was rewritten
	if !cfg.Exact {
		// The same function, faster (models.FasterFP32).
		if data, done, err := models.FasterFP32(model.ONNX); err != nil {
			cfg.Log.Debug(fmt.Sprintf("model %s: not rewritten: %v", model.Name, err))
		} else if len(done) > 0 {
			cfg.Log.Debug(fmt.Sprintf("model %s: rewritten for speed (%s)", model.Name, strings.Join(done, ", ")))
			exact = model.ONNX
			model.ONNX = data
		}
	}
	if fixedW > maxFixedSide || fixedH > maxFixedSide {
		// Built at that size whatever the frames, a model that declares
		// 100000x100000 asked Go for 120 GB at once (a crash, not an error).
		return nil, fmt.Errorf("model %s takes only %dx%d frames, more than vidstyle paints (%d a side at most): vidstyle models import makes a model size-free", model.Name, fixedW, fixedH, maxFixedSide)
	}
	switch {
	case fixedW > 0 && fixedH > 0:
		if fixedW != cfg.Width || fixedH != cfg.Height {
			cfg.Log.Warn(fmt.Sprintf("model %s takes only %dx%d frames: processing at that size (vidstyle models import makes a model size-free)", model.Name, fixedW, fixedH))
			cfg.Width, cfg.Height = fixedW, fixedH
		}
	case fixedH > 0 && fixedH != cfg.Height:
		// One side fixed: the other follows the frame's shape.
		w := min(maxFixedSide, max(1, (cfg.Width*fixedH+cfg.Height/2)/cfg.Height))
		cfg.Log.Warn(fmt.Sprintf("model %s takes only frames %d high: processing at %dx%d (vidstyle models import makes a model size-free)", model.Name, fixedH, w, fixedH))
		cfg.Width, cfg.Height = w, fixedH
	case fixedW > 0 && fixedW != cfg.Width:
		h := min(maxFixedSide, max(1, (cfg.Height*fixedW+cfg.Width/2)/cfg.Width))
		cfg.Log.Warn(fmt.Sprintf("model %s takes only frames %d wide: processing at %dx%d (vidstyle models import makes a model size-free)", model.Name, fixedW, fixedW, h))
		cfg.Width, cfg.Height = fixedW, h
	}
	s := &Stylizer{
		name: model.Name, inName: inName, outName: outName, log: cfg.Log,
		fw: cfg.FrameWidth, fh: cfg.FrameHeight,
		w: cfg.Width, h: cfg.Height,
		pw: PadTo(cfg.Width, conv.Multiple), ph: PadTo(cfg.Height, conv.Multiple),
		conv: conv, ctl: cfg.Controls,
		layout:   Layout{NHWC: conv.NHWC, BGR: conv.BGR, Scale: conv.Scale, Offset: conv.Offset},
		resizeIn: gocv.InterpolationArea, resizeOut: gocv.InterpolationCubic,
	}
	if fixedW > 0 {
		s.pw = fixedW
	}
	if fixedH > 0 {
		s.ph = fixedH
	}
	if s.w > s.fw || s.h > s.fh {
		s.resizeIn, s.resizeOut = gocv.InterpolationLinear, gocv.InterpolationArea
	}
	s.sess, s.device, err = openSession(model, inName, outName, cfg)
	if err != nil && exact != nil {
		cfg.Log.Debug(fmt.Sprintf("model %s: the rewritten graph did not load (%v): running it as given", model.Name, err))
		model.ONNX = exact
		s.sess, s.device, err = openSession(model, inName, outName, cfg)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Temporal != 0 {
		// Motion is judged in the frames' pixels: one pixel of the
		// processing size spans scale of them.
		scale := max(float64(s.fw)/float64(s.w), float64(s.fh)/float64(s.h))
		// The stabiliser's steps share the CPU's cores only when the net
		// does not need them (it runs on a GPU).
		workers := 0
		if s.device == DeviceCPU {
			workers = 1
		}
		if s.stab, err = temporal.New(temporal.Config{Width: s.w, Height: s.h, Slots: NumSlots, Blend: cfg.Temporal, Scale: scale, Workers: workers}); err != nil {
			s.Close()
			return nil, fmt.Errorf("%w %s: %w", ErrModel, model.Name, err)
		}
	}
	shape := ort.NewShape(1, 3, int64(s.ph), int64(s.pw))
	if conv.NHWC {
		shape = ort.NewShape(1, int64(s.ph), int64(s.pw), 3)
	}
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.in, err = ort.NewEmptyTensor[float32](shape); err == nil {
			sl.out, err = ort.NewEmptyTensor[float32](shape)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%w %s: tensors %v: %w", ErrModel, model.Name, shape, err)
		}
		if s.w != s.fw || s.h != s.fh {
			sl.small = gocv.NewMatWithSize(s.h, s.w, gocv.MatTypeCV8UC3)
		}
		sl.src = gocv.NewMat()
		if sl.binding, err = s.sess.CreateIoBinding(); err == nil {
			if err = sl.binding.BindInput(inName, sl.in); err == nil {
				err = sl.binding.BindOutput(outName, sl.out)
			}
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%w %s: binding tensors: %w", ErrModel, model.Name, err)
		}
	}
	return s, nil
}

// checkContract reads the model's inputs and outputs and checks that it is
// an image transform: one float32 image input ([1,3,H,W], or [1,H,W,3] for
// NHWC) and one float32 image output. It returns their names, and the
// input's height and width when they are fixed (0 when symbolic).
func checkContract(model Model, nhwc bool) (in, out string, fixedW, fixedH int, err error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model.ONNX)
	if err != nil {
		return "", "", 0, 0, fmt.Errorf("%w %s is not a valid ONNX model: %s", ErrModel, model.Name, oneLine(err))
	}
	if len(ins) != 1 || len(outs) != 1 {
		return "", "", 0, 0, fmt.Errorf("%w %s: needs one image input and one output, has %d inputs and %d outputs", ErrModel, model.Name, len(ins), len(outs))
	}
	cAxis, hAxis, wAxis, layout := 1, 2, 3, "[1,3,H,W]"
	if nhwc {
		cAxis, hAxis, wAxis, layout = 3, 1, 2, "[1,H,W,3]"
	}
	for _, io := range []struct {
		what string
		info ort.InputOutputInfo
	}{{"input", ins[0]}, {"output", outs[0]}} {
		d := io.info.Dimensions
		switch {
		case io.info.OrtValueType != ort.ONNXTypeTensor:
			return "", "", 0, 0, fmt.Errorf("%w %s: %s %q is a %v, not a tensor", ErrModel, model.Name, io.what, io.info.Name, io.info.OrtValueType)
		case io.info.DataType != ort.TensorElementDataTypeFloat:
			return "", "", 0, 0, fmt.Errorf("%w %s: %s %q is %s; vidstyle runs float32 image models", ErrModel, model.Name, io.what, io.info.Name, elemName(io.info.DataType))
		case len(d) != 4:
			return "", "", 0, 0, fmt.Errorf("%w %s: %s %q has shape %s, not a %s image", ErrModel, model.Name, io.what, io.info.Name, shapeString(d), layout)
		case d[0] > 1:
			return "", "", 0, 0, fmt.Errorf("%w %s: %s %q has batch %d; vidstyle runs batch 1", ErrModel, model.Name, io.what, io.info.Name, d[0])
		case d[cAxis] != 3:
			return "", "", 0, 0, fmt.Errorf("%w %s: %s %q has shape %s: not 3 channels in a %s image", ErrModel, model.Name, io.what, io.info.Name, shapeString(d), layout)
		}
	}
	if ins[0].Name == outs[0].Name {
		return "", "", 0, 0, fmt.Errorf("%w %s: its output is its input %q: the model does nothing", ErrModel, model.Name, ins[0].Name)
	}
	d := ins[0].Dimensions
	if d[hAxis] == 0 || d[wAxis] == 0 {
		return "", "", 0, 0, fmt.Errorf("%w %s: input %q has shape %s: an image with a side of 0", ErrModel, model.Name, ins[0].Name, shapeString(d))
	}
	// Each side on its own: a model may fix its height and leave its
	// width free (or the other way round).
	return ins[0].Name, outs[0].Name, int(max(0, d[wAxis])), int(max(0, d[hAxis])), nil
}

// elemName is the short name of a tensor element type ("float16").
func elemName(t ort.TensorElementDataType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

// shapeString writes a shape as [1,3,?,?], with ? for a symbolic axis.
func shapeString(d ort.Shape) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = "?"
		if v >= 0 {
			parts[i] = strconv.FormatInt(v, 10)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// openSession creates the session on the asked device. For auto it tries
// TensorRT, then CUDA, then the CPU, and logs one line saying which and why:
// at info level when a GPU provider was used or was there but failed, at
// debug level when the runtime simply has none (a CPU-only ONNX Runtime:
// nothing was asked of a GPU, and the job's own line names the device).
func openSession(model Model, in, out string, cfg Config) (*ort.DynamicAdvancedSession, string, error) {
	device := cfg.Device
	if device == "" {
		device = DeviceAuto
	}
	var order []string
	switch device {
	case DeviceAuto:
		order = []string{DeviceTensorRT, DeviceCUDA, DeviceCPU}
	case DeviceCPU, DeviceCUDA, DeviceTensorRT:
		order = []string{device}
	default:
		return nil, "", fmt.Errorf("%w %q: use auto, cpu, cuda or tensorrt", ErrDevice, device)
	}
	var skipped []string // "device unavailable: reason", devices with one reason joined
	gpuFailed := false   // a GPU provider was there but could not run the model
	skip := func(d, reason string) {
		if reason != noGPUProviders {
			gpuFailed = true
		}
		for i, sk := range skipped {
			if devs, r, _ := strings.Cut(sk, " unavailable: "); r == reason {
				skipped[i] = devs + ", " + d + " unavailable: " + r
				return
			}
		}
		skipped = append(skipped, d+" unavailable: "+reason)
	}
	for _, d := range order {
		sess, err := trySession(model, in, out, d, cfg)
		if err == nil {
			if device == DeviceAuto {
				why := "a GPU provider loaded"
				if len(skipped) > 0 {
					why = strings.Join(skipped, "; ")
				}
				level := slog.LevelInfo
				if d == DeviceCPU && !gpuFailed {
					level = slog.LevelDebug
				}
				cfg.Log.Log(context.Background(), level, "device "+d, "why", why)
			} else {
				cfg.Log.Debug("device "+d, "why", "asked for")
			}
			return sess, d, nil
		}
		if errors.Is(err, ErrModel) || d == DeviceCPU || device != DeviceAuto {
			return nil, "", err
		}
		var pe *providerError
		if errors.As(err, &pe) {
			skip(d, pe.reason())
		} else {
			skip(d, oneLine(err))
		}
	}
	return nil, "", fmt.Errorf("%w: no provider could run %s", ErrDevice, model.Name)
}

func trySession(model Model, in, out, device string, cfg Config) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: session options: %w", ErrModel, err)
	}
	defer opts.Destroy()
	if cfg.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
			return nil, fmt.Errorf("%w: threads: %w", ErrModel, err)
		}
	}
	if cfg.InterOpThreads > 1 {
		if err := opts.SetExecutionMode(ort.ExecutionModeParallel); err != nil {
			return nil, fmt.Errorf("%w: execution mode: %w", ErrModel, err)
		}
	}
	if err := opts.SetInterOpNumThreads(max(1, cfg.InterOpThreads)); err != nil {
		return nil, fmt.Errorf("%w: threads: %w", ErrModel, err)
	}
	if cfg.ProfilePrefix != "" {
		if err := opts.EnableProfiling(cfg.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("%w: profiling: %w", ErrModel, err)
		}
	}
	if !cfg.Spin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("%w: spinning: %w", ErrModel, err)
		}
	}
	switch device {
	case DeviceCUDA:
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, &providerError{device, err}
		}
		defer cuda.Destroy()
		if err := cuda.Update(map[string]string{"device_id": "0", "cudnn_conv_algo_search": "EXHAUSTIVE"}); err != nil {
			return nil, &providerError{device, err}
		}
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return nil, &providerError{device, err}
		}
	case DeviceTensorRT:
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return nil, &providerError{device, err}
		}
		defer trt.Destroy()
		settings := map[string]string{"device_id": "0", "trt_fp16_enable": "1"}
		if cfg.CacheDir != "" {
			settings["trt_engine_cache_enable"] = "1"
			settings["trt_engine_cache_path"] = cfg.CacheDir
		}
		if err := trt.Update(settings); err != nil {
			return nil, &providerError{device, err}
		}
		if err := opts.AppendExecutionProviderTensorRT(trt); err != nil {
			return nil, &providerError{device, err}
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model.ONNX, []string{in}, []string{out}, opts)
	if err != nil {
		if device == DeviceCPU {
			return nil, fmt.Errorf("%w %s: cannot load: %s", ErrModel, model.Name, oneLine(err))
		}
		return nil, &providerError{device, err}
	}
	return sess, nil
}

// noGPUProviders is the reason given when ONNX Runtime has no GPU
// provider libraries at all.
const noGPUProviders = "this ONNX Runtime has no GPU provider libraries beside it (scripts/setup.sh --gpu installs them)"

// providerError is a GPU execution provider that could not be used.
type providerError struct {
	device string
	err    error
}

func (e *providerError) Error() string {
	return fmt.Sprintf("%v %s: %s", ErrDevice, e.device, e.reason())
}

// reason says in a few words why the provider is unavailable.
func (e *providerError) reason() string {
	msg := oneLine(e.err)
	if strings.Contains(msg, "libonnxruntime_providers_") && strings.Contains(msg, "cannot open shared object") {
		// "Failed to load library …/libonnxruntime_providers_cuda.so with
		// error: libcublasLt.so.13: cannot open shared object file: …":
		// the provider is there, a library it needs is not.
		if _, after, ok := strings.Cut(msg, " with error: "); ok {
			missing, _, _ := strings.Cut(after, ":")
			if missing = strings.TrimSpace(missing); missing != "" && !strings.Contains(missing, "libonnxruntime_providers_") {
				return fmt.Sprintf("needs %s, not found (%s; or add their folder to LD_LIBRARY_PATH)", filepath.Base(missing), gpuNeeds)
			}
		}
		return noGPUProviders
	}
	return msg
}

// gpuNeeds names what the GPU providers that scripts/setup.sh --gpu
// fetches need from the system.
const gpuNeeds = "install CUDA 13 and cuDNN 9, and TensorRT 10 for tensorrt"

func (e *providerError) Unwrap() error { return ErrDevice }

// oneLine is an error's text on one line, without ONNX Runtime's source
// location prefix: the first line, and up to three short lines after it
// that say what the first one means ("Got invalid dimensions for input:
// input for the following indices" / "index: 2 Got: 120 Expected: 256").
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	s := strings.TrimSpace(err.Error())
	var more []string
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		for _, l := range strings.Split(s[i+1:], "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "Please fix") {
				continue
			}
			if len(more) == 3 || len(l) > 200 {
				break
			}
			more = append(more, stripSourceLocations(l))
		}
		s = s[:i]
	}
	// "/onnxruntime_src/….cc:1957 … [ONNXRuntimeError] : 1 : FAIL : message"
	if i := strings.Index(s, "[ONNXRuntimeError]"); i >= 0 {
		rest := s[i:]
		for range 3 {
			if j := strings.Index(rest, " : "); j >= 0 {
				rest = rest[j+3:]
			}
		}
		s = rest
	}
	return strings.Join(append([]string{stripSourceLocations(s)}, more...), "; ")
}

// Name is the model's name.
func (s *Stylizer) Name() string { return s.name }

// Device is the execution provider in use: cpu, cuda or tensorrt.
func (s *Stylizer) Device() string { return s.device }

// Size is the processing size.
func (s *Stylizer) Size() (w, h int) { return s.w, s.h }

// OutputScale is how many times the model's input (the processing size
// padded to the model's multiple) its output is, across and down: 1, 1
// but for a model that paints another size (a super-resolution net).
// Known once a frame has been run.
func (s *Stylizer) OutputScale() (x, y float64) {
	if s.ow != 0 {
		return float64(s.ow) / float64(s.pw), float64(s.oh) / float64(s.ph)
	}
	return 1, 1
}

// Slots is the number of slots (NumSlots).
func (s *Stylizer) Slots() int { return NumSlots }

// Prepare converts src, a BGR frame of the configured frame size, into the
// input tensor of slot i. src is not kept: the caller may reuse it at once.
func (s *Stylizer) Prepare(i int, src *gocv.Mat) error {
	if src.Empty() || src.Type() != gocv.MatTypeCV8UC3 || src.Cols() != s.fw || src.Rows() != s.fh {
		return fmt.Errorf("%w: expected a %dx%d BGR frame, got %dx%d type %v", ErrFrame, s.fw, s.fh, src.Cols(), src.Rows(), src.Type())
	}
	sl := &s.slots[i]
	img := src
	if s.w != s.fw || s.h != s.fh {
		gocv.Resize(*src, &sl.small, image.Pt(s.w, s.h), 0, 0, s.resizeIn)
		img = &sl.small
	}
	if s.stab != nil {
		if err := s.stab.Input(i, *img); err != nil {
			return err
		}
	}
	if sl.keep = s.ctl.KeepColors(); sl.keep {
		gocv.CvtColor(*img, &sl.src, gocv.ColorBGRToYCrCb)
	}
	data, err := img.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	if s.conv.IsJohnson() {
		Pack(sl.in.GetData(), s.pw, s.ph, data, s.w, s.h, int(img.Step()))
	} else {
		PackWith(sl.in.GetData(), s.pw, s.ph, data, s.w, s.h, int(img.Step()), s.layout)
	}
	return nil
}

// Infer runs the model on slot i.
func (s *Stylizer) Infer(i int) error {
	sl := &s.slots[i]
	if s.device != DeviceCPU {
		// A GPU provider copies a host input to the device when it is
		// bound, not at each run: without this, every run would paint
		// the tensor as it was when New bound it (all zeros).
		if err := sl.binding.BindInput(s.inName, sl.in); err != nil {
			return fmt.Errorf("%w %s: binding the input: %s", ErrModel, s.name, oneLine(err))
		}
	}
	return s.afterRun(i, s.sess.RunWithBinding(sl.binding), nil)
}

// afterRun ends a run of slot i that returned err. Until a run has
// succeeded, a failure may be a model that paints another size than it
// is given (resized, which runs it again with opts).
func (s *Stylizer) afterRun(i int, err error, opts *ort.RunOptions) error {
	if err == nil {
		s.ran = true
		return nil
	}
	if !s.ran {
		if done, rerr := s.resized(i, err, opts); done || rerr != nil {
			return rerr
		}
	}
	return fmt.Errorf("%w %s: run: %s", ErrModel, s.name, oneLine(err))
}

// InferContext is Infer that stops when ctx is done: ONNX Runtime ends
// the run between two operators, and the error wraps ctx's cause. It is
// for checks of a model not yet trusted (vidstyle models import), where a
// crafted graph of a few kilobytes can keep the cores busy for minutes.
// It allocates a little: use Infer for frames.
func (s *Stylizer) InferContext(ctx context.Context, i int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w %s: not run: %w", ErrModel, s.name, context.Cause(ctx))
	}
	sl := &s.slots[i]
	opts, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("%w %s: run options: %s", ErrModel, s.name, oneLine(err))
	}
	defer opts.Destroy()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		opts.Terminate()
	})
	start := time.Now()
	err = s.sess.RunWithOptions([]ort.Value{sl.in}, []ort.Value{sl.out}, opts)
	if ctx.Err() == nil {
		err = s.afterRun(i, err, opts) // a rerun, if any, under the same options
	}
	if !stop() {
		<-fired // Terminate has returned: opts may be destroyed
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w %s: stopped after %v on one %dx%d frame: %w", ErrModel, s.name, time.Since(start).Round(100*time.Millisecond), s.pw, s.ph, context.Cause(ctx))
	}
	return err
}

// maxOutScale is how many times its input's side a model's output may be:
// a ×4 or ×8 super-resolution net is painted, and scaled back.
const maxOutScale = 8

// maxOutPixels bounds a model's output that is not its input's size:
// 36 megapixels (8K is 33), whose three float tensors (two slots and the
// run that finds the size) take 1.3 GB.
const maxOutPixels = 36e6

// resized handles a first run that failed because the model's output is
// not the size of its input (ONNX Runtime refuses the bound output
// tensor): it runs slot i again with the output left to ONNX Runtime,
// and when that gives a 3-channel image of another size, at most
// maxOutScale times the input's side, every slot's output tensor is
// made that size and this run's result is kept. Finish scales results
// to the processing size. done is false when the output is the input's
// size after all (the first error stands).
func (s *Stylizer) resized(i int, first error, opts *ort.RunOptions) (done bool, err error) {
	hAxis, wAxis, cAxis := 2, 3, 1
	if s.conv.NHWC {
		hAxis, wAxis, cAxis = 1, 2, 3
	}
	// ONNX Runtime's refusal names the shape the model asked for: one
	// too big is refused before the rerun allocates it (a model of 80
	// bytes that upscales 100 times took 5 GB, twice, as ONNX Runtime's
	// output and Go's copy of it).
	if d, ok := requestedShape(first); ok && len(d) == 4 {
		if err := s.checkOutSize(int(d[wAxis]), int(d[hAxis])); err != nil {
			return true, err
		}
	}
	sl := &s.slots[i]
	outs := []ort.Value{nil}
	if err := s.sess.RunWithOptions([]ort.Value{sl.in}, outs, opts); err != nil {
		if _, ok := requestedShape(first); ok {
			return true, fmt.Errorf("%w %s: its output is not its input's size, and the run for its own size failed: %s", ErrModel, s.name, oneLine(err))
		}
		return false, nil
	}
	defer outs[0].Destroy()
	got, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return false, nil
	}
	d := got.GetShape()
	if len(d) != 4 || d[0] != 1 || d[cAxis] != 3 {
		return true, fmt.Errorf("%w %s: its output has shape %v, not a 3-channel image", ErrModel, s.name, []int64(d))
	}
	ow, oh := int(d[wAxis]), int(d[hAxis])
	if ow == s.pw && oh == s.ph {
		return false, nil
	}
	if err := s.checkOutSize(ow, oh); err != nil {
		return true, err
	}
	cw, ch := max(1, (s.w*ow+s.pw/2)/s.pw), max(1, (s.h*oh+s.ph/2)/s.ph)
	shape := ort.NewShape(1, 3, int64(oh), int64(ow))
	if s.conv.NHWC {
		shape = ort.NewShape(1, int64(oh), int64(ow), 3)
	}
	// Every slot's tensor first, then the swap: a failure half way
	// leaves the slots as they were.
	var fresh [NumSlots]*ort.Tensor[float32]
	undo := func(bound int) {
		for j := range bound {
			s.slots[j].binding.BindOutput(s.outName, s.slots[j].out)
		}
		for _, t := range fresh {
			if t != nil {
				t.Destroy()
			}
		}
	}
	for j := range fresh {
		if fresh[j], err = ort.NewEmptyTensor[float32](shape); err != nil {
			undo(0)
			return true, fmt.Errorf("%w %s: tensors %v: %w", ErrModel, s.name, shape, err)
		}
	}
	for j := range s.slots {
		if err := s.slots[j].binding.BindOutput(s.outName, fresh[j]); err != nil {
			undo(j)
			return true, fmt.Errorf("%w %s: binding tensors: %s", ErrModel, s.name, oneLine(err))
		}
	}
	for j := range s.slots {
		o := &s.slots[j]
		o.out.Destroy()
		o.out = fresh[j]
		o.big = gocv.NewMatWithSize(ch, cw, gocv.MatTypeCV8UC3)
	}
	copy(sl.out.GetData(), got.GetData())
	s.ow, s.oh, s.cw, s.ch = ow, oh, cw, ch
	s.ran = true
	s.log.Info(fmt.Sprintf("model %s paints %dx%d from its %dx%d input: its output is scaled to %dx%d", s.name, ow, oh, s.pw, s.ph, s.w, s.h))
	return true, nil
}

// checkOutSize refuses an output of ow×oh from the processing input:
// more than maxOutScale times its side, maxFixedSide a side or
// maxOutPixels.
func (s *Stylizer) checkOutSize(ow, oh int) error {
	if ow < 1 || oh < 1 || ow > maxOutScale*s.pw || oh > maxOutScale*s.ph || ow > maxFixedSide || oh > maxFixedSide || ow*oh > maxOutPixels {
		return fmt.Errorf("%w %s: paints %dx%d from its %dx%d input: vidstyle takes an output of at most %d times the input's side, %d a side and %.0f megapixels", ErrModel, s.name, ow, oh, s.pw, s.ph, maxOutScale, maxFixedSide, maxOutPixels/1e6)
	}
	return nil
}

// requestedShapeRE is the shape a model's output asked for, in ONNX
// Runtime's refusal of a bound output of another shape ("OrtValue shape
// verification failed. Current shape:{1,3,120,160} Requested
// shape:{1,3,36000,48000}").
var requestedShapeRE = regexp.MustCompile(`Requested shape:\{(-?[0-9]+(?:,-?[0-9]+)*)\}`)

// requestedShape is the shape err (a run's refusal) says the model's
// output asked for.
func requestedShape(err error) ([]int64, bool) {
	if err == nil {
		return nil, false
	}
	m := requestedShapeRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil, false
	}
	var d []int64
	for _, f := range strings.Split(m[1], ",") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		d = append(d, v)
	}
	return d, true
}

// Finish writes slot i's result into dst at the frame size, (re)allocating
// dst only when it does not already hold a BGR image of that size.
func (s *Stylizer) Finish(i int, dst *gocv.Mat) error {
	if dst.Rows() != s.fh || dst.Cols() != s.fw || dst.Type() != gocv.MatTypeCV8UC3 {
		dst.Close()
		*dst = gocv.NewMatWithSize(s.fh, s.fw, gocv.MatTypeCV8UC3)
	}
	sl := &s.slots[i]
	// The first frame whose input is not one flat colour (see flat).
	if !s.checked.Load() && !flat(sl.in.GetData(), s.conv.NHWC) {
		s.checked.Store(true)
		if err := checkFinite(sl.out.GetData(), s.w, s.h, s.pw, s.ph, s.conv.NHWC); err != nil {
			return fmt.Errorf("%w %s: %w", ErrModel, s.name, err)
		}
		if s.conv.Range == "0..255" {
			if err := checkPainted(sl.out.GetData(), sl.in.GetData(), s.name); err != nil {
				return fmt.Errorf("%w %s: %w", ErrModel, s.name, err)
			}
		}
	}
	img := dst
	if s.w != s.fw || s.h != s.fh {
		img = &sl.small
	}
	data, err := img.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	if s.ow == 0 {
		s.unpack(data, s.w, s.h, int(img.Step()), sl.out.GetData(), s.pw, s.ph)
	} else {
		// A model that paints another size: its shown part, scaled.
		big, err := sl.big.DataPtrUint8()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFrame, err)
		}
		s.unpack(big, s.cw, s.ch, int(sl.big.Step()), sl.out.GetData(), s.ow, s.oh)
		interp := gocv.InterpolationArea
		if s.cw < s.w || s.ch < s.h {
			interp = gocv.InterpolationCubic
		}
		gocv.Resize(sl.big, img, image.Pt(s.w, s.h), 0, 0, interp)
	}
	if s.stab != nil {
		if err := s.stab.Output(i, img); err != nil {
			return err
		}
	}
	if sl.keep { // after the stabiliser, which carries the style's own colours
		keepColors(img, &sl.src)
	}
	if img != dst {
		gocv.Resize(*img, dst, image.Pt(s.fw, s.fh), 0, 0, s.resizeOut)
	}
	return nil
}

// unpack writes the w×h pixels of a pw×ph output tensor into a BGR image.
func (s *Stylizer) unpack(dst []byte, w, h, step int, out []float32, pw, ph int) {
	if s.conv.IsJohnson() {
		Unpack(dst, w, h, step, out, pw, ph)
	} else {
		UnpackWith(dst, w, h, step, out, pw, ph, s.layout)
	}
}

// checkFinite refuses a model's first output when more than one value in
// a thousand is not a number (NaN, ±Inf): broken or tampered weights
// (one NaN weight turns every pixel after an InstanceNormalization into
// NaN), which would otherwise be written as a black picture.
//
// Only the w×h pixels shown are counted, not the padding to the model's
// size multiple (pw×ph; an NHWC output is counted whole).
func checkFinite(out []float32, w, h, pw, ph int, nhwc bool) error {
	bad, n := 0, 0
	count := func(vs []float32) {
		for _, v := range vs {
			if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
				bad++
			}
		}
		n += len(vs)
	}
	if nhwc || len(out) != 3*pw*ph {
		count(out)
	} else {
		for c := range 3 {
			for y := range h {
				row := (c*ph + y) * pw
				count(out[row : row+w])
			}
		}
	}
	if n > 0 && bad*1000 > n {
		return fmt.Errorf("%.0f%% of its output is not a number (NaN or infinite): its weights are broken", 100*float64(bad)/float64(n))
	}
	return nil
}

// checkPainted refuses a 0..255 model's first output on a picture with
// some light in it (a value of 32 or more) when the output is one flat
// value (the model paints nothing: weights of zero) or stays within
// 0..1.5 (a model for 0..1 pixels, which would be written as a black
// picture).
func checkPainted(out, in []float32, name string) error {
	inMax := float32(0)
	for _, v := range in {
		inMax = max(inMax, v)
	}
	if inMax < 32 || len(out) == 0 {
		return nil
	}
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range out {
		if v == v && v <= math.MaxFloat32 && v >= -math.MaxFloat32 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	switch {
	case hi < lo:
		return nil // no finite value: checkFinite's case
	case hi-lo < 1e-3 && hi <= 1.5 && lo >= -1.5:
		// A model of 0..1 pixels that clamps them is flat when fed 0..255.
		return fmt.Errorf("its output is one flat value (%.3g) whatever the picture: for a model of 0..1 pixels, put %s.json beside it with {\"range\": \"0..1\"}; otherwise the model paints nothing (its weights are zero or broken)", lo, name)
	case hi-lo < 1e-3, hi-lo < 1 && (hi > 1.5 || lo < -1.5):
		return fmt.Errorf("its output is one flat value (%.3g) whatever the picture: the model paints nothing (its weights are zero or broken)", lo)
	case hi <= 1.5 && lo >= -1.5:
		return fmt.Errorf("its output stays within %.2f..%.2f, where a 0..255 model paints 0..255: for a model of 0..1 pixels, put %s.json beside it with {\"range\": \"0..1\"}", lo, hi, name)
	}
	return nil
}

// flat reports whether an input tensor is one colour everywhere: each
// channel holds one value (a title card, a fade from black). A net with
// instance norm and reflection padding paints such a picture one colour
// too, and one whose norm has no epsilon gives NaN there and nowhere
// else, so neither says whether its weights are broken.
func flat(in []float32, nhwc bool) bool {
	if len(in) < 3 || len(in)%3 != 0 {
		return true
	}
	if nhwc {
		for i, v := range in {
			if v != in[i%3] {
				return false
			}
		}
		return true
	}
	plane := len(in) / 3
	for c := range 3 {
		p := in[c*plane : (c+1)*plane]
		for _, v := range p {
			if v != p[0] {
				return false
			}
		}
	}
	return true
}

// ResetTemporal makes the next frame start afresh, with nothing carried
// over from the frames before (a seek, a loop, this style made active
// again). Safe from any goroutine; a no-op without temporal filtering.
func (s *Stylizer) ResetTemporal() {
	if s.stab != nil {
		s.stab.Reset()
	}
}

// Temporal is the temporal filter (nil when off), for its counters.
func (s *Stylizer) Temporal() *temporal.Stabilizer { return s.stab }

// Close frees the session, tensors and Mats. It is idempotent.
func (s *Stylizer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	defer func() {
		if s.sess != nil {
			s.sess.Destroy()
		}
	}()
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.binding != nil {
			errs = append(errs, sl.binding.Destroy())
		}
		if sl.in != nil {
			errs = append(errs, sl.in.Destroy())
		}
		if sl.out != nil {
			errs = append(errs, sl.out.Destroy())
		}
		if sl.small.Ptr() != nil {
			errs = append(errs, sl.small.Close())
		}
		if sl.src.Ptr() != nil {
			errs = append(errs, sl.src.Close())
		}
		if sl.big.Ptr() != nil {
			errs = append(errs, sl.big.Close())
		}
	}
	if s.stab != nil {
		errs = append(errs, s.stab.Close())
	}
	return errors.Join(errs...)
}
