package stylize

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidstyle/vidstyle/models"
)

// Runner runs a model on raw float32 tensors on the CPU, with any of its
// graph outputs: for checks of a rewrite (the same output before and
// after), calibration (intermediate values a rewrite made outputs) and raw
// inference timing. It owns its session; the slices Run returns are Go
// copies the caller owns.
type Runner struct {
	mu      sync.Mutex
	closed  bool
	sess    *ort.DynamicAdvancedSession
	outputs []string
}

// checkModelBytes refuses what ONNX Runtime must not be given: a model
// that is not self-contained (models.CheckSelfContained), and bytes that
// check cannot read, since it cannot say what the runtime would see in
// them (Go's protobuf reader refuses some encodings the C++ one takes).
func checkModelBytes(model []byte) error {
	err := models.CheckSelfContained(model)
	if err != nil && !errors.Is(err, models.ErrNotSelfContained) && !errors.Is(err, models.ErrTooBig) {
		return fmt.Errorf("not a valid ONNX model: %s", strings.TrimPrefix(err.Error(), models.ErrNotONNX.Error()+": "))
	}
	return err
}

// NewRunner loads model on the CPU with threads intra-op threads (0: one
// per core). outputs names the graph outputs Run returns (nil: all of
// them, in the graph's order).
func NewRunner(rt *Runtime, model []byte, outputs []string, threads int) (*Runner, error) {
	if rt.isClosed() {
		return nil, fmt.Errorf("%w: runtime", ErrClosed)
	}
	if err := checkModelBytes(model); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid ONNX model: %s", ErrModel, oneLine(err))
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("%w: needs one input, has %d", ErrModel, len(ins))
	}
	if outputs == nil {
		for _, o := range outs {
			outputs = append(outputs, o.Name)
		}
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: session options: %w", ErrModel, err)
	}
	defer opts.Destroy()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, fmt.Errorf("%w: threads: %w", ErrModel, err)
		}
	}
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("%w: spinning: %w", ErrModel, err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{ins[0].Name}, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot load: %s", ErrModel, oneLine(err))
	}
	return &Runner{sess: sess, outputs: outputs}, nil
}

// Outputs names what Run returns, in order.
func (r *Runner) Outputs() []string { return r.outputs }

// Run runs the model on one input of the given shape and returns each
// output's values and shape.
func (r *Runner) Run(shape []int64, input []float32) ([][]float32, [][]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, fmt.Errorf("%w: runner", ErrClosed)
	}
	in, err := ort.NewTensor(ort.NewShape(shape...), input)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: input tensor %v: %w", ErrModel, shape, err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(r.outputs))
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	if err := r.sess.Run([]ort.Value{in}, outs); err != nil {
		return nil, nil, fmt.Errorf("%w: run: %s", ErrModel, oneLine(err))
	}
	vals := make([][]float32, len(outs))
	shapes := make([][]int64, len(outs))
	for i, o := range outs {
		t, ok := o.(*ort.Tensor[float32])
		if !ok {
			return nil, nil, fmt.Errorf("%w: output %s is not a float32 tensor", ErrModel, r.outputs[i])
		}
		vals[i] = append([]float32(nil), t.GetData()...)
		shapes[i] = append([]int64(nil), t.GetShape()...)
	}
	return vals, shapes, nil
}

// Close frees the session; it is idempotent.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.sess.Destroy(); err != nil {
		return fmt.Errorf("%w: closing: %w", ErrModel, err)
	}
	return nil
}

// Evaluator runs calibration graphs for models.Quantize on the CPU.
type Evaluator struct {
	Runtime *Runtime
	Threads int
}

// Open implements models.Evaluator.
func (e Evaluator) Open(model []byte, outputs []string) (models.Evaluation, error) {
	r, err := NewRunner(e.Runtime, model, outputs, e.Threads)
	if err != nil {
		return nil, err
	}
	return evaluation{r}, nil
}

type evaluation struct{ r *Runner }

func (v evaluation) Run(img models.CalibImage) ([][]float32, error) {
	out, _, err := v.r.Run([]int64{1, 3, int64(img.Height), int64(img.Width)}, img.Pixels)
	return out, err
}

func (v evaluation) Close() error { return v.r.Close() }
