package vidstyle_test

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// BenchmarkPipelineVsRaw measures, in one run, the model alone (ONNX
// Runtime on a pre-made tensor) and the whole pipeline (decode → prepare →
// infer → finish → H.264 encode to a file) at 640x360, and reports their
// frame rates and ratio. Rates are steady state: from the first finished
// frame to the last. Run it with
//
//	go test . -run '^$' -bench PipelineVsRaw -benchtime 1x
func BenchmarkPipelineVsRaw(b *testing.B) {
	clip := clip640x360(b)
	udnie := filepath.Join(repoRoot(), "..", "shared", "models", "udnie.onnx")
	cases := []struct {
		name, model string
		frames      int64
	}{
		{"toon", models.DefaultStyle, 166},
		{"udnie", udnie, 24},
	}
	for _, c := range cases {
		for _, serial := range []bool{false, true} {
			name := c.name
			if serial {
				name += "/serial"
			}
			b.Run(name, func(b *testing.B) {
				if _, err := os.Stat(c.model); c.model == udnie && err != nil {
					b.Skipf("pretrained model not present: %v", err)
				}
				var raw, pipe float64
				for range b.N {
					raw += rawFPS(b, c.model, c.frames)
					pipe += pipelineFPS(b, clip, c.model, c.frames, serial)
				}
				raw /= float64(b.N)
				pipe /= float64(b.N)
				b.ReportMetric(raw, "raw-fps")
				b.ReportMetric(pipe, "pipeline-fps")
				b.ReportMetric(pipe/raw, "ratio")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func rawFPS(b *testing.B, model string, frames int64) float64 {
	sty, err := stylize.New(sharedRT, testort.Models(b, model)[0], stylize.Config{FrameWidth: 640, FrameHeight: 360, Device: stylize.DeviceCPU})
	if err != nil {
		b.Fatal(err)
	}
	defer sty.Close()
	frame := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer frame.Close()
	gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	if err := sty.Prepare(0, &frame); err != nil {
		b.Fatal(err)
	}
	if err := sty.Infer(0); err != nil { // warm-up
		b.Fatal(err)
	}
	start := time.Now()
	for range frames - 1 {
		if err := sty.Infer(0); err != nil {
			b.Fatal(err)
		}
	}
	return float64(frames-1) / time.Since(start).Seconds()
}

func pipelineFPS(b *testing.B, clip, model string, frames int64, serial bool) float64 {
	var first, last time.Time
	tr, err := newEngine(b, vidstyle.Config{}).Open(context.Background(), vidstyle.Job{
		In: clip, Out: filepath.Join(b.TempDir(), "out.mp4"), Model: model, Frames: frames, Preset: "veryfast", Serial: serial,
		OnFrame: func(n int64) {
			last = time.Now()
			if n == 1 {
				first = last
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.Run(context.Background()) // closes the output file
	if err != nil {
		b.Fatal(err)
	}
	if res.Frames != frames {
		b.Fatalf("wrote %d frames, want %d", res.Frames, frames)
	}
	return float64(frames-1) / last.Sub(first).Seconds()
}

// repoRoot is the module's root: this file's folder.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// clip640x360 scales the clip that ships with gocv to 640x360.
func clip640x360(b *testing.B) string {
	clip := filepath.Join(b.TempDir(), "clip640x360.mp4")
	if err := vidstyle.MakeClip(testmedia.SmallMP4(b), 640, 360, clip); err != nil {
		b.Fatal(err)
	}
	return clip
}

// BenchmarkPeerOpenCVDNN runs one Johnson-architecture graph (up-sample +
// conv, reflection padding, opset 9: the kind OpenCV 4.6 imports; random
// weights) on the same 640x360 frame in ONNX Runtime and in OpenCV's DNN
// module, and reports both rates, their ratio, and how far the two
// outputs are apart.
//
//	go test . -run '^$' -bench PeerOpenCVDNN -benchtime 1x
func BenchmarkPeerOpenCVDNN(b *testing.B) {
	const w, h, n = 640, 360, 4
	graph := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 9, Seed: 5})
	frame := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer frame.Close()
	gocv.RandU(&frame, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	for range b.N {
		// ONNX Runtime, through vidstyle's own path: with its threads
		// spin-waiting between operators (ONNX Runtime's own default, best
		// for inference alone) and without (vidstyle's default, which
		// leaves the cores to decode and encode in a pipeline).
		var ortOut gocv.Mat
		var ortFPS [2]float64
		for k, spin := range []bool{true, false} {
			sty, err := stylize.New(sharedRT, stylize.Model{Name: "johnson", ONNX: graph}, stylize.Config{FrameWidth: w, FrameHeight: h, Device: stylize.DeviceCPU, Spin: spin})
			if err != nil {
				b.Fatal(err)
			}
			if err := sty.Prepare(0, &frame); err != nil {
				b.Fatal(err)
			}
			sty.Infer(0) // warm-up
			t0 := time.Now()
			for range n {
				if err := sty.Infer(0); err != nil {
					b.Fatal(err)
				}
			}
			ortFPS[k] = n / time.Since(t0).Seconds()
			if k == 0 {
				ortOut = gocv.NewMat()
				sty.Finish(0, &ortOut)
			}
			sty.Close()
		}

		// OpenCV DNN on the same graph and frame (RGB 0..255 NCHW blob).
		net, err := gocv.ReadNetFromONNXBytes(graph)
		if err != nil {
			b.Fatal(err)
		}
		blob := gocv.BlobFromImage(frame, 1, image.Pt(w, h), gocv.NewScalar(0, 0, 0, 0), true, false)
		net.SetInput(blob, "")
		warm := net.Forward("")
		warm.Close()
		t0 := time.Now()
		var out gocv.Mat
		for i := range n {
			net.SetInput(blob, "")
			if i > 0 {
				out.Close()
			}
			out = net.Forward("")
		}
		cvFPS := n / time.Since(t0).Seconds()
		// Compare the two outputs: planar RGB floats → BGR bytes.
		planes, _ := out.DataPtrFloat32()
		cvOut := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		data, _ := cvOut.DataPtrUint8()
		stylize.Unpack(data, w, h, 3*w, planes, w, h)
		diff := gocv.NewMat()
		gocv.AbsDiff(ortOut, cvOut, &diff)
		flat := diff.Reshape(1, 0)
		_, worst, _, _ := gocv.MinMaxLoc(flat)
		for _, m := range []*gocv.Mat{&flat, &diff, &cvOut, &out, &ortOut, &blob} {
			m.Close()
		}
		net.Close()
		b.ReportMetric(ortFPS[0], "onnxruntime-fps")
		b.ReportMetric(ortFPS[1], "onnxruntime-nospin-fps")
		b.ReportMetric(cvFPS, "opencv-dnn-fps")
		b.ReportMetric(ortFPS[0]/cvFPS, "ratio")
		b.ReportMetric(ortFPS[1]/cvFPS, "ratio-nospin")
		b.ReportMetric(float64(worst), "max-diff-levels")
		b.ReportMetric(0, "ns/op")
	}
}
