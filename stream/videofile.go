// Package stream sends stylized frames out of vidstyle: video files through
// an ffmpeg subprocess that encodes the frames and carries the input's
// other tracks (audio, subtitles, metadata, chapters) across in one pass,
// and still images through OpenCV. FORMATS.md says what each container
// keeps.
package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/vidstyle/vidstyle/media"
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
//
// The video is written at a constant rate, Rate, whatever the timing of
// the source: frames reach ffmpeg through a raw pipe that carries no
// timestamps, editors and players handle constant-rate files best, and the
// rate a user sees in the source (30000/1001) is the one written. With
// Retime, each frame goes to the output frame ("slot") its presentation
// time falls in: a gap is filled by repeating the picture before it (the
// encoder's copies: no frame is stylized twice), and the first picture
// also fills the slots from 0, so that a video that starts after its audio
// stays in sync with it.
type VideoConfig struct {
	// Path is the file to write; its extension picks the container
	// (.mp4 .m4v .mov .mkv .webm).
	Path          string
	Width, Height int
	Rate          pipeline.Rate
	// Retime places frames by their PTS (see above); without it every
	// frame is the next output frame.
	Retime bool
	// End is when the source's video ends, on the frames' clock: Close
	// (not CloseEarly) holds the last picture up to it. Zero: no padding.
	End time.Duration
	// Input is the file whose other tracks go into the output: every audio
	// track (by Audio), the subtitles the container holds, attachments
	// (Matroska), the global and per-track metadata and the chapters. Nil:
	// video only. Video streams and data tracks (timecode, GPS) are not
	// taken from it.
	Input *media.Info
	// Audio is the audio policy (default AudioAuto).
	Audio Audio
	// StripMetadata drops the input's global and per-track metadata
	// (where and when it was filmed, the phone's make and model, titles,
	// comments): only the tracks' languages, the chapters and the
	// timecode are kept. Off, the metadata is copied, as ffmpeg does.
	StripMetadata bool
	// Alpha says the frames are BGRA and their transparency is written:
	// ProRes 4444 in .mov (QuickTime Animation when lossless), VP9 with
	// alpha in .webm and .mkv (FFV1 in .mkv when lossless), a GIF's
	// one-bit transparency. Only the types AlphaOutput allows take it.
	Alpha bool
	// SAR is the sample (pixel) aspect ratio to write; zero: none.
	SAR media.Ratio
	// Color is the colour description of the frames' source: the output is
	// tagged with it, and the BGR frames are turned into YUV with the
	// matrix and range it names, so that a decode of the output shows the
	// colours the source showed.
	Color media.Color
	// CRF is the encoder's constant quality; nil: the container's default
	// (18 for H.264, 32 for VP9). 0 is lossless: the BGR frames are
	// encoded as they are, in RGB (libx264rgb, or VP9 lossless in GBR), so
	// a decode gives back exactly the frames written (see lossless).
	CRF *int
	// Preset is x264's speed preset (default veryfast).
	Preset string
	// Threads is the encoder's thread count; 0 leaves it to ffmpeg (x264:
	// 1.5 per core).
	Threads int
	// FFmpeg is the ffmpeg binary (default: "ffmpeg" on PATH).
	FFmpeg string
	Log    *slog.Logger
}

// container is how one output type is encoded.
type container struct {
	format string
	video  []string
}

func containerFor(path string) (container, error) {
	h264 := func(mux ...string) []string {
		return append([]string{"-c:v", "libx264", "-pix_fmt", "yuv420p"}, mux...)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".mp4", ".m4v":
		return container{"mp4", h264("-movflags", "+faststart")}, nil
	case ".mov":
		return container{"mov", h264("-movflags", "+faststart")}, nil
	case ".mkv":
		return container{"matroska", h264()}, nil
	case ".webm":
		return container{"webm",
			[]string{"-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"}}, nil
	case ".gif":
		return container{"gif", []string{"-c:v", "gif"}}, nil
	case "":
		return container{}, fmt.Errorf("%w %s: no file extension: use .mp4, .mkv, .mov, .webm or .gif", ErrOutput, path)
	default:
		return container{}, fmt.Errorf("%w %s: %s is not a video type vidstyle writes: use .mp4, .mkv, .mov, .webm or .gif", ErrOutput, path, ext)
	}
}

