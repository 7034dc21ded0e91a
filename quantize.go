package vidstyle

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// QuantizeJob is one vidstyle models quantize.
type QuantizeJob struct {
	// Model is a -model value naming one float32 style.
	Model string
	// Name stores the result under this name (default NAME.int8, beside
	// the original).
	Name string
	// Calib is a folder of photos, a video or an image to calibrate on
	// (default: DefaultCalibration's).
	Calib string
	// Frames is how many calibration frames to use (default 24).
	Frames int
}

// calibBoxes are the sizes calibration frames are scaled to fit, frame i
// into box i mod 3: a Johnson net's activations depend on the processing
// size (the same picture at 1280x720 is smoother per pixel than at
// 320x180, and its features have longer tails), so ranges measured at
// one size clip at a larger one (BENCHMARKS.md: udnie calibrated at
// 320x184 lost 7 dB at 640x360 against ranges measured at both).
var calibBoxes = [...]image.Point{{320, 180}, {640, 360}, {1280, 720}}

// DefaultCalibration lists the calibration inputs used when none is
// given: the photos in the shared/testdata folder beside the checkout
// that workDir is in, when there is one, and the sample clip of the gocv
// module (small.mp4) when the Go module cache holds it.
func DefaultCalibration(workDir string) []string {
	for dir := workDir; dir != ""; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			var out []string
			d := filepath.Join(dir, "..", "shared", "testdata")
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				out = append(out, filepath.Clean(d))
			}
			// The sample clip in the gocv module, when the module cache has it.
			cache := os.Getenv("GOMODCACHE")
			if home, err := os.UserHomeDir(); cache == "" && err == nil {
				cache = filepath.Join(home, "go", "pkg", "mod")
			}
			if clips, _ := filepath.Glob(filepath.Join(cache, "gocv.io", "x", "gocv@*", "images", "small.mp4")); len(clips) > 0 && cache != "" {
				out = append(out, clips[len(clips)-1])
			}
			return out
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return nil
}

// Quantize makes an INT8 version of a float32 Johnson-style model
// (models.Quantize: equalized, calibrated on real frames, QDQ), checks it
// like any stored model (self-contained, the image contract, a run at two
// sizes) and stores it in the models folder; it returns the stored file.
func (e *Engine) Quantize(ctx context.Context, job QuantizeJob) (string, error) {
	m, err := e.resolve(job.Model)
	if err != nil {
		return "", err
	}
	if m.Catalog != nil {
		return "", usagef("%s is not downloaded yet: vidstyle models pull %s first", m.Name, m.Name)
	}
	name := job.Name
	if name == "" {
		name = models.QuantizedName(m.Name)
	}
	if err := e.store.CheckNew(name); err != nil {
		return "", fmt.Errorf("quantize: %w", err)
	}
	data, err := m.ONNX()
	if err != nil {
		return "", err
	}
	g, err := models.ParseGraph(data)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", m.Name, err)
	}
	if p := g.Precision(); p != "fp32" {
		return "", usagef("model %s is already %s", m.Name, p)
	}
	conv, err := models.ResolveConvention(g, m.Sidecar())
	if err != nil {
		return "", fmt.Errorf("model %s: %w", m.Name, err)
	}
	if !conv.IsJohnson() {
		return "", fmt.Errorf("%w: model %s takes %s; vidstyle quantizes NCHW RGB 0..255 models", models.ErrNotJohnson, m.Name, conv)
	}
	if err := models.CheckQuantizable(data); err != nil {
		return "", fmt.Errorf("model %s: %w", m.Name, err)
	}
	inputs := []string{job.Calib}
	if job.Calib == "" {
		wd, _ := os.Getwd()
		if inputs = DefaultCalibration(wd); len(inputs) == 0 {
			return "", usagef("no calibration frames: give -calib DIR|VIDEO (photos or a clip like what you will stylize)")
		}
	}
	frames := job.Frames
	if frames <= 0 {
		frames = 24
	}
	imgs, err := e.calibFrames(ctx, inputs, frames)
	if err != nil {
		return "", err
	}
	rt, release, err := e.useRuntime()
	if err != nil {
		return "", err
	}
	defer release() // Close refuses until this call returns
	e.log.Info(fmt.Sprintf("quantizing %s: calibrating on %d frames from %s", m.Name, len(imgs), strings.Join(inputs, ", ")))
	q, rep, err := models.Quantize(data, stylize.Evaluator{Runtime: rt}, models.QuantizeOptions{
		Images: imgs, Source: strings.Join(inputs, ", "), Name: m.Name,
	})
	if err != nil {
		return "", fmt.Errorf("model %s: %w", m.Name, err)
	}
	qg, err := models.ParseGraph(q)
	if err != nil {
		return "", fmt.Errorf("quantized %s: %w", m.Name, err)
	}
	if _, _, err := qg.CheckImage(); err != nil {
		return "", fmt.Errorf("quantized %s: %w", m.Name, err)
	}
	for _, sz := range [][2]int{{96, 64}, {72, 120}} {
		if _, _, err := e.runOnce(ctx, rt, stylize.Model{Name: name, ONNX: q, Convention: conv}, sz[0], sz[1]); err != nil {
			return "", fmt.Errorf("quantized %s: %w", m.Name, err)
		}
	}
	path, err := e.store.Put(name, q)
	if err != nil {
		return "", err
	}
	e.log.Info(fmt.Sprintf("stored %s in %s (%.1f MB, %d convolutions int8, %d float): use it with -model %s, or -precision auto with -model %s",
		name, path, float64(len(q))/1e6, rep.Quantized, len(rep.Float), name, m.Name))
	return path, nil
}

