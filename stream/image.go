package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// ImageFile writes a single stylized frame as a still image (PNG, JPEG, …,
// by the path's extension). Like VideoFile, the image appears at its path
// only once it is complete.
type ImageFile struct {
	path   string
	tmp    string
	lock   *os.File // holds tmp's flock until the image is done (lockedTemp)
	frames int64
	alpha  *gocv.Mat // the input's transparency, or nil
	bgra   gocv.Mat
}

// CheckImagePath checks, before any work is done, that an image can be
// written at path.
func CheckImagePath(path string) error { return checkWritable(path) }

// CreateImage checks that path can be written. alpha, if not nil, is the
// input's transparency (8-bit, the frame's size; the caller keeps owning
// it): the image is written with it as its alpha channel when its type
// has one (PNG, WebP, TIFF), and log says once that it is lost otherwise.
func CreateImage(path string, alpha *gocv.Mat, log *slog.Logger) (*ImageFile, error) {
	tmp, lock, err := lockedTemp(path, log)
	if err != nil {
		return nil, err
	}
	if alpha != nil {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".png", ".webp", ".tif", ".tiff":
		default:
			if log != nil {
				log.Warn(fmt.Sprintf("%s has no transparency: the input's transparent parts come out painted (write .png to keep them)", filepath.Ext(path)))
			}
			alpha = nil
		}
	}
	return &ImageFile{path: path, tmp: tmp, lock: lock, alpha: alpha, bgra: gocv.NewMat()}, nil
}

// Write is the pipeline.Sink method: the first frame becomes the image.
func (w *ImageFile) Write(f pipeline.Frame[*gocv.Mat]) error {
	if w.frames > 0 {
		return fmt.Errorf("%w %s: an image holds one frame", ErrOutput, w.path)
	}
	img := *f.Image.V
	if w.alpha != nil && w.alpha.Cols() == img.Cols() && w.alpha.Rows() == img.Rows() {
		// Stylized colour, the input's transparency.
		planes := gocv.Split(img)
		planes = append(planes, *w.alpha)
		gocv.Merge(planes, &w.bgra)
		for i := range 3 {
			planes[i].Close()
		}
		img = w.bgra
	}
	// Encoded in memory, then written: a write that fails (a full disk)
	// is then an error that says why, where OpenCV's own file writer
	// said only "could not encode" after a stray libpng line.
	ext := strings.ToLower(filepath.Ext(w.path))
	if ext == ".jfif" {
		ext = ".jpg" // JPEG under a name OpenCV has no encoder for
	}
	buf, err := gocv.IMEncode(gocv.FileExt(ext), img)
	if err != nil {
		return fmt.Errorf("%w %s: OpenCV could not encode the image: %w", ErrOutput, w.path, err)
	}
	err = os.WriteFile(w.tmp, buf.GetBytes(), 0o600)
	buf.Close()
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w %s: the disk is full (no space left on device)", ErrOutput, w.path)
	case err != nil:
		return fmt.Errorf("%w %s: %w", ErrOutput, w.path, errors.Unwrap(err))
	}
	w.frames++
	return nil
}

// Frames counts the frames written (0 or 1).
func (w *ImageFile) Frames() int64 { return w.frames }

// Close moves the finished image to its path.
func (w *ImageFile) Close() error {
	w.bgra.Close()
	defer func() { closeLock(w.lock); w.lock = nil }()
	if w.tmp == "" {
		return nil
	}
	tmp := w.tmp
	w.tmp = ""
	if w.frames == 0 {
		os.Remove(tmp)
		return fmt.Errorf("%w %s: no frame was written", ErrOutput, w.path)
	}
	return finish(tmp, w.path)
}

// CloseEarly is Close: an image has no end to cut.
func (w *ImageFile) CloseEarly() error { return w.Close() }

// Abort removes the unfinished image.
func (w *ImageFile) Abort() {
	w.bgra.Close()
	defer func() { closeLock(w.lock); w.lock = nil }()
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}