// AlphaOutput reports whether a video written to path (lossless or not:
// CRF 0) can keep transparency; when not, why says so in a few words, with
// what would.
func AlphaOutput(path string, lossless bool) (ok bool, why string) {
	if SequencePattern(path) {
		return sequenceAlpha(path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mov", ".mkv":
		return true, ""
	case ".webm":
		if lossless {
			return false, "lossless VP9 has no transparency: a lossless .mov or .mkv keeps it"
		}
		return true, ""
	case ".gif":
		return true, "" // on or off: a pixel at least half opaque is shown
	}
	return false, "an " + strings.ToUpper(strings.TrimPrefix(filepath.Ext(path), ".")) + " cannot hold transparency: a .mov, .mkv or .webm keeps it"
}

// alphaVideo is the encoder of a video with transparency in container c:
// its codec options, the pixel format the filter chain ends in ("" for RGB
// kept as it is), and the codec's name for the log.
func alphaVideo(c container, lossless bool) (video []string, pixFmt, name string) {
	switch {
	case c.format == "gif":
		return c.video, "", "a GIF's transparency (on or off: pixels less than half opaque are left out)"
	case c.format == "mov" && lossless:
		return []string{"-c:v", "qtrle", "-pix_fmt", "argb", "-movflags", "+faststart"}, "", "QuickTime Animation (lossless)"
	case c.format == "mov":
		// 10-bit 4:4:4 with a 16-bit alpha: what editors take with
		// transparency (Premiere, Resolve, Final Cut, After Effects).
		return []string{"-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-vendor", "apl0", "-movflags", "+faststart"}, "yuva444p10le", "ProRes 4444"
	case lossless:
		return []string{"-c:v", "ffv1", "-level", "3", "-pix_fmt", "bgra"}, "", "FFV1 (lossless)"
	}
	return []string{"-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"}, "yuva420p", "VP9 with alpha"
}

// VideoFile is a video being written by ffmpeg. Frames go to ffmpeg's stdin
// as raw BGR (BGRA with VideoConfig.Alpha); the file appears at its path only when Close succeeds (until
// then it is a hidden temporary file beside it). Write, Close and Abort
// may be called from different goroutines.
type VideoFile struct {
	cfg    VideoConfig
	tmp    string
	lock   *os.File // holds tmp's flock while it is written (lockedTemp)
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	// stalled says ffmpeg was stopped on a stalled input before it took
	// every frame (stopWhenTaken); taken is how many it had reported
	// taking then: the rest are lost.
	stalled bool
	taken   int64
	exited  chan struct{}
	waitErr error
	ffmpeg  string
	format  string
	audio   bool
	// languages are the tracks' languages asked of a MOV, by stream
	// specifier (checkLanguages).
	languages map[string]string

	// ctx ends the trimming pass when the file is aborted.
	ctx    context.Context
	cancel context.CancelFunc
	// progress carries ffmpeg's latest -progress report (newest wins);
	// closed when ffmpeg ends.
	progress chan progress

	mu     sync.Mutex
	closed bool
	// frames counts the source frames taken, slots the output frames
	// written, dropped the frames that fell on a slot already written.
	frames, slots, dropped int64
	// last is a copy of the last picture written (Retime: it fills gaps
	// and the end); firstPTS and lastPTS the times of the first and last
	// frames taken.
	last              gocv.Mat
	hasLast, freed    bool
	firstPTS, lastPTS time.Duration
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

// CheckTracks says, before any work is done, whether the input's audio
// can go into the output at path under the audio policy (AudioCopy into a
// container that cannot hold a track is an error). It logs nothing.
func CheckTracks(path string, in *media.Info, audio Audio) error {
	c, err := containerFor(path)
	if err != nil {
		return err
	}
	_, err = trackArgs(c.format, path, in, audio, false, pipeline.Rate{}, slog.New(slog.DiscardHandler))
	return err
}

// CreateVideo checks the output, starts ffmpeg and returns the writer.
func CreateVideo(cfg VideoConfig) (*VideoFile, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Preset == "" {
		cfg.Preset = "veryfast"
	}
	audio, err := ParseAudio(string(cfg.Audio))
	if err != nil {
		return nil, err
	}
	if cfg.Rate.Num <= 0 || cfg.Rate.Den <= 0 {
		return nil, fmt.Errorf("%w %s: frame rate %s", ErrOutput, cfg.Path, cfg.Rate)
	}
	c, err := containerFor(cfg.Path)
	if err != nil {
		return nil, err
	}
	ffmpeg, err := CheckFFmpeg(cfg.FFmpeg)
	if err != nil {
		return nil, err
	}
	if c.format == "gif" {
		cfg = gifConfig(cfg)
	}
	lossless := cfg.CRF != nil && *cfg.CRF == 0 && c.format != "gif"
	if ok, why := AlphaOutput(cfg.Path, lossless); cfg.Alpha && !ok {
		return nil, fmt.Errorf("%w %s: %s", ErrOutput, cfg.Path, why)
	}
	tracks, err := trackArgs(c.format, cfg.Path, cfg.Input, audio, cfg.StripMetadata, cfg.Rate, cfg.Log)
	if err != nil {
		return nil, err
	}
	var languages map[string]string // a MOV's, checked once written
	if c.format == "mov" {
		movLanguages(tracks)
		languages = languagesAsked(tracks)
	}
	tmp, lock, err := lockedTemp(cfg.Path, cfg.Log)
	if err != nil {
		return nil, err
	}

	inFmt := "bgr24"
	if cfg.Alpha {
		inFmt = "bgra"
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostats", "-nostdin", "-y",
		"-f", "rawvideo", "-pix_fmt", inFmt, "-s", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
		"-framerate", cfg.Rate.String(), "-i", "pipe:0"}
	if cfg.Input != nil {
		if strings.Contains(cfg.Input.Path, "://") {
			// A network input read again for its tracks: a read that
			// waits 5 s fails rather than holding the file's end for
			// ever (one interrupt cannot end a blocked read, and a
			// second would stop +faststart's rewrite too). The tracks
			// go on after a hiccup: the next packet is a new request.
			args = append(args, "-rw_timeout", "5000000")
		}
		args = append(args, "-i", cfg.Input.Path)
	}
	args = append(args, "-map", "0:v:0")
	var alphaArgs []string
	alphaFmt := ""
	if cfg.Alpha {
		var name string
		alphaArgs, alphaFmt, name = alphaVideo(c, lossless)
		how := ""
		if c.format == "mov" && !lossless && cfg.CRF != nil {
			how = " (ProRes has its own quality: -crf is not used)"
		}
		cfg.Log.Info(fmt.Sprintf("%s: the input's transparency is kept, as %s%s", cfg.Path, name, how))
	}
	var vf []string
	if c.format == "gif" {
		vf = gifFilters(cfg.SAR)
		cfg.SAR = media.Ratio{} // drawn square: a GIF has no pixel aspect
	} else if !lossless && !(cfg.Alpha && c.format == "mov") && (cfg.Width%2 != 0 || cfg.Height%2 != 0) {
		// (ProRes 4444, 4:4:4, takes any size.)
		cfg.Log.Warn(fmt.Sprintf("odd frame size %dx%d: padded to %dx%d for 4:2:0 video", cfg.Width, cfg.Height, cfg.Width+cfg.Width%2, cfg.Height+cfg.Height%2))
		pad := "pad=ceil(iw/2)*2:ceil(ih/2)*2"
		if cfg.Alpha {
			pad += ":color=black@0" // the added line transparent
		}
		vf = append(vf, pad)
	}
	var colorArgs []string
	switch {
	case c.format == "gif": // RGB palettes: no YUV matrix or range
	case lossless:
		colorArgs = losslessColor(cfg.Color)
	default:
		var colorFilter []string
		col := cfg.Color
		if cfg.Alpha && c.format == "mov" && col.Range == "pc" {
			// ProRes is limited range: the encoder tags it so whatever it
			// is given, and a decoder reads it so (a full-range PNG
			// source written full came back 3.7 levels off).
			col.Range = "tv"
		}
		colorFilter, colorArgs = colorOptions(col)
		vf = append(vf, colorFilter...)
		if cfg.Alpha {
			vf = append(vf, "format="+alphaFmt)
		} else {
			vf = append(vf, "format=yuv420p")
		}
	}
	if cfg.SAR.Valid() {
		// max: setsar rounds to terms of at most 100 by default, which
		// turns the ITU's PAL 128:117 and 512:351 into others.
		vf = append(vf, fmt.Sprintf("setsar=r=%d/%d:max=65535", cfg.SAR.Num, cfg.SAR.Den))
	}
	if len(vf) > 0 {
		args = append(args, "-vf", strings.Join(vf, ","))
	}
	switch {
	case cfg.Alpha:
		args = append(args, alphaArgs...)
	case lossless:
		args = append(args, losslessVideo(c)...)
	default:
		args = append(args, c.video...)
	}
	args = append(args, colorArgs...)
	if cfg.Threads > 0 {
		args = append(args, "-threads", fmt.Sprint(cfg.Threads))
	}
	switch {
	case c.format == "gif": // no quality setting: 256 colours a frame
	case cfg.Alpha && (c.format == "mov" || lossless): // ProRes, QuickTime Animation, FFV1: none
	case c.format == "webm" || cfg.Alpha: // VP9
		args = append(args, "-crf", fmt.Sprint(crfOr(cfg.CRF, 32)))
	default:
		args = append(args, "-preset", cfg.Preset, "-crf", fmt.Sprint(crfOr(cfg.CRF, 18)))
	}
	// No -shortest: ffmpeg 5.1 ends the output as soon as the audio input
	// is read to its end, which for a short clip comes before the last
	// frames arrive through the pipe.
	args = append(args, tracks...)
	args = append(args, "-f", c.format, media.FileArg(tmp))
	if cfg.Input != nil {
		args = append(args, syncMaps(1)...)
	}
	// Progress on fd 3: how many frames ffmpeg has taken, so an early
	// close can stop it once they are all in (see close).
	args = append(args, "-progress", "pipe:3", "-stats_period", "0.2")

	v := &VideoFile{cfg: cfg, tmp: tmp, lock: lock, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{}), languages: languages,
		ffmpeg: ffmpeg, format: c.format, audio: cfg.Input != nil && audio != AudioNone && len(cfg.Input.OfType("audio")) > 0}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.cmd = exec.Command(ffmpeg, args...)
	v.cmd.Stderr = v.stderr
	// Its own process group: the terminal's Ctrl-C reaches vidstyle only,
	// which then finishes the file by closing ffmpeg's input. Pdeathsig:
	// if vidstyle dies, ffmpeg goes too.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		os.Remove(tmp)
		closeLock(lock)
		return nil, fmt.Errorf("%w: %w", ErrFFmpeg, err)
	}
	v.cmd.ExtraFiles = []*os.File{pw}
	if v.stdin, err = v.cmd.StdinPipe(); err == nil {
		err = v.cmd.Start()
	}
	pw.Close()
	if err != nil {
		pr.Close()
		os.Remove(tmp)
		closeLock(lock)
		return nil, fmt.Errorf("%w: start: %w", ErrFFmpeg, err)
	}
	v.progress = make(chan progress, 1)
	go readProgress(pr, v.progress)
	go func() {
		v.waitErr = v.cmd.Wait()
		close(v.exited)
	}()
	if cfg.Retime {
		v.last = gocv.NewMat()
	}
	cfg.Log.Debug("ffmpeg started", "args", strings.Join(args, " "))
	return v, nil
}

