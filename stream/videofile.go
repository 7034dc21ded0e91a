// Package stream sends stylized frames out of vidstyle: video files through
// an ffmpeg subprocess that encodes and copies the input's audio in one pass,
// and still images through OpenCV.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// Errors callers can test with errors.Is.
var (
	// ErrOutput means the output cannot be written.
	ErrOutput = errors.New("output")
	// ErrFFmpeg means ffmpeg is missing or failed.
	ErrFFmpeg = errors.New("ffmpeg")
)

// VideoConfig describes a video file to write.
type VideoConfig struct {
	// Path is the file to write; its extension picks the container
	// (.mp4 .m4v .mov .mkv .webm).
	Path          string
	Width, Height int
	Rate          pipeline.Rate
	// AudioFrom is a file whose first audio stream goes into the output
	// (copied when the container can hold it); "" for none.
	AudioFrom string
	// CRF is the encoder's constant quality (0 means the container's default).
	CRF int
	// Preset is x264's speed preset (default veryfast).
	Preset string
	// Threads is the encoder's thread count; 0 leaves it to ffmpeg (x264:
	// 1.5 per core).
	Threads int
	// FFmpeg is the ffmpeg binary (default: "ffmpeg" on PATH); ffprobe is
	// taken from the same folder.
	FFmpeg string
	Log    *slog.Logger
}

// container is how one output type is encoded.
type container struct {
	format   string
	video    []string
	copyable func(codec string) bool
	audio    []string
}

func containerFor(path string) (container, error) {
	h264 := func(mux ...string) []string {
		return append([]string{"-c:v", "libx264", "-pix_fmt", "yuv420p"}, mux...)
	}
	aac := []string{"-c:a", "aac", "-b:a", "192k"}
	mp4Audio := func(c string) bool {
		switch c {
		case "aac", "mp3", "ac3", "eac3", "alac":
			return true
		}
		return false
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".mp4", ".m4v":
		return container{"mp4", h264("-movflags", "+faststart"), mp4Audio, aac}, nil
	case ".mov":
		return container{"mov", h264("-movflags", "+faststart"), func(c string) bool {
			return mp4Audio(c) || strings.HasPrefix(c, "pcm_")
		}, aac}, nil
	case ".mkv":
		return container{"matroska", h264(), func(string) bool { return true }, aac}, nil
	case ".webm":
		return container{"webm",
			[]string{"-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"},
			func(c string) bool { return c == "opus" || c == "vorbis" },
			[]string{"-c:a", "libopus", "-b:a", "128k"}}, nil
	case "":
		return container{}, fmt.Errorf("%w %s: no file extension: use .mp4, .mkv, .mov or .webm", ErrOutput, path)
	default:
		return container{}, fmt.Errorf("%w %s: %s is not a video type vidstyle writes: use .mp4, .mkv, .mov or .webm", ErrOutput, path, ext)
	}
}

// VideoFile is a video being written by ffmpeg. Frames go to ffmpeg's stdin
// as raw BGR; the file appears at its path only when Close succeeds (until
// then it is a hidden temporary file beside it).
type VideoFile struct {
	cfg     VideoConfig
	tmp     string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *tailBuffer
	exited  chan struct{}
	waitErr error
	frames  int64
	ffmpeg  string
	format  string
	audio   bool

	mu     sync.Mutex
	closed bool
}

// CheckFFmpeg returns the path of the ffmpeg binary to use.
func CheckFFmpeg(bin string) (string, error) {
	if bin == "" {
		bin = "ffmpeg"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("%w not found (%s is not on PATH): install it, e.g. apt-get install ffmpeg", ErrFFmpeg, bin)
	}
	return p, nil
}

