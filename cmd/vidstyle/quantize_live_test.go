package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	ffmpeg(t, "-loop", "1", "-i", filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), "-vf", "scale=320:180,setsar=1,format=yuv420p",
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
	waitFor, logs := startWatched(t, cmd)
	defer cmd.Process.Kill()
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

// frameJS grabs the page's video into a canvas and returns it as a PNG
// data URL ("" before the first frame).
const frameJS = `(() => {
  const v = document.querySelector("video");
  if (!v || !v.videoWidth) return "";
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  return c.toDataURL("image/png");
})()`

// TestBrowserSwitchesToAQuantizedStyleAndBack: the web page (Chromium,
// headless) of a live job with toon and an INT8 style lists the INT8
// style with its precision (button and /api/state), a click on it makes
// the video show what the INT8 model paints (at least 6 dB closer to it
// than to toon: VP8 keeps about 22 dB of the test graph's noise-like
// texture), and a click on toon brings toon back. Run it in a fresh network
// namespace (scripts/test.sh does).
func TestBrowserSwitchesToAQuantizedStyleAndBack(t *testing.T) {
	dir := t.TempDir()
	store, _, int8 := quantizedStore(t, dir)
	clip := stillClip(t, dir)
	frame := testmedia.DecodeAll(t, clip)[0]
	toon, _ := models.LookupBuiltin("toon")
	refInt8, refToon := paintAlone(t, "johnson.int8", int8, frame), paintAlone(t, "toon", toon.ONNX(), frame)

	cmd := command(dir, nil, "-in", clip, "-live", "-loop", "-serve", "-listen", "127.0.0.1:0", "-models-dir", store,
		"-model", "toon,johnson.int8", "-temporal", "0", "-stats-period", "1h")
	waitFor, _ := startWatched(t, cmd)
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	url := waitFor(`web preview: (http://127\.0\.0\.1:\d+/)`)[1]

	res, err := http.Get(url + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Styles     []string `json:"styles"`
		Precisions []string `json:"precisions"`
	}
	err = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Styles, ",") != "toon,johnson.int8" || strings.Join(st.Precisions, ",") != "fp32,int8" {
		t.Errorf("/api/state styles %v, precisions %v", st.Styles, st.Precisions)
	}

	tab := startChromium(t)
	button := func(i string) chromedp.CSS { return chromedp.CSS(`#styles button[data-index="` + i + `"]`) }
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(button("1"))); err != nil {
		t.Fatal(err)
	}
	label, err := chromedp.Run(tab, chromedp.TextContent(button("1")))
	if err != nil {
		t.Fatal(err)
	}
	if label != "2  johnson.int8  (int8)" {
		t.Errorf("the INT8 style's button says %q", label)
	}
	// shows reports how close the video is to each reference.
	shows := func() (toInt8, toToon float64) {
		data, err := chromedp.Run(tab, chromedp.Evaluate[string](frameJS))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, "data:image/png;base64,"))
		if err != nil || data == "" {
			return 0, 0
		}
		m, err := gocv.IMDecode(raw, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		return psnrBelow(m, refInt8, 0), psnrBelow(m, refToon, 0)
	}
	var a, b float64
	until(t, 20*time.Second, "toon in the page", func() bool { a, b = shows(); return b > 25 && b > a+6 })
	t.Logf("toon: video vs toon %.1f dB, vs the INT8 style %.1f dB", b, a)
	if err := chromedp.Do(tab, chromedp.Click(button("1"))); err != nil {
		t.Fatal(err)
	}
	until(t, 20*time.Second, "the INT8 style in the page", func() bool { a, b = shows(); return a > 18 && a > b+6 })
	t.Logf("after the click: video vs the INT8 style %.1f dB, vs toon %.1f dB", a, b)
	if err := chromedp.Do(tab, chromedp.Click(button("0"))); err != nil {
		t.Fatal(err)
	}
	until(t, 20*time.Second, "toon again in the page", func() bool { a, b = shows(); return b > 25 && b > a+6 })
	t.Logf("back: video vs toon %.1f dB, vs the INT8 style %.1f dB", b, a)
}
