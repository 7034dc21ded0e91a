package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// quantizedStore makes a models folder holding the Johnson test graph as
// "johnson" and its INT8 version "johnson.int8", made by the binary's
// models quantize (3 photos); it returns the folder and both graphs.
func quantizedStore(t *testing.T, dir string) (store string, fp32, int8 []byte) {
	t.Helper()
	store = filepath.Join(dir, "store")
	johnson := filepath.Join(dir, "johnson.onnx")
	fp32 = testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: 3})
	if err := os.WriteFile(johnson, fp32, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "models", "import", "-models-dir", store, johnson, "johnson")
	mustRun(t, dir, "models", "quantize", "-models-dir", store, "-calib", calibPhotos(t), "-frames", "3", "johnson")
	int8, err := os.ReadFile(filepath.Join(store, "johnson.int8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return store, fp32, int8
}

// stillClip writes a 320x180 clip of one photo, lossless, so that every
// frame decodes the same and a live window shows one picture.
func stillClip(t *testing.T, dir string) string {
	t.Helper()
	clip := filepath.Join(dir, "still.mp4")
	ffmpeg(t, "-loop", "1", "-i", filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), "-vf", "scale=320:180,format=yuv420p",
		"-r", "30", "-t", "2", "-c:v", "libx264", "-qp", "0", clip)
	return clip
}

// paintAlone is what a model paints on frame by itself, at frame size.
func paintAlone(t *testing.T, name string, graph []byte, frame gocv.Mat) gocv.Mat {
	t.Helper()
	s, err := stylize.New(rt, stylize.Model{Name: name, ONNX: graph}, stylize.Config{FrameWidth: frame.Cols(), FrameHeight: frame.Rows(), Device: stylize.DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := gocv.NewMat()
	t.Cleanup(func() { out.Close() })
	if err := s.Prepare(0, &frame); err != nil {
		t.Fatal(err)
	}
	if err := s.Infer(0); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(0, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWindowSwitchesToAQuantizedStyleAndBack: in the live window (Xvfb,
// real keys from xdotool) with toon and an INT8 style (the Johnson test
// graph quantized by models quantize) on a still clip, n shows the
// quantized style, logged with its precision, and the window paints what
// the INT8 model paints (closer to it than to its FP32 original); p goes
// back to toon, and the window paints what toon paints again.
func TestWindowSwitchesToAQuantizedStyleAndBack(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	store, fp32, int8 := quantizedStore(t, dir)
	clip := stillClip(t, dir)
	frame := testmedia.DecodeAll(t, clip)[0]
	refInt8, refFP32 := paintAlone(t, "johnson.int8", int8, frame), paintAlone(t, "johnson", fp32, frame)
	toon, _ := models.LookupBuiltin("toon")
	refToon := paintAlone(t, "toon", toon.ONNX(), frame)

	cmd := command(dir, []string{"DISPLAY=" + display}, "-in", clip, "-live", "-loop", "-models-dir", store,
		"-model", "toon,johnson.int8", "-temporal", "0", "-stats-period", "1h")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := lines(t, stderr)
	waitFor := logWaiter(t, logs)
	waitFor("preview window open")
	wid := findWindow(t, display)
	key := keyPresser(t, display, wid)
	showsToon := func() bool { return psnrBelow(screenshot(t, display, wid), refToon, 70) > 35 }
	until(t, 10*time.Second, "toon in the window", showsToon)

	key("n")
	waitFor(`showing johnson\.int8 \(int8\)`)
	// The log line can come before the window has drawn the frame: look
	// again, boundedly, until it shows the INT8 picture.
	var toInt8, toFP32 float64
	until(t, 10*time.Second, "the INT8 style in the window", func() bool {
		shot := screenshot(t, display, wid)
		toInt8, toFP32 = psnrBelow(shot, refInt8, 70), psnrBelow(shot, refFP32, 70)
		return toInt8 > 35
	})
	t.Logf("window vs the INT8 model alone: %.1f dB; vs its FP32 original: %.1f dB", toInt8, toFP32)
	if toFP32 >= toInt8 {
		t.Errorf("the window is as close to the FP32 model (%.1f dB) as to the INT8 one (%.1f dB)", toFP32, toInt8)
	}

	key("p")
	waitFor(`showing toon$`)
	until(t, 10*time.Second, "toon again in the window", showsToon)

	key("q")
	for range logs {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
