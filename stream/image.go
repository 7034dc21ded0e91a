package stream

import (
	"fmt"
	"os"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// ImageFile writes a single stylized frame as a still image (PNG, JPEG, …,
// by the path's extension). Like VideoFile, the image appears at its path
// only once it is complete.
type ImageFile struct {
	path   string
	tmp    string
	frames int64
}

// CheckImagePath checks, before any work is done, that an image can be
// written at path.
func CheckImagePath(path string) error { return checkWritable(path) }

// CreateImage checks that path can be written.
func CreateImage(path string) (*ImageFile, error) {
	tmp, err := tempBeside(path)
	if err != nil {
		return nil, err
	}
	return &ImageFile{path: path, tmp: tmp}, nil
}

// Write is the pipeline.Sink method: the first frame becomes the image.
func (w *ImageFile) Write(f pipeline.Frame[*gocv.Mat]) error {
	if w.frames > 0 {
		return fmt.Errorf("%w %s: an image holds one frame", ErrOutput, w.path)
	}
	if !gocv.IMWrite(w.tmp, *f.Image.V) {
		return fmt.Errorf("%w %s: OpenCV could not encode the image", ErrOutput, w.path)
	}
	w.frames++
	return nil
}

// Frames counts the frames written (0 or 1).
func (w *ImageFile) Frames() int64 { return w.frames }

// Close moves the finished image to its path.
func (w *ImageFile) Close() error {
	if w.tmp == "" {
		return nil
	}
	tmp := w.tmp
	w.tmp = ""
	if w.frames == 0 {
		os.Remove(tmp)
		return fmt.Errorf("%w %s: no frame was written", ErrOutput, w.path)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if err := os.Rename(tmp, w.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}

// CloseEarly is Close: an image has no end to cut.
func (w *ImageFile) CloseEarly() error { return w.Close() }

// Abort removes the unfinished image.
func (w *ImageFile) Abort() {
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}