// gifMaxFPS is the fastest GIF that plays at its rate: its delays are in
// hundredths of a second, and browsers slow any under two hundredths to
// ten.
const gifMaxFPS = 50

// OutputRate is the frame rate a video written to path at rate has: rate,
// but for a GIF faster than gifMaxFPS, whose rate is halved until it is
// not (every other frame: 60 fps becomes 30, 59.94 becomes 29.97).
func OutputRate(path string, rate pipeline.Rate) pipeline.Rate {
	if !strings.EqualFold(filepath.Ext(path), ".gif") || rate.Num <= 0 || rate.Den <= 0 {
		return rate
	}
	for rate.FPS() > gifMaxFPS {
		rate = rate.Slower(2)
	}
	return rate
}

// gifConfig is cfg for an animated GIF: video alone (it holds no audio,
// subtitles or chapters: said once), at a rate browsers play (a faster
// source's rate halved until it is at most gifMaxFPS, when its frames are
// retimed), and no quality setting (a GIF has 256 colours a frame).
func gifConfig(cfg VideoConfig) VideoConfig {
	if in := cfg.Input; in != nil {
		if n := len(in.OfType("audio")) + len(in.OfType("subtitle")); n > 0 {
			cfg.Log.Info(fmt.Sprintf("%s: a GIF holds no sound or subtitles: %s", cfg.Path, TracksLeftOut(n)))
		}
		cfg.Input = nil
	}
	if cfg.Retime {
		if r := OutputRate(cfg.Path, cfg.Rate); r != cfg.Rate {
			cfg.Log.Info(fmt.Sprintf("%s: a GIF at %.6g fps, fewer frames than the %.6g fps input's: browsers slow faster GIFs down", cfg.Path, r.FPS(), cfg.Rate.FPS()))
			cfg.Rate = r
		}
	}
	if cfg.CRF != nil {
		cfg.Log.Info(fmt.Sprintf("%s: -crf does not apply to a GIF (256 colours a frame, chosen for each frame)", cfg.Path))
		cfg.CRF = nil
	}
	return cfg
}