// CreateVideo checks the output, starts ffmpeg and returns the writer.
func CreateVideo(cfg VideoConfig) (*VideoFile, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Preset == "" {
		cfg.Preset = "veryfast"
	}
	c, err := containerFor(cfg.Path)
	if err != nil {
		return nil, err
	}
	ffmpeg, err := CheckFFmpeg(cfg.FFmpeg)
	if err != nil {
		return nil, err
	}
	audio := ""
	if cfg.AudioFrom != "" {
		if audio, err = probeAudio(ffmpeg, cfg.AudioFrom); err != nil {
			return nil, err
		}
	}
	tmp, err := tempBeside(cfg.Path)
	if err != nil {
		return nil, err
	}

	args := []string{"-hide_banner", "-loglevel", "error", "-nostats", "-y",
		"-f", "rawvideo", "-pix_fmt", "bgr24", "-s", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
		"-framerate", cfg.Rate.String(), "-i", "pipe:0"}
	if audio != "" {
		args = append(args, "-i", cfg.AudioFrom, "-map", "0:v:0", "-map", "1:a:0")
	}
	if cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		cfg.Log.Warn(fmt.Sprintf("odd frame size %dx%d: padded to %dx%d for 4:2:0 video", cfg.Width, cfg.Height, cfg.Width+cfg.Width%2, cfg.Height+cfg.Height%2))
		args = append(args, "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2")
	}
	args = append(args, c.video...)
	if cfg.Threads > 0 {
		args = append(args, "-threads", fmt.Sprint(cfg.Threads))
	}
	if c.format == "webm" {
		args = append(args, "-crf", fmt.Sprint(orDefault(cfg.CRF, 32)))
	} else {
		args = append(args, "-preset", cfg.Preset, "-crf", fmt.Sprint(orDefault(cfg.CRF, 18)))
	}
	// No -shortest: ffmpeg 5.1 ends the output as soon as the audio input
	// is read to its end, which for a short clip comes before the last
	// frames arrive through the pipe.
	switch {
	case audio == "":
	case c.copyable(audio):
		args = append(args, "-c:a", "copy")
	default:
		cfg.Log.Info(fmt.Sprintf("audio %s cannot go into %s as is: re-encoding it", audio, filepath.Ext(cfg.Path)))
		args = append(args, c.audio...)
	}
	args = append(args, "-f", c.format, tmp)

	v := &VideoFile{cfg: cfg, tmp: tmp, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{}),
		ffmpeg: ffmpeg, format: c.format, audio: audio != ""}
	v.cmd = exec.Command(ffmpeg, args...)
	v.cmd.Stderr = v.stderr
	// Its own process group: the terminal's Ctrl-C reaches vidstyle only,
	// which then finishes the file by closing ffmpeg's input.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if v.stdin, err = v.cmd.StdinPipe(); err == nil {
		err = v.cmd.Start()
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("%w: start: %w", ErrFFmpeg, err)
	}
	go func() {
		v.waitErr = v.cmd.Wait()
		close(v.exited)
	}()
	cfg.Log.Debug("ffmpeg started", "args", strings.Join(args, " "))
	return v, nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// CheckVideoPath checks, before any work is done, that a video can be
// written at path: a known container, an existing folder that accepts files.
func CheckVideoPath(path string) error {
	if _, err := containerFor(path); err != nil {
		return err
	}
	return checkWritable(path)
}

// checkWritable creates and removes a temporary file beside path.
func checkWritable(path string) error {
	tmp, err := tempBeside(path)
	if err != nil {
		return err
	}
	return os.Remove(tmp)
}

// tempBeside creates the hidden file a writer fills before renaming it to
// path. Creating it is also the check that the folder is writable.
func tempBeside(path string) (string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%w %s: folder %s: %w", ErrOutput, path, dir, errors.Unwrap(err))
	} else if !st.IsDir() {
		return "", fmt.Errorf("%w %s: %s is not a folder", ErrOutput, path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "", fmt.Errorf("%w %s is a directory", ErrOutput, path)
	}
	f, err := os.CreateTemp(dir, "."+base+".*.part"+filepath.Ext(base))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%w %s: cannot write in %s: %w", ErrOutput, path, dir, err)
	}
	f.Close()
	return f.Name(), nil
}

