package stylize_test

import (
	"bytes"
	"errors"
	"image"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/stylize"
)

// TestCUDAMatchesCPU runs where ONNX Runtime has its CUDA provider and a GPU
// answers (scripts/setup.sh --gpu, then VIDSTYLE_ORT_LIB=lib/gpu/libonnxruntime.so.1);
// elsewhere it skips and says why. The real photos and frames of small.mp4
// through a pretrained style, on the CPU and on CUDA, through both slots in
// turn, must give the same pictures (PSNR of the 8-bit results, TF32 and
// cuDNN's own algorithms allowed for); and -device auto must choose a GPU
// and say in one line why not TensorRT when it falls to CUDA.
func TestCUDAMatchesCPU(t *testing.T) {
	m := sharedModel(t, "udnie")
	const w, h = 640, 360
	gpu, err := stylize.New(sharedRT, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceCUDA})
	if err != nil {
		if errors.Is(err, stylize.ErrDevice) && !errors.Is(err, stylize.ErrModel) {
			t.Skipf("no CUDA here (%s): %v", sharedRT.Path(), err)
		}
		t.Fatal(err)
	}
	defer gpu.Close()
	if gpu.Device() != stylize.DeviceCUDA {
		t.Fatalf("Device() = %q, want cuda", gpu.Device())
	}
	cpu := newStylizer(t, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceCPU})

	frames := cudaFrames(t, w, h)
	a, b := gocv.NewMat(), gocv.NewMat()
	defer a.Close()
	defer b.Close()
	worst := math.Inf(1)
	for i, f := range frames {
		if err := stylizeOne(cpu, i%2, &f, &a); err != nil {
			t.Fatalf("frame %d on the CPU: %v", i, err)
		}
		if err := stylizeOne(gpu, i%2, &f, &b); err != nil {
			t.Fatalf("frame %d on CUDA: %v", i, err)
		}
		if a.Cols() != b.Cols() || a.Rows() != b.Rows() || a.Type() != b.Type() {
			t.Fatalf("frame %d: CUDA gave %dx%d type %v, the CPU %dx%d type %v", i, b.Cols(), b.Rows(), b.Type(), a.Cols(), a.Rows(), a.Type())
		}
		p := testmedia.PSNR(a, b)
		t.Logf("frame %d: CUDA vs CPU %.1f dB", i, p)
		worst = min(worst, p)
	}
	t.Logf("%d frames at %dx%d, worst %.1f dB", len(frames), w, h, worst)
	if worst < 35 {
		t.Errorf("CUDA and CPU pictures differ: worst PSNR %.1f dB, want ≥ 35", worst)
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	auto, err := stylize.New(sharedRT, m, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceAuto, Log: log})
	if err != nil {
		t.Fatalf("-device auto where CUDA works: %v", err)
	}
	defer auto.Close()
	t.Logf("auto: %s; log %q", auto.Device(), buf.String())
	switch auto.Device() {
	case stylize.DeviceTensorRT:
	case stylize.DeviceCUDA:
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `msg="device cuda"`) || !strings.Contains(lines[0], "tensorrt unavailable: ") ||
			!strings.Contains(lines[0], "level=INFO") {
			t.Errorf("auto fell to CUDA with log %q, want one info line saying why not TensorRT", buf.String())
		}
	default:
		t.Errorf("auto chose %q where CUDA works", auto.Device())
	}
}

// cudaFrames are the test photos and a few frames of small.mp4 at w×h,
// closed at the test's end.
func cudaFrames(t *testing.T, w, h int) []gocv.Mat {
	t.Helper()
	var src []gocv.Mat
	_, file, _, _ := runtime.Caller(0)
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", "*.jpg"))
	for _, f := range files {
		m := gocv.IMRead(f, gocv.IMReadColor)
		if m.Empty() {
			m.Close()
			t.Fatalf("cannot read %s", f)
		}
		src = append(src, m)
	}
	video := testmedia.DecodeAll(t, testmedia.SmallMP4(t)) // closed by DecodeAll's cleanup
	for i := 0; i < len(video); i += max(1, len(video)/4) {
		src = append(src, video[i].Clone())
	}
	var out []gocv.Mat
	for _, m := range src {
		r := gocv.NewMat()
		gocv.Resize(m, &r, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		m.Close()
		out = append(out, r)
	}
	t.Cleanup(func() {
		for _, m := range out {
			m.Close()
		}
	})
	return out
}