// gifFilters turn BGR frames into a GIF's: square pixels (scaled by the
// pixel aspect, as players show it), then a palette of 256 colours made
// for each frame from its own colours (palettegen per frame: nothing is
// held back, so a long video streams through; one palette for the whole
// clip would need every frame first) and applied with error diffusion.
func gifFilters(sar media.Ratio) []string {
	var vf []string
	if sar.Valid() && sar.Num != sar.Den {
		vf = append(vf, fmt.Sprintf("scale=trunc(iw*%d/%d+0.5):ih:flags=bicubic,setsar=1", sar.Num, sar.Den))
	}
	return append(vf, "split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1:dither=sierra2_4a")
}

// losslessVideo is the codec for -crf 0: the frames as they come, in RGB.
// A round trip through YUV is not exact (measured on small.mp4 decoded to
// BGR: 4:2:0 at CRF 0 is off by 2.3 levels of Y on average, at most 22;
// 4:4:4 with the source's matrix by 0.3 on average, at most 2, on a third
// of the values), so lossless output keeps the BGR the pipeline made:
// H.264 High 4:4:4 Predictive in GBR (libx264rgb, bgr24 in) and VP9
// profile 1 lossless in GBR. ffmpeg, mpv and VLC decode both to the exact
// frames written; browsers and most hardware decoders do not play them.
func losslessVideo(c container) []string {
	if c.format == "webm" {
		return []string{"-c:v", "libvpx-vp9", "-pix_fmt", "gbrp", "-lossless", "1", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"}
	}
	video := []string{"-c:v", "libx264rgb", "-pix_fmt", "bgr24"}
	if c.format == "mp4" || c.format == "mov" {
		video = append(video, "-movflags", "+faststart")
	}
	return video
}

// losslessColor tags RGB output: the source's primaries and transfer (what
// the BGR values mean), the RGB matrix and full range.
func losslessColor(c media.Color) []string {
	tags := []string{"-colorspace", "rgb", "-color_range", "pc"}
	for _, o := range []struct{ opt, v string }{{"-color_primaries", c.Primaries}, {"-color_trc", trcOption(c.Transfer)}} {
		if colorNames[o.opt][o.v] {
			tags = append(tags, o.opt, o.v)
		}
	}
	return tags
}

// crfOr is *crf, or def when crf is nil.
func crfOr(crf *int, def int) int {
	if crf == nil {
		return def
	}
	return *crf
}

// matrices are the YUV matrices swscale converts with, by ffmpeg's
// colorspace name: the decoder (package capture) turns a tagged input into
// BGR with the same one, so that encoding back with it keeps the colours.
var matrices = map[string]string{
	"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470", "fcc": "fcc",
	"smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020",
}

// colorNames are the tag values ffmpeg's -color_primaries, -color_trc,
// -colorspace and -color_range take (ffprobe writes the same names, but
// for two transfers: trcOption).
var colorNames = map[string]map[string]bool{
	"-color_primaries": set("bt709", "bt470m", "bt470bg", "smpte170m", "smpte240m", "film", "bt2020", "smpte428", "smpte431", "smpte432", "jedec-p22", "ebu3213"),
	"-color_trc": set("bt709", "gamma22", "gamma28", "smpte170m", "smpte240m", "linear", "log100", "log316",
		"iec61966-2-4", "bt1361e", "iec61966-2-1", "bt2020-10", "bt2020-12", "smpte2084", "smpte428", "arib-std-b67"),
	"-colorspace":  set("bt709", "fcc", "bt470bg", "smpte170m", "smpte240m", "ycgco", "bt2020nc", "bt2020c", "smpte2085", "chroma-derived-nc", "chroma-derived-c", "ictcp"),
	"-color_range": set("tv", "pc"),
}

// trcOption is the -color_trc value for a transfer as ffprobe names it:
// the BT.470 gammas are "bt470m" and "bt470bg" there (PAL DVDs and
// MPEG-2 from them), "gamma22" and "gamma28" to the option.
func trcOption(probed string) string {
	switch probed {
	case "bt470m":
		return "gamma22"
	case "bt470bg":
		return "gamma28"
	}
	return probed
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// colorOptions are the filter (RGB → YUV with the source's matrix and
// range, rounded as media.SwsFlags says) and the output tags for a
// source's colour description. A matrix swscale cannot make is not
// tagged: the frames are then converted with its default (BT.601) both
// ways, as untagged video is.
func colorOptions(c media.Color) (filter, tags []string) {
	scale := []string{"flags=" + media.SwsFlags}
	if !c.Tagged() {
		return []string{"scale=" + scale[0]}, nil
	}
	space := c.Space
	if m, ok := matrices[space]; ok {
		scale = append(scale, "out_color_matrix="+m)
	} else {
		space = ""
	}
	if c.Range == "tv" || c.Range == "pc" {
		scale = append(scale, "out_range="+c.Range)
	}
	filter = []string{"scale=" + strings.Join(scale, ":")}
	for _, o := range []struct{ opt, v string }{
		{"-color_primaries", c.Primaries}, {"-color_trc", trcOption(c.Transfer)}, {"-colorspace", space}, {"-color_range", c.Range},
	} {
		if colorNames[o.opt][o.v] {
			tags = append(tags, o.opt, o.v)
		}
	}
	return filter, tags
}

// IsVideoType reports whether path names a type of video vidstyle
// writes (.mp4, .mkv, .gif, …), by its extension alone.
func IsVideoType(path string) bool {
	_, err := containerFor(path)
	return err == nil
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
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// maxNameBytes is the longest file name Linux file systems take (NAME_MAX).
const maxNameBytes = 255

// tempPattern is os.CreateTemp's pattern for the hidden file beside base:
// ".BASE.<digits>.part.EXT", with BASE cut (at a character's boundary)
// where the whole would pass maxNameBytes, so that an output whose own
// name is legal (a long downloaded title, CJK at 3 bytes a character)
// can be written.
func tempPattern(base string) string {
	ext := filepath.Ext(base)
	// ".", ".", CreateTemp's up to 10 digits, ".part", the extension, and
	// ".trim" (the sound's second pass writes beside it).
	room := maxNameBytes - (1 + 1 + 10 + len(".part") + len(ext) + len(".trim"))
	if len(base) > room {
		cut := max(room, 0)
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	return "." + base + ".*.part" + ext
}

// modeKind names what a path that is no file or folder is.
func modeKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// tempBeside creates the hidden file a writer fills before renaming it to
// path (finish). Creating it is also the check that the folder is
// writable; an existing file the user may not write is refused, as
// ffmpeg refuses it. Through a symbolic link, the file is made beside the
// link's target, which is what gets written.
func tempBeside(path string) (string, error) {
	tmp, _, err := createTemp(path, false)
	return tmp, err
}

// createTemp is tempBeside; with lock, the file is also held under an
// exclusive flock from the moment it exists until the returned file is
// closed (nil where the file system has no flock): see lockedTemp.
func createTemp(path string, lock bool) (string, *os.File, error) {
	target := outputTarget(path)
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() && unix.Access(target, unix.W_OK) != nil {
		return "", nil, fmt.Errorf("%w %s: the file is read-only: make it writable (chmod u+w) or write another", ErrOutput, path)
	} else if err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		// The finished file is renamed onto it: a link to /dev/null, a
		// FIFO a reader waits on, a device node were replaced by an MP4
		// (as root, /dev/null itself).
		via := ""
		if target != path {
			via = " (through a link to " + target + ")"
		}
		return "", nil, fmt.Errorf("%w %s is %s%s: vidstyle writes files (each is finished beside it and renamed onto it); give a file name", ErrOutput, path, modeKind(st.Mode()), via)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil {
		return "", nil, fmt.Errorf("%w %s: folder %s: %w", ErrOutput, path, dir, errors.Unwrap(err))
	} else if !st.IsDir() {
		return "", nil, fmt.Errorf("%w %s: %s is not a folder", ErrOutput, path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "", nil, fmt.Errorf("%w %s is a directory", ErrOutput, path)
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", nil, fmt.Errorf("%w %s: cannot write in %s: %w", ErrOutput, path, dir, err)
	}
	if lock && unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		return f.Name(), f, nil
	}
	f.Close()
	return f.Name(), nil, nil
}

// WriteMat sends one BGR (or BGRA: VideoConfig.Alpha) frame of the configured size to the encoder as
// the next output frame (no retiming).
func (v *VideoFile) WriteMat(m *gocv.Mat) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	data, err := v.check(m)
	if err != nil {
		return err
	}
	if err := v.send(data, 1); err != nil {
		return err
	}
	v.frames++
	return nil
}

// Write is the pipeline.Sink method. With Retime the frame goes to the
// slot its PTS falls in: the previous picture is repeated up to it (the
// first frame fills the slots from 0 itself), and a frame whose slot is
// already written is dropped (capture.Retime skips those before they are
// stylized).
func (v *VideoFile) Write(f pipeline.Frame[*gocv.Mat]) error {
	if !v.cfg.Retime {
		return v.WriteMat(f.Image.V)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	data, err := v.check(f.Image.V)
	if err != nil {
		return err
	}
	slot := v.cfg.Rate.Slot(f.PTS)
	if v.frames == 0 {
		v.firstPTS = f.PTS
	}
	switch {
	case slot < v.slots:
		v.dropped++
		v.frames++
		return nil
	case !v.hasLast:
		// The first picture shows from the start.
		err = v.send(data, slot+1)
	default:
		if slot > v.slots {
			last, err := v.last.DataPtrUint8()
			if err != nil {
				return fmt.Errorf("%w: %w", ErrOutput, err)
			}
			if err := v.send(last, slot-v.slots); err != nil {
				return err
			}
		}
		err = v.send(data, 1)
	}
	if err != nil {
		return err
	}
	v.frames++
	v.lastPTS = f.PTS
	f.Image.V.CopyTo(&v.last) // same size every time: no allocation after the first
	v.hasLast = true
	return nil
}

// check refuses a frame of another size or type and returns its bytes.
func (v *VideoFile) check(m *gocv.Mat) ([]byte, error) {
	if v.closed {
		return nil, fmt.Errorf("%w %s: written after close", ErrOutput, v.cfg.Path)
	}
	typ, what := gocv.MatTypeCV8UC3, "BGR"
	if v.cfg.Alpha {
		typ, what = gocv.MatTypeCV8UC4, "BGRA"
	}
	if m.Cols() != v.cfg.Width || m.Rows() != v.cfg.Height || m.Type() != typ {
		return nil, fmt.Errorf("%w: frame %dx%d type %v, want %dx%d %s", ErrOutput, m.Cols(), m.Rows(), m.Type(), v.cfg.Width, v.cfg.Height, what)
	}
	data, err := m.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return data, nil
}

// send writes one picture as n output frames.
func (v *VideoFile) send(data []byte, n int64) error {
	for ; n > 0; n-- {
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
			if err := v.diskFull(); err != nil {
				return fmt.Errorf("%w (after %d frames)", err, v.slots)
			}
			return fmt.Errorf("%w stopped after %d frames: %s", ErrFFmpeg, v.slots, v.ownName(v.stderr.summary(fallback)))
		}
		v.slots++
	}
	return nil
}

// Frames counts the source frames written so far (each Write or WriteMat
// that succeeded).
func (v *VideoFile) Frames() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames
}

// Slots counts the frames in the output so far: the source frames, the
// repeats that fill gaps and the end, less any dropped.
func (v *VideoFile) Slots() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.slots
}

// Close finishes the file: with Retime the last picture is held up to End,
// ffmpeg gets end of input, writes the trailer (and moves the index to the
// front for +faststart), and the file is renamed to its path. On failure
// nothing is left at the path.
func (v *VideoFile) Close() error { return v.close(false) }

// CloseEarly finishes a file whose job was stopped before the input's end:
// as Close, without padding to End, and the audio is cut where the video
// ends.
func (v *VideoFile) CloseEarly() error { return v.close(true) }

func (v *VideoFile) close(early bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.cancel()
	if v.closed {
		return nil
	}
	defer func() { closeLock(v.lock); v.lock = nil }() // after the rename or the removal
	var padErr error
	if !early {
		padErr = v.padToEnd()
	}
	v.closed = true
	v.freeLast()
	v.stdin.Close()
	stopped := early && v.audio && v.stopWhenTaken()
	<-v.exited
	if stopped && exitCode(v.waitErr) == 255 {
		// ffmpeg's answer to the interrupt we sent: it finished the
		// file, and trimAudio below checks it by copying it.
		v.waitErr = nil
	}
	if v.waitErr != nil || padErr != nil {
		os.Remove(v.tmp)
		if v.waitErr == nil {
			return padErr
		}
		if err := v.diskFull(); err != nil {
			return err
		}
		return fmt.Errorf("%w failed: %s", ErrFFmpeg, v.ownName(v.stderr.summary(v.waitErr.Error())))
	}
	if v.slots == 0 {
		os.Remove(v.tmp)
		return fmt.Errorf("%w %s: no frames were written", ErrOutput, v.cfg.Path)
	}
	if early && v.audio {
		v.trimAudio()
	}
	if err := v.verify(v.tmp); err != nil {
		os.Remove(v.tmp)
		return err
	}
	v.checkLanguages()
	return finish(v.tmp, v.cfg.Path)
}

// checkLanguages says, in one warning, which tracks of the written file
// lost the language they were given (a MOV holds only QuickTime's old
// language codes: Swedish, Croatian, Norwegian Bokmål are not among them).
func (v *VideoFile) checkLanguages() {
	if len(v.languages) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(v.ctx, 30*time.Second)
	defer cancel()
	info, err := media.Probe(ctx, v.ffmpeg, media.FileArg(v.tmp))
	if err != nil {
		return
	}
	if lost, codes := lostLanguages(info, v.languages); len(lost) > 0 {
		keeps := "an .mp4 or .mkv keeps it"
		if !codes {
			keeps = "an .mkv keeps it" // MP4 takes three-letter codes only
		}
		v.cfg.Log.Warn(fmt.Sprintf("%s: %s: a MOV holds only QuickTime's old language codes, so %s no language here (%s)",
			v.cfg.Path, strings.Join(lost, ", "), map[bool]string{true: "it has", false: "they have"}[len(lost) == 1], keeps))
	}
}

// verifyTimeout bounds verify's demux of the whole file (seconds for a
// feature film); past it the file is taken as ffmpeg left it.
const verifyTimeout = 2 * time.Minute

// writeFailures are what ffmpeg prints when it could not write the file
// and may still exit 0 (a full disk: Matroska's muxer at the trailer).
var writeFailures = []string{"Error writing trailer", "Error closing file", "av_interleaved_write_frame()"}

// diskFull is the error for a full disk or quota that ffmpeg reported,
// whenever it did (a write of a frame, the trailer, the close), or nil.
func (v *VideoFile) diskFull() error {
	// Without the names of the files, which could hold the words.
	said := v.stderr.String()
	for _, name := range []string{v.tmp, v.cfg.Path} {
		if name != "" {
			said = strings.ReplaceAll(said, name, "")
		}
	}
	if v.cfg.Input != nil && v.cfg.Input.Path != "" {
		said = strings.ReplaceAll(said, v.cfg.Input.Path, "")
	}
	switch {
	case strings.Contains(said, "No space left on device"):
		return fmt.Errorf("%w %s: the disk is full (no space left on device): the file could not be finished", ErrOutput, v.cfg.Path)
	case strings.Contains(said, "Disk quota exceeded"):
		return fmt.Errorf("%w %s: over the disk quota: the file could not be finished", ErrOutput, v.cfg.Path)
	}
	return nil
}

// ownName writes the hidden file's name in ffmpeg's text as the output's.
func (v *VideoFile) ownName(s string) string {
	if v.tmp == "" {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, media.FileArg(v.tmp), v.cfg.Path), v.tmp, v.cfg.Path)
}

