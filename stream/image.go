package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// ImageFile writes a single stylized frame as a still image (PNG, JPEG, …,
// by the path's extension). Like VideoFile, the image appears at its path
// only once it is complete.
type ImageFile struct {
	// mu serialises Write, Close and Abort: Abort may come from another
	// goroutine (a Transcoder closed while it runs) while Write is
	// encoding; it freed bgra under Write's Merge (a crash).
	mu     sync.Mutex
	done   bool // closed or aborted: Write refuses
	path   string
	tmp    string
	lock   *os.File // holds tmp's flock until the image is done (lockedTemp)
	frames int64
	alpha  *gocv.Mat // the input's transparency, or nil
	bgra   gocv.Mat
	log    *slog.Logger

	profile       *media.Profile // the input's colour profile, or nil
	profileFailed bool
}

// CheckImagePath checks, before any work is done, that an image can be
// written at path.
func CheckImagePath(path string) error { return checkWritable(path) }

// CreateImage checks that path can be written. alpha, if not nil, is the
// input's transparency (8-bit, the frame's size; the caller keeps owning
// it): the image is written with it as its alpha channel when its type
// has one (PNG, WebP, TIFF), and log says once that it is lost otherwise.
// profile, if not nil, is the input's colour profile: PNG, JPEG, WebP and
// TIFF carry it, so that the styled picture's colours mean what the
// input's do; log says once that another type loses one that is not sRGB.
func CreateImage(path string, alpha *gocv.Mat, profile *media.Profile, log *slog.Logger) (*ImageFile, error) {
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
	if !keepsProfile(filepath.Ext(path), profile, log) {
		profile = nil
	}
	return &ImageFile{path: path, tmp: tmp, lock: lock, alpha: alpha, bgra: gocv.NewMat(), log: log, profile: profile}, nil
}

// PictureType reports whether a name ends in a picture type vidstyle
// writes (with OpenCV's encoders): .png, .jpg (.jpeg .jpe .jfif), .webp,
// .bmp, .tif (.tiff), .ppm, .pgm (grey), .pnm, .jp2 or .ras.
func PictureType(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".jp2", ".ras":
		return true
	}
	return false
}

// encodePicture encodes a BGR or BGRA frame as the picture type ext
// names, appended to dst: a .pgm as grey, which OpenCV's encoder
// requires (it aborts the process on colour). grey is the caller's
// scratch Mat for that.
func encodePicture(dst []byte, ext string, m gocv.Mat, grey *gocv.Mat) ([]byte, error) {
	ext = strings.ToLower(ext)
	switch ext {
	case ".jpeg", ".jpe", ".jfif":
		ext = ".jpg" // JPEG under names OpenCV has no encoder for
	case ".tiff":
		ext = ".tif"
	case ".pgm":
		code := gocv.ColorBGRToGray
		if m.Channels() == 4 {
			code = gocv.ColorBGRAToGray
		}
		if m.Channels() != 1 {
			gocv.CvtColor(m, grey, code)
			m = *grey
		}
	}
	buf, err := gocv.IMEncode(gocv.FileExt(ext), m)
	if err != nil {
		return dst, fmt.Errorf("OpenCV could not encode the picture: %w", err)
	}
	defer buf.Close()
	out := append(dst, buf.GetBytes()...) // GetBytes is the C buffer, freed by Close
	if ext == ".tif" && m.Channels() == 4 {
		out, _ = media.TIFFUnassociatedAlpha(out) // OpenCV does not say the fourth sample is alpha
	}
	return out, nil
}

// keepsProfile reports whether a picture type carries a colour profile,
// and says once when a profile that is not sRGB is lost.
func keepsProfile(ext string, p *media.Profile, log *slog.Logger) bool {
	if p == nil {
		return false
	}
	if media.HoldsProfile(ext) {
		return true
	}
	if !p.SRGB() && log != nil {
		log.Warn(fmt.Sprintf("%s keeps no colour profile: the input's (%s) is lost, and its colours show as sRGB, duller where the input's are wider (write .png, .jpg, .webp or .tif to keep it)", ext, p))
	}
	return false
}

// embedProfile puts a colour profile into an encoded picture; an encoding
// it cannot place it in (never seen from OpenCV) is said once and kept.
func embedProfile(ext string, pic []byte, p *media.Profile, failed *bool, log *slog.Logger) []byte {
	out, ok := media.EmbedProfile(ext, pic, p)
	if !ok && !*failed {
		*failed = true
		if log != nil {
			log.Warn(fmt.Sprintf("the %s written has a layout the colour profile could not be put into: written without it, its colours show as sRGB", ext))
		}
	}
	return out
}

// Write is the pipeline.Sink method: the first frame becomes the image.
func (w *ImageFile) Write(f pipeline.Frame[*gocv.Mat]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("%w %s: written after close", ErrOutput, w.path)
	}
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
	ext := filepath.Ext(w.path)
	grey := gocv.NewMat()
	data, err := encodePicture(nil, ext, img, &grey)
	grey.Close()
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrOutput, w.path, err)
	}
	if w.profile != nil {
		data = embedProfile(ext, data, w.profile, &w.profileFailed, w.log)
	}
	err = os.WriteFile(w.tmp, data, 0o600)
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
func (w *ImageFile) Frames() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// Close moves the finished image to its path.
func (w *ImageFile) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
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
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.bgra.Close()
	defer func() { closeLock(w.lock); w.lock = nil }()
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}
