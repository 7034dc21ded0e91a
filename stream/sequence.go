package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// SequenceConfig describes a numbered picture sequence to write
// ("styled_%04d.png"): one picture a frame of a constant-rate output, as
// ffmpeg's image2 muxer writes one, for editors and compositors that take
// sequences (After Effects, Nuke, Blender, Resolve).
type SequenceConfig struct {
	// Pattern is the files' name with one printf %d, with or without a
	// width ("%04d" gives 0001); its extension picks the picture type
	// (.png, .tif/.tiff, .webp, .jpg/.jpeg, .bmp).
	Pattern       string
	Width, Height int
	// Rate, Retime and End place frames as VideoConfig's do: a gap in a
	// variable-rate source repeats the picture before it, and the last
	// picture is held up to End on Close.
	Rate   pipeline.Rate
	Retime bool
	End    time.Duration
	// Start is the first picture's number (0 is 0; vidstyle gives 1, as
	// ffmpeg numbers from 1).
	Start int
	// Alpha says the frames are BGRA: PNG, TIFF and WebP keep the
	// transparency (AlphaOutput refuses the other types).
	Alpha bool
	// Profile is the input's colour profile, written into every picture
	// whose type holds one (PNG, JPEG, WebP, TIFF); nil for none.
	Profile *media.Profile
	Log     *slog.Logger
}

// Sequence writes a video's frames as numbered pictures. Each picture is
// encoded in memory and written to a hidden file beside its name, then
// renamed into place: a picture is there whole or not at all, and a job
// that stops keeps the pictures it finished. Write, Close and Abort may be
// called from different goroutines.
type Sequence struct {
	cfg                    SequenceConfig
	ext                    string // OpenCV's encoder, by extension
	dir                    string // the pictures' folder
	before, after          string // the file name around the number
	width                  int    // the number's width (zeros in front)
	mu                     sync.Mutex
	slots, frames, dropped int64
	hasLast                bool
	last                   []byte // the previous picture, encoded (repeated into gaps)
	firstPTS, lastPTS      time.Duration
	closed                 bool
	aborted                atomic.Bool // set by Abort before it waits: put stops at the next picture
	profileFailed          bool        // embedProfile said it could not
	grey                   gocv.Mat    // a .pgm picture's grey frame
}

// SequencePattern reports whether path names a numbered picture sequence
// vidstyle writes: a picture name with one printf %d, with or without a
// width up to 12 ("%04d" gives 0001), and %% for a literal % (as ffmpeg
// names them), of a type OpenCV encodes.
func SequencePattern(path string) bool {
	_, _, _, _, ok := sequenceName(path)
	return ok
}

// SequenceFile is picture n's file name in the sequence path names, as
// ffmpeg numbers it; "" when path is none.
func SequenceFile(path string, n int) string {
	if !SequencePattern(path) {
		return ""
	}
	return media.SequenceFile(path, n)
}

// sequenceName splits a pattern into its folder and its file name around
// the %d verb (media.SequenceName), for the picture types OpenCV writes.
func sequenceName(path string) (dir, before string, width int, after string, ok bool) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if !PictureType(base) {
		return "", "", 0, "", false
	}
	before, width, after, ok = media.SequenceName(base)
	return dir, before, width, after, ok
}

// sequenceAlpha reports whether a sequence's picture type keeps
// transparency, and why not when it does not.
func sequenceAlpha(path string) (bool, string) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".tif", ".tiff", ".webp":
		return true, ""
	}
	return false, "a " + strings.ToUpper(strings.TrimPrefix(filepath.Ext(path), ".")) + " picture cannot hold transparency: a .png, .tif or .webp sequence keeps it"
}

// CreateSequence checks that the pictures can be written in their folder.
func CreateSequence(cfg SequenceConfig) (*Sequence, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dir, before, width, after, ok := sequenceName(cfg.Pattern)
	if !ok {
		return nil, fmt.Errorf("%w %s: not a numbered picture sequence (name_%%04d.png)", ErrOutput, cfg.Pattern)
	}
	if cfg.Rate.Num <= 0 || cfg.Rate.Den <= 0 {
		return nil, fmt.Errorf("%w %s: frame rate %s", ErrOutput, cfg.Pattern, cfg.Rate)
	}
	if cfg.Start < 0 {
		return nil, fmt.Errorf("%w %s: first number %d", ErrOutput, cfg.Pattern, cfg.Start)
	}
	if ok, why := sequenceAlpha(cfg.Pattern); cfg.Alpha && !ok {
		return nil, fmt.Errorf("%w %s: %s", ErrOutput, cfg.Pattern, why)
	}
	s := &Sequence{cfg: cfg, dir: dir, before: before, width: width, after: after}
	s.ext = strings.ToLower(filepath.Ext(cfg.Pattern))
	if err := checkWritable(s.name(cfg.Start)); err != nil {
		return nil, err
	}
	s.removeStale()
	if !keepsProfile(s.ext, cfg.Profile, cfg.Log) {
		s.cfg.Profile = nil
	}
	s.grey = gocv.NewMat()
	return s, nil
}