// verify checks a finished file before it replaces anything: ffmpeg said
// nothing of a failed write, and the file reads back with a video packet
// for every frame sent. A full disk left files that ffmpeg had called
// finished: an empty Matroska file, an MP4 without its index.
func (v *VideoFile) verify(path string) error {
	if err := v.diskFull(); err != nil {
		return err
	}
	said := v.stderr.String()
	for _, f := range writeFailures {
		if strings.Contains(said, f) {
			return fmt.Errorf("%w %s: the file could not be finished: %s", ErrOutput, v.cfg.Path, v.ownName(v.stderr.summary(f)))
		}
	}
	ctx, cancel := context.WithTimeout(v.ctx, verifyTimeout)
	defer cancel()
	n, err := media.CountPackets(ctx, v.ffmpeg, media.FileArg(path))
	want := v.slots
	if v.stalled {
		// Stopped while it waited on a stalled input: the frames it had
		// taken are what the file can hold.
		want = min(want, v.taken)
	}
	switch {
	case v.ctx.Err() != nil:
		return fmt.Errorf("%w %s: stopped while the file was read back", ErrOutput, v.cfg.Path)
	case ctx.Err() != nil:
		v.cfg.Log.Debug("output not read back", "output", v.cfg.Path, "err", ctx.Err())
		return nil
	case err != nil:
		return fmt.Errorf("%w %s: the file ffmpeg wrote does not read back (%s): a full disk, or a broken write", ErrOutput, v.cfg.Path, lastPart(err.Error()))
	case n < want:
		return fmt.Errorf("%w %s: the file holds %d of the %d frames written: a full disk, or a broken write", ErrOutput, v.cfg.Path, n, want)
	}
	return nil
}