// WriteMat sends one BGR frame of the configured size to the encoder.
func (v *VideoFile) WriteMat(m *gocv.Mat) error {
	if m.Cols() != v.cfg.Width || m.Rows() != v.cfg.Height || m.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("%w: frame %dx%d type %v, want %dx%d BGR", ErrOutput, m.Cols(), m.Rows(), m.Type(), v.cfg.Width, v.cfg.Height)
	}
	data, err := m.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if _, err := v.stdin.Write(data); err != nil {
		// ffmpeg died or closed its input: its stderr says why.
		fallback := err.Error()
		select {
		case <-v.exited:
			if v.waitErr != nil {
				fallback = v.waitErr.Error() // "signal: file size limit exceeded", …
			}
		case <-time.After(5 * time.Second):
		}
		return fmt.Errorf("%w stopped after %d frames: %s", ErrFFmpeg, v.frames, v.stderr.summary(fallback))
	}
	v.frames++
	return nil
}

// Write is the pipeline.Sink method.
func (v *VideoFile) Write(f pipeline.Frame[*gocv.Mat]) error { return v.WriteMat(f.Image.V) }

// Frames counts the frames written so far.
func (v *VideoFile) Frames() int64 { return v.frames }

// Close finishes the file: ffmpeg gets end of input, writes the trailer (and
// moves the index to the front for +faststart), and the file is renamed to
// its path. On failure nothing is left at the path.
func (v *VideoFile) Close() error { return v.close(false) }

// CloseEarly finishes a file whose job was stopped before the input's end:
// as Close, and the audio is cut where the video ends.
func (v *VideoFile) CloseEarly() error { return v.close(true) }

func (v *VideoFile) close(early bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	v.stdin.Close()
	<-v.exited
	if v.waitErr != nil {
		os.Remove(v.tmp)
		return fmt.Errorf("%w failed: %s", ErrFFmpeg, v.stderr.summary(v.waitErr.Error()))
	}
	if v.frames == 0 {
		os.Remove(v.tmp)
		return fmt.Errorf("%w %s: no frames were written", ErrOutput, v.cfg.Path)
	}
	if early && v.audio {
		v.trimAudio()
	}
	if err := os.Chmod(v.tmp, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if err := os.Rename(v.tmp, v.cfg.Path); err != nil {
		os.Remove(v.tmp)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}

// trimAudio cuts the finished temporary file at the end of its video, by
// copying its streams into a second file. If that fails, the file keeps its
// whole audio track, which still plays.
func (v *VideoFile) trimAudio() {
	seconds := float64(v.frames) * float64(v.cfg.Rate.Den) / float64(v.cfg.Rate.Num)
	trimmed := v.tmp + ".trim"
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", v.tmp,
		"-map", "0", "-c", "copy", "-t", fmt.Sprintf("%.6f", seconds)}
	if v.format == "mp4" || v.format == "mov" {
		args = append(args, "-movflags", "+faststart")
	}
	args = append(args, "-f", v.format, trimmed)
	cmd := exec.Command(v.ffmpeg, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(trimmed)
		v.cfg.Log.Warn("could not cut the audio at the end of the video; it plays to the input's end", "error", strings.TrimSpace(string(out)))
		return
	}
	if err := os.Rename(trimmed, v.tmp); err != nil {
		os.Remove(trimmed)
	}
}

// Abort kills ffmpeg and removes the unfinished file. It is safe to call
// after Close (it then does nothing) and from another goroutine.
func (v *VideoFile) Abort() {
	select {
	case <-v.exited:
	default:
		// Killed before taking the lock: a Close that is waiting for ffmpeg
		// to finish then returns at once.
		syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	v.stdin.Close()
	<-v.exited
	os.Remove(v.tmp)
}

// probeAudio returns the codec of the first audio stream of path, or "".
func probeAudio(ffmpeg, path string) (string, error) {
	probe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, probe, "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=codec_name", "-of", "default=nw=1:nk=1", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%w: ffprobe %s: %s", ErrFFmpeg, path, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%w: ffprobe: %w", ErrFFmpeg, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

// summary says in one line what ffmpeg said last: its first line that
// reports an error (usually the cause), then its last line when that is
// another (usually the consequence); fallback when it said nothing.
func (t *tailBuffer) summary(fallback string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return fallback
	}
	last := lines[len(lines)-1]
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "error") {
			if l != last {
				return l + "; " + last
			}
			break
		}
	}
	return last
}