// calibFrames reads up to n frames from the inputs (folders of images,
// images, videos), spread over each video, each scaled to fit the
// calibration size, packed as the Johnson convention's tensors.
func (e *Engine) calibFrames(ctx context.Context, inputs []string, n int) ([]models.CalibImage, error) {
	var files []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("-calib %s: no such file or folder", in)
		}
		if err != nil {
			return nil, usagef("-calib %s: %v", in, err)
		}
		if !st.IsDir() {
			files = append(files, in)
			continue
		}
		entries, err := os.ReadDir(in)
		if err != nil {
			return nil, fmt.Errorf("-calib %s: %w", in, err)
		}
		for _, en := range entries {
			p := filepath.Join(in, en.Name())
			if !en.Type().IsRegular() || !capture.IsStillImage(p) && !slices.Contains([]string{".mp4", ".mkv", ".mov", ".webm", ".avi"}, strings.ToLower(filepath.Ext(p))) {
				continue
			}
			if err := capture.Undecodable(p); err != nil {
				// A HEIC among the photos: the others still calibrate.
				e.log.Warn("-calib: skipped " + err.Error())
				continue
			}
			files = append(files, p)
		}
	}
	var out []models.CalibImage
	for i, f := range files {
		if len(out) >= n {
			break
		}
		per := max(1, (n-len(out))/(len(files)-i)) // what photos leave goes to the videos after them
		if capture.IsStillImage(f) {
			per = 1
		}
		imgs, err := readCalib(ctx, f, per, len(out), e)
		if err != nil {
			return nil, err
		}
		out = append(out, imgs...)
	}
	if len(out) == 0 {
		return nil, usagef("no calibration frames in %s: give -calib DIR|VIDEO with photos or a clip", strings.Join(inputs, ", "))
	}
	return out, nil
}

// readCalib reads up to n frames of one file, every 5th for a video, the
// first one scaled to fit calibBoxes[start % 3], the next the next box.
func readCalib(ctx context.Context, path string, n, start int, e *Engine) ([]models.CalibImage, error) {
	src, err := capture.Open(path, e.log)
	if err != nil {
		return nil, fmt.Errorf("-calib %s: %w", path, err)
	}
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	small := gocv.NewMat()
	defer small.Close()
	var out []models.CalibImage
	for i := 0; len(out) < n; i++ {
		box := calibBoxes[(start+len(out))%len(calibBoxes)]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := src.Read(&frame); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("-calib %s: %w", path, err)
		}
		if i%5 != 0 {
			continue
		}
		w, h := frame.Cols(), frame.Rows()
		f := min(float64(box.X)/float64(w), float64(box.Y)/float64(h))
		w, h = max(16, int(float64(w)*f)/4*4), max(16, int(float64(h)*f)/4*4)
		gocv.Resize(frame, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		data, err := small.DataPtrUint8()
		if err != nil {
			return nil, fmt.Errorf("-calib %s: %w", path, err)
		}
		px := make([]float32, 3*w*h)
		stylize.Pack(px, w, h, data, w, h, int(small.Step()))
		out = append(out, models.CalibImage{Width: w, Height: h, Pixels: px})
	}
	return out, nil
}