// lastPart is what follows an error message's last ": ".
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// outputTarget is the file an output named path is: path, or, when path
// is a symbolic link, the file it leads to (a link that leads nowhere
// yet, to where it points), which is what ffmpeg writes.
func outputTarget(path string) string {
	if t, err := filepath.EvalSymlinks(path); err == nil {
		return t
	}
	// A chain that ends nowhere yet: follow it link by link (as the
	// kernel does, up to 40), each relative one from its own folder with
	// that folder's links resolved.
	p := path
	for range 40 {
		link, err := os.Readlink(p)
		if err != nil {
			break
		}
		if !filepath.IsAbs(link) {
			dir := filepath.Dir(p)
			if d, err := filepath.EvalSymlinks(dir); err == nil {
				dir = d
			}
			link = filepath.Join(dir, link)
		}
		p = link
	}
	return p
}

// finish moves a finished temporary file to the output path (through a
// link, to its target) with the permissions a file written in place
// would have: those of the file it replaces, or for a new file what the
// umask leaves of 0666. The temporary file is removed on failure.
func finish(tmp, path string) error {
	target := outputTarget(path)
	mode := os.FileMode(0o666) &^ umask()
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		mode = st.Mode().Perm()
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}

// umask is the process's file mode creation mask, read from
// /proc/self/status (setting it to read it back would race with files
// other goroutines create); 022 when that cannot be read.
func umask() os.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m) & 0o777
				}
			}
		}
	}
	return 0o022
}