// removeStale removes the hidden file a killed run left beside one of the
// pictures (the one it was writing: removeStale tells a live writer's,
// which holds its lock, from a dead one's).
func (s *Sequence) removeStale() {
	dir, before := s.dir, s.before
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		// ".NAME.<digits>.part.EXT": NAME is a picture's.
		rest, ok := strings.CutPrefix(e.Name(), "."+before)
		if !ok || !strings.HasSuffix(rest, ".part"+filepath.Ext(s.after)) {
			continue
		}
		digits, _, ok := strings.Cut(rest, s.after+".")
		if ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			removeStale(filepath.Join(dir, before+digits+s.after), s.cfg.Log)
		}
	}
}

// name is picture n's file name.
func (s *Sequence) name(n int) string {
	return filepath.Join(s.dir, s.before+fmt.Sprintf("%0*d", s.width, n)+s.after)
}

// Write is the pipeline.Sink method: the frame becomes the picture of the
// slot its PTS falls in (with Retime), the one before it repeated into any
// gap.
func (s *Sequence) Write(f pipeline.Frame[*gocv.Mat]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w %s: written after close", ErrOutput, s.cfg.Pattern)
	}
	m := f.Image.V
	want := gocv.MatTypeCV8UC3
	if s.cfg.Alpha {
		want = gocv.MatTypeCV8UC4
	}
	if m.Cols() != s.cfg.Width || m.Rows() != s.cfg.Height || m.Type() != want {
		return fmt.Errorf("%w: frame %dx%d type %v, want %dx%d of type %v", ErrOutput, m.Cols(), m.Rows(), m.Type(), s.cfg.Width, s.cfg.Height, want)
	}
	slot := s.slots // without Retime every frame is the next picture
	if s.cfg.Retime {
		slot = s.cfg.Rate.Slot(f.PTS)
	}
	if s.frames == 0 {
		s.firstPTS = f.PTS
	}
	if slot < s.slots {
		s.dropped++
		s.frames++
		return nil // its slot has a picture (capture.Retime skips most before they are painted)
	}
	if s.hasLast && slot > s.slots {
		if err := s.put(s.last, slot-s.slots); err != nil {
			return err
		}
	}
	var err error
	if s.last, err = encodePicture(s.last[:0], s.ext, *m, &s.grey); err != nil {
		return fmt.Errorf("%w %s: %w", ErrOutput, s.name(s.cfg.Start+int(s.slots)), err)
	}
	if s.cfg.Profile != nil {
		s.last = embedProfile(s.ext, s.last, s.cfg.Profile, &s.profileFailed, s.cfg.Log)
	}
	n := int64(1)
	if !s.hasLast && s.cfg.Retime {
		n = slot + 1 // the first picture shows from 0
	}
	if err := s.put(s.last, n); err != nil {
		return err
	}
	s.hasLast = true
	s.frames++
	s.lastPTS = f.PTS
	return nil
}

// put writes data as the next n pictures.
func (s *Sequence) put(data []byte, n int64) error {
	for ; n > 0; n-- {
		if s.aborted.Load() {
			return fmt.Errorf("%w %s: aborted", ErrOutput, s.cfg.Pattern)
		}
		if err := s.putOne(s.name(s.cfg.Start+int(s.slots)), data); err != nil {
			return err
		}
		s.slots++
	}
	return nil
}

// putOne writes one picture whole: to a hidden file beside it, locked
// while it is written (see removeStale), then renamed into place.
func (s *Sequence) putOne(name string, data []byte) error {
	tmp, lock, err := createTemp(name, true)
	if err != nil {
		return err
	}
	defer closeLock(lock)
	err = os.WriteFile(tmp, data, 0o600)
	switch {
	case errors.Is(err, syscall.ENOSPC):
		os.Remove(tmp)
		return fmt.Errorf("%w %s: the disk is full (no space left on device) after %d pictures", ErrOutput, name, s.slots)
	case err != nil:
		os.Remove(tmp)
		return fmt.Errorf("%w %s: %w", ErrOutput, name, errors.Unwrap(err))
	}
	return finish(tmp, name)
}

// Frames counts the source frames written (each Write that succeeded).
func (s *Sequence) Frames() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

// Slots counts the pictures written, repeats included.
func (s *Sequence) Slots() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slots
}

// Close holds the last picture up to the video's end (as VideoFile does)
// and says if pictures numbered after the last one are left from an
// earlier run.
func (s *Sequence) Close() error { return s.close(false) }

// CloseEarly ends the sequence where the frames stopped.
func (s *Sequence) CloseEarly() error { return s.close(true) }

func (s *Sequence) close(early bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.grey.Close()
	var err error
	if !early && s.cfg.Retime && s.hasLast && s.cfg.End > 0 {
		if end := s.cfg.Rate.Slot(s.cfg.End); end > s.slots && holdsToEnd(s.cfg.End, s.firstPTS, s.lastPTS, s.frames) {
			err = s.put(s.last, end-s.slots)
		}
	}
	s.last = nil
	if s.slots == 0 && err == nil {
		return fmt.Errorf("%w %s: no frames were written", ErrOutput, s.cfg.Pattern)
	}
	if next := s.name(s.cfg.Start + int(s.slots)); fileExists(next) {
		s.cfg.Log.Warn(fmt.Sprintf("%s is left from an earlier run, and maybe more after it: this run wrote %d pictures, up to %s", filepath.Base(next), s.slots, filepath.Base(s.name(s.cfg.Start+int(s.slots)-1))))
	}
	return err
}

// Abort stops writing at the next picture; the pictures already written
// stay (each is whole).
func (s *Sequence) Abort() {
	s.aborted.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.grey.Close()
	}
	s.closed, s.last = true, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