// stopWhenTaken is for a file closed early: the encoder would otherwise
// go on muxing the input's audio to its end (minutes for a film, forever
// for a live stream), only for trimAudio to cut it. Once ffmpeg has taken
// every frame from the pipe and its output has reached the video's end
// (-progress's out_time is the furthest stream: the video, whose input
// has ended, can be no further, so the audio is there), an interrupt makes
// it flush its encoders and write the trailer. It reports whether it
// sent one.
func (v *VideoFile) stopWhenTaken() bool {
	end := v.cfg.Rate.Time(v.slots) + 100*time.Millisecond
	deadline := time.After(time.Minute)
	// ffmpeg reports twice a second while it works. With a network
	// input, silence for outputStall means it waits on that input, which
	// sends nothing (the network file stalled: each read waits out its
	// timeout, and the next packet starts another): the interrupt ends it
	// when the read it waits on does, and the frames it has taken are
	// what the file gets. A local input never stalls so (a slow preset at
	// 8K may be silent that long on one frame).
	wait := time.Hour
	if v.cfg.Input != nil && strings.Contains(v.cfg.Input.Path, "://") {
		wait = outputStall
	}
	stall := time.NewTimer(wait)
	defer stall.Stop()
	var taken int64
	for {
		select {
		case p, ok := <-v.progress:
			if !ok {
				return false // ffmpeg ended by itself
			}
			if p.frames >= v.slots && p.outTime >= end {
				syscall.Kill(v.cmd.Process.Pid, syscall.SIGINT)
				return true
			}
			taken = p.frames
			stall.Reset(wait)
		case <-stall.C:
			v.cfg.Log.Warn(fmt.Sprintf("output %s: the encoder waits on an input that sends nothing: finishing the file with what it has", v.cfg.Path))
			syscall.Kill(v.cmd.Process.Pid, syscall.SIGINT)
			v.stalled, v.taken = true, taken
			return true
		case <-v.exited:
			return false
		case <-deadline:
			// The tracks never caught up (an input that stalls): the
			// video is all in; ffmpeg finishes the file with what it has.
			syscall.Kill(v.cmd.Process.Pid, syscall.SIGINT)
			v.stalled, v.taken = true, taken
			return true
		}
	}
}

// outputStall is how long stopWhenTaken lets ffmpeg go without a progress
// report before it takes an input of the encoder as stalled.
const outputStall = 5 * time.Second

// progress is one block of ffmpeg's -progress output: the frames taken
// from the pipe and how far the output has got.
type progress struct {
	frames  int64
	outTime time.Duration
}

// readProgress reads ffmpeg's -progress blocks ("frame=N", "out_time_us=T",
// …, "progress=continue") and sends each complete one (newest wins), then
// closes out.
func readProgress(r *os.File, out chan progress) {
	defer close(out)
	defer r.Close()
	sc := bufio.NewScanner(r)
	var p progress
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		switch {
		case k == "frame" && err == nil:
			p.frames = n
		case k == "out_time_us" && err == nil:
			p.outTime = time.Duration(n) * time.Microsecond
		case k == "progress":
			select { // keep only the newest report
			case <-out:
			default:
			}
			out <- p
		}
	}
}

// exitCode is a process's exit status from Wait's error (0 for nil, -1
// when it did not exit normally).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// syncMaps reads every video, audio and subtitle track of input n into
// nothing. ffmpeg starts an MPEG-TS or -PS clock at the earliest of the
// streams a process uses; the decoder (package capture) reads the same
// set the same way, so both count from the same zero and the audio stays
// where the source has it.
func syncMaps(n int) []string {
	return []string{"-map", fmt.Sprintf("%d:V?", n), "-map", fmt.Sprintf("%d:a?", n), "-map", fmt.Sprintf("%d:s?", n),
		"-c", "copy", "-f", "null", "-"}
}

// padToEnd holds the last picture up to cfg.End. A video whose frames
// stop far short of End (more than 2 s, and more than ten of its mean
// frame intervals) is not padded: its file was cut, and the decoder has
// said so.
// holdsToEnd reports whether the last picture (at last, the frames'th,
// the first at first) is held up to end: not when the frames stop far
// short of it (a cut file), more than 2 s and ten frames' mean spacing.
func holdsToEnd(end, first, last time.Duration, frames int64) bool {
	var mean time.Duration
	if frames > 1 {
		mean = (last - first) / time.Duration(frames-1)
	}
	gap := end - last
	return gap <= 2*time.Second || gap <= 10*mean
}

func (v *VideoFile) padToEnd() error {
	if !v.cfg.Retime || !v.hasLast || v.cfg.End <= 0 {
		return nil
	}
	end := v.cfg.Rate.Slot(v.cfg.End)
	if end <= v.slots {
		return nil
	}
	if !holdsToEnd(v.cfg.End, v.firstPTS, v.lastPTS, v.frames) {
		v.cfg.Log.Debug("video not held to its end: its frames stop early", "last", v.lastPTS, "end", v.cfg.End)
		return nil
	}
	last, err := v.last.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return v.send(last, end-v.slots)
}

// freeLast frees the copy of the last picture.
func (v *VideoFile) freeLast() {
	if v.cfg.Retime && !v.freed {
		v.last.Close()
		v.freed, v.hasLast = true, false
	}
}

// trimAudio cuts the finished temporary file at the end of its video
// (Slots at Rate), by copying its streams into a second file. If that
// fails, the file keeps its whole audio track, which still plays.
func (v *VideoFile) trimAudio() {
	end := v.cfg.Rate.Time(v.slots)
	trimmed := v.tmp + ".trim"
	// Locked before ffmpeg writes it (it truncates the same file), so
	// that the lock stays with the file that becomes tmp.
	var trimLock *os.File
	if f, err := os.OpenFile(trimmed, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
		trimLock = lockFile(trimmed)
	}
	defer func() { closeLock(trimLock) }()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", media.FileArg(v.tmp),
		"-map", "0", "-c", "copy", "-t", fmt.Sprintf("%.6f", end.Seconds())}
	if v.format == "mp4" || v.format == "mov" {
		args = append(args, "-movflags", "+faststart")
		// A mov_text track's empty sample (the gap before the next cue)
		// that runs past the cut is left out: copied, it kept its whole
		// length (a 1 s file lasted 60 s). A cue shown at the cut keeps
		// its length, as with ffmpeg -t. The chapter track MOV made of
		// the chapters (data, "text") is left to the muxer, which makes
		// it again from the chapters copied: copied, the muxer refused
		// it and the cut failed.
		if in, err := media.Probe(v.ctx, v.ffmpeg, media.FileArg(v.tmp)); err == nil {
			outIndex := 0
			for _, s := range in.Streams {
				switch {
				case s.Type == "data" && s.Codec == "bin_data":
					args = append(args, "-map", fmt.Sprintf("-0:%d", s.Index))
					continue
				case s.Type == "subtitle" && s.Codec == "mov_text":
					if keep, cut, err := media.TextTail(v.ctx, v.ffmpeg, media.FileArg(v.tmp), s.Index, in.Start+end); err == nil && cut {
						args = append(args, fmt.Sprintf("-frames:%d", outIndex), strconv.Itoa(keep))
					}
				}
				outIndex++
			}
		}
	}
	args = append(args, "-f", v.format, media.FileArg(trimmed))
	// v.ctx: an Abort (a second Ctrl-C) ends this pass too.
	cmd := exec.CommandContext(v.ctx, v.ffmpeg, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	// No word of a cut when the file is not going to be kept: an abort,
	// or a full disk that verify then reports.
	quiet := func() bool { return v.ctx.Err() != nil || v.diskFull() != nil }
	if err := cmd.Run(); err != nil {
		os.Remove(trimmed)
		if !quiet() {
			v.cfg.Log.Warn("could not cut the audio at the end of the video; it plays to the input's end", "error", out.summary(err.Error()))
		}
		return
	}
	if n, err := media.CountPackets(v.ctx, v.ffmpeg, media.FileArg(trimmed)); err != nil || n < v.slots {
		// A copy that lost frames (a full disk: ffmpeg exits 0 with an
		// empty Matroska file): keep the file it was made from.
		os.Remove(trimmed)
		why := fmt.Sprintf("the cut copy holds %d of %d frames", n, v.slots)
		if err != nil {
			why = "the cut copy does not read back: " + lastPart(err.Error())
		}
		if !quiet() {
			v.cfg.Log.Warn("could not cut the audio at the end of the video; it plays to the input's end", "error", why)
		}
		return
	}
	if err := os.Rename(trimmed, v.tmp); err != nil {
		os.Remove(trimmed)
		return
	}
	v.lock, trimLock = trimLock, v.lock // the old lock is on the file replaced
}

// Abort kills ffmpeg and removes the unfinished file. It is safe to call
// after Close (it then does nothing) and from another goroutine.
func (v *VideoFile) Abort() {
	v.cancel() // a trimming pass in progress ends too
	select {
	case <-v.exited:
	default:
		// Killed before taking the lock: a Write or a Close that is
		// waiting for ffmpeg then returns at once.
		syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	v.freeLast()
	v.stdin.Close()
	<-v.exited
	os.Remove(v.tmp)
	closeLock(v.lock)
	v.lock = nil
}

// closeLock lets go of a temporary file's flock (nil: none was taken).
func closeLock(f *os.File) {
	if f != nil {
		f.Close()
	}
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

// String is what the buffer holds.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
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
