// Package capture opens frame sources you pull from: a video file or a
// network stream (decoded by an ffmpeg subprocess), a webcam by index
// (OpenCV), or a still image (OpenCV). Each Read fills a
// caller-owned BGR Mat, so the caller decides where frames live (a pool).
package capture

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// Kind says what a source reads from.
type Kind int

// Source kinds.
const (
	KindFile Kind = iota
	KindCamera
	KindImage
	// KindStream is a network stream (a URL): live, it cannot rewind.
	KindStream
)

func (k Kind) String() string {
	return [...]string{"file", "camera", "image", "stream"}[k]
}

// Props describes a source.
type Props struct {
	Kind          Kind
	Name          string // path, or "camera N"
	Width, Height int
	// Rate is the frame rate, exact for files (30000/1001 stays so).
	Rate pipeline.Rate
	// Frames is the frame count the container declares; 0 if unknown.
	// FramesEstimated says it was worked out from the duration instead.
	Frames          int64
	FramesEstimated bool

	// The rest is known for files and streams (decoded by ffmpeg).

	// Media is ffprobe's description of the input (every stream); nil
	// for cameras and images.
	Media *media.Info
	// Rotation is the turn (clockwise degrees) applied to make frames
	// upright as players show them; Width and Height are after it.
	Rotation int
	// SAR is the upright picture's pixel aspect (zero when unknown).
	SAR media.Ratio
	// Color is the video's colour tags.
	Color media.Color
	// Deinterlaced says interlaced video is deinterlaced (yadif) on read.
	Deinterlaced bool
	// Profile is a picture's (or a picture sequence's first picture's)
	// RGB colour profile, nil when it has none: what its pixel values mean
	// (Display P3 from a phone). A picture written keeps it.
	Profile *media.Profile
	// Alpha says the frames are BGRA: the video has transparency and it
	// was asked for (OpenOptions.Alpha). Otherwise they are BGR.
	Alpha bool
	// Start is when the video begins and End when it ends, on the clock
	// frame times use: from the file's start over all its streams (so a
	// video that starts 0.5 s after its audio has Start 0.5 s).
	Start, End time.Duration
}

// Source is an open frame source.
type Source interface {
	Props() Props
	// Read fills dst with the next BGR frame (BGRA with Props.Alpha),
	// reusing dst's memory when it has the right size, and returns its
	// timing; io.EOF after the last.
	Read(dst *gocv.Mat) (pipeline.Timing, error)
	Close() error
}

// Interrupter is a source that can be stopped from another goroutine
// while a Read waits (an ffmpeg-decoded file or stream): the Read then
// returns io.EOF.
type Interrupter interface {
	Interrupt()
}

// ErrInput means the input cannot be opened or read.
var ErrInput = errors.New("input")

// IsImagePath reports whether a path names a still image OpenCV reads and
// writes, by its extension: what an output's name says. An input is
// judged by its content (IsStillImage).
func IsImagePath(p string) bool {
	if IsImageSequence(p) {
		return false
	}
	return imageExt(p)
}

// IsStillImage reports whether the input at p is a still picture: by its
// first bytes when it can be read, as browsers and ffmpeg tell formats
// apart (a JPEG named .jfif or without an extension is one, an animated
// PNG is a video, a HEIC or AVIF photo is one), else by its name
// (IsImagePath).
// StillGIF reports whether p is a GIF of one picture (a logo, a sticker):
// a still (IsStillImage) for a picture output, and, opened with
// OpenOptions.GIFAsVideo, a video of one frame for a video output
// (styled.gif), as before GIFs of one picture were stills.
func StillGIF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 6)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "GIF87a" && string(head) != "GIF89a" {
		return false
	}
	return gifFrames(f) == 1
}

func IsStillImage(p string) bool {
	switch sniff(p) {
	case stillOpenCV, stillFFmpeg, stillHEIF, cmyk16:
		return true
	case animatedPNG, animatedWebP, heifSequence, video:
		return false
	}
	return IsImagePath(p) || ffmpegImageExt(p)
}

// Undecodable says, in one line, why an input whose content is known
// cannot be read here (a HEIC photo, an animated WebP), and what to do;
// nil for anything else.
func Undecodable(p string) error { return undecodable(p, sniff(p)) }

// undecodable is Undecodable for a file already sniffed as s.
func undecodable(p string, s still) error {
	switch s {
	case stillHEIF:
		return fmt.Errorf("%w %s: a HEIC/HEIF photo, which neither OpenCV nor ffmpeg here decodes: convert it to JPEG or PNG first (heif-convert, in Debian's libheif-examples)", ErrInput, p)
	case animatedWebP:
		return fmt.Errorf("%w %s: an animated WebP, whose frames neither OpenCV nor ffmpeg here decodes: convert it to a video (.mp4) or an animated GIF first", ErrInput, p)
	case heifSequence:
		return fmt.Errorf("%w %s: a HEIF image sequence (a burst or a live photo), which neither OpenCV nor ffmpeg here decodes: convert it to a video (.mp4) first", ErrInput, p)
	case cmyk16:
		return fmt.Errorf("%w %s: a 16-bit CMYK TIFF, which OpenCV cannot read and ffmpeg 5.1 reads with the wrong colours: save it as RGB, or as 8-bit CMYK", ErrInput, p)
	}
	return nil
}

// Animation names what an input that looks like a picture really is, "an
// animated PNG" or "an animated WebP", for messages; "" for anything else.
func Animation(p string) string {
	switch sniff(p) {
	case animatedPNG:
		return "an animated PNG"
	case animatedWebP:
		return "an animated WebP"
	}
	return ""
}

// IsImageSequence reports whether p is a numbered image sequence as
// ffmpeg reads one (ImageSequencePattern) whose first image, numbered 0
// to 4 as ffmpeg looks for it, exists. It is a video at 25 frames/s.
func IsImageSequence(p string) bool {
	if !ImageSequencePattern(p) {
		return false
	}
	if _, err := os.Stat(p); err == nil {
		return false // a file with a % in its name
	}
	return sequenceFirst(p) != ""
}

// sequenceFirst is the name of a sequence's first picture, numbered 0 to
// 4 as ffmpeg looks for it, or "".
func sequenceFirst(p string) string {
	for n := range 5 {
		if name := media.SequenceFile(p, n); exists(name) {
			return name
		}
	}
	return ""
}

// quarterTurned reports whether a JPEG stored w×h is h×w once its EXIF
// orientation is applied: ffmpeg's JPEG decoder turns it (as OpenCV
// does); it does not turn other types (a PNG's eXIf), so they are not.
func quarterTurned(path string, w, h int) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	head := make([]byte, 3)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != "\xff\xd8\xff" {
		return false
	}
	m, err := imread(path, gocv.IMReadColor, nil)
	defer m.Close()
	return err == nil && m.Cols() == h && m.Rows() == w
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// ImageSequencePattern reports whether p's file name is an image name
// with one printf %d, with or without a width ("img_%04d.png"): the way
// ffmpeg names a numbered sequence (media.SequenceName). Whether its
// images exist is IsImageSequence's question.
func ImageSequencePattern(p string) bool {
	_, _, _, ok := media.SequenceName(filepath.Base(p))
	return ok && imageExt(p)
}

// imageExt reports whether a name ends in an image extension.
func imageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".jp2", ".ras", ".sr":
		return true
	}
	return false
}

// Open opens a source: "cam:N" (or a bare number N when no file of that name
// exists) is webcam N, a URL (rtsp://, http://, srt://, …) a network
// stream, an image path a single-frame source, anything else a video file.
func Open(spec string, log *slog.Logger) (Source, error) {
	return OpenContext(context.Background(), spec, log)
}

// OpenContext is Open, stopped when ctx ends: the probes of a file or a
// stream (ffprobe, which may wait on a silent server for its timeout) are
// killed, and the error wraps ctx's (errors.Is(err, context.Canceled)
// after a Ctrl-C). A camera opens through OpenCV, which cannot be stopped.
func OpenContext(ctx context.Context, spec string, log *slog.Logger) (Source, error) {
	return OpenWith(ctx, spec, OpenOptions{}, log)
}

// OpenOptions are what OpenWith may be told of an input.
type OpenOptions struct {
	// Framerate is an image sequence's frame rate (ffmpeg's -framerate;
	// zero: ffmpeg's 25). Other inputs have their own: it is an error.
	Framerate media.Ratio
	// Alpha says what becomes of a video's transparency (ProRes 4444,
	// QuickTime Animation, VP8/VP9 with alpha, PNG in MOV, an animated
	// PNG, a sequence of PNGs with alpha): kept, its frames come as BGRA
	// (Props.Alpha); otherwise, and for a video without an alpha
	// channel, they are BGR. Still pictures keep theirs apart
	// (AlphaSource).
	Alpha AlphaMode
	// Opaque, with AlphaNone, says why transparency is not kept, for the
	// warning given when a video has some ("an MP4 cannot hold
	// transparency").
	Opaque string
	// CheckSize, if not nil, is called with a still picture's size
	// before it is decoded: from its header (PNG, JPEG, GIF, WebP, TIFF,
	// BMP), or for the types ffmpeg decodes whose header vidstyle does not
	// read, from ffprobe's description before the decoder starts (ffprobe
	// may decode a picture to describe it). A file of a few kilobytes can
	// say 20000x20000, 1.2 GB decoded. Its error ends the open. Videos
	// are not asked.
	CheckSize func(w, h int) error
	// GIFAsVideo opens a GIF of one picture (StillGIF) as a video of one
	// frame, for a video output, instead of as a still.
	GIFAsVideo bool
}

// AlphaMode says what an open does with a video's alpha channel.
type AlphaMode int

const (
	// AlphaNone reads video as BGR; a video with transparency gets one
	// warning that it is painted opaque.
	AlphaNone AlphaMode = iota
	// AlphaDrop reads video as BGR with no warning (asked for).
	AlphaDrop
	// AlphaIfUsed keeps the alpha of a video in which it is used: some
	// pixel of the frames looked at (the first ones and a few at four
	// points of the video, media.AlphaUsed) is less than opaque. A
	// video whose alpha channel is opaque throughout is read as BGR.
	AlphaIfUsed
	// AlphaAlways keeps any video's alpha channel, used or not.
	AlphaAlways
)

// OpenWith is OpenContext with options.
func OpenWith(ctx context.Context, spec string, opts OpenOptions, log *slog.Logger) (Source, error) {
	checkSize := opts.CheckSize
	opts.CheckSize = nil // a still's: videos are checked by their caller
	if err := ctx.Err(); err != nil {
		return nil, stopped(spec, ctx)
	}
	var inArgs []string
	if opts.Framerate != (media.Ratio{}) {
		if opts.Framerate.Num <= 0 || opts.Framerate.Den <= 0 {
			return nil, fmt.Errorf("%w %s: frame rate %d/%d", ErrInput, spec, opts.Framerate.Num, opts.Framerate.Den)
		}
		if !IsImageSequence(spec) {
			return nil, fmt.Errorf("%w %s: a frame rate is given, but only a numbered image sequence (img_%%04d.png) takes one: a video has its own", ErrInput, spec)
		}
		inArgs = []string{"-framerate", fmt.Sprintf("%d/%d", opts.Framerate.Num, opts.Framerate.Den)}
	}
	if n, ok := cameraIndex(spec); ok {
		return openCamera(n, log)
	}
	if IsURL(spec) {
		return openDecoded(ctx, spec, KindStream, log, opts)
	}
	if IsImageSequence(spec) {
		src, err := openDecoded(ctx, spec, KindFile, log, opts, inArgs...)
		if d, ok := src.(*decoded); ok && err == nil {
			d.props.Profile = readProfile(sequenceFirst(spec), log)
		}
		return src, err
	}
	st, err := os.Stat(spec)
	switch {
	case errors.Is(err, os.ErrNotExist) && (spec == "-" || strings.HasPrefix(spec, "pipe:") || strings.HasPrefix(spec, "fd:")):
		// ffmpeg's names of standard input and open files.
		return nil, fmt.Errorf("%w %s: standard input and pipes are not read: vidstyle reads a file twice (its video, then its other tracks): save the stream to a file first, or give its network URL", ErrInput, spec)
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w %s: no such file", ErrInput, spec)
	case err != nil:
		return nil, fmt.Errorf("%w %s: %w", ErrInput, spec, err)
	case st.IsDir():
		return nil, fmt.Errorf("%w %s is a directory, not a video or image file (for every picture and video in it: -out FOLDER)", ErrInput, spec)
	case st.Mode()&os.ModeNamedPipe != 0 || st.Mode()&os.ModeSocket != 0:
		// Opening a pipe with no writer would wait for ever, and what
		// comes through one can be read once only.
		return nil, fmt.Errorf("%w %s is a pipe: vidstyle reads a file twice (its video, then its other tracks): save the stream to a file first, or give its network URL", ErrInput, spec)
	case st.Mode()&os.ModeDevice != 0 && strings.HasPrefix(spec, "/dev/video"):
		return nil, fmt.Errorf("%w %s is a camera device: give cam:%s", ErrInput, spec, strings.TrimPrefix(spec, "/dev/video"))
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%w %s is a device, not a video or image file", ErrInput, spec)
	case st.Size() == 0:
		return nil, fmt.Errorf("%w %s is an empty file", ErrInput, spec)
	}
	if f, err := os.Open(spec); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInput, spec, err)
	} else {
		f.Close()
	}
	s := sniff(spec)
	if err := undecodable(spec, s); err != nil {
		return nil, err
	}
	if s == stillFFmpeg && opts.GIFAsVideo && StillGIF(spec) {
		s = video
	}
	switch {
	case s == stillOpenCV:
		return openImage(ctx, spec, checkSize, log)
	case s == stillFFmpeg:
		return openFFmpegImage(ctx, spec, checkSize, log)
	case s != animatedPNG && s != video && IsImagePath(spec):
		return openImage(ctx, spec, checkSize, log)
	case s != animatedPNG && s != video && ffmpegImageExt(spec):
		return openFFmpegImage(ctx, spec, checkSize, log)
	}
	return openDecoded(ctx, spec, KindFile, log, opts)
}

// Rereadable reports whether a network input is a file served over HTTP,
// which the encoder can fetch again for its audio and subtitles, and which
// rewinds and loops as a local file does (a live protocol, rtsp:// srt://
// udp:// rtmp://, cannot be read twice).
func Rereadable(p Props) bool {
	if p.Kind != KindStream {
		return false
	}
	scheme, _, _ := strings.Cut(p.Name, "://")
	if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return false
	}
	// A file has a length (a duration, or for a TS, whose duration
	// ffprobe finds only by seeking to its end, a size the server gave);
	// a live stream over HTTP (or an HLS playlist, which may be live) has
	// none or is no file to fetch twice.
	return p.Media != nil && (p.Media.Duration > 0 || p.Media.Size > 0) && !strings.Contains(p.Media.Format, "hls")
}

// VideoAlpha names the alpha channel a video stream may carry
// ("yuva444p12le", "VP9 or VP8 with an alpha channel", "a GIF's"), or ""
// for none. Whether it hides anything is the frames' to say (every GIF
// decodes to bgra, transparent or not): media.AlphaUsed.
func VideoAlpha(v *media.Stream) string {
	switch {
	case v == nil:
		return ""
	case v.Codec == "gif":
		return "a GIF's"
	case v.PixFmt != "pal8" && media.HasAlpha(v.PixFmt):
		return v.PixFmt
	case v.Tags["alpha_mode"] == "1", v.Tags["ALPHA_MODE"] == "1":
		return "VP9 or VP8 with an alpha channel"
	}
	return ""
}

// stopped is the error of an open that ctx ended.
func stopped(spec string, ctx context.Context) error {
	return fmt.Errorf("%w %s: opening stopped: %w", ErrInput, spec, context.Cause(ctx))
}

// ffmpegImageExt reports whether a name ends in the extension of a
// picture format ffmpeg reads and OpenCV does not (Targa, PCX, SGI, X
// Window dumps, QOI, JPEG XL, Photoshop, DirectDraw, OpenEXR, Radiance,
// X bitmaps): those without a signature sniff can tell are known by name.
func ffmpegImageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".tga", ".pcx", ".sgi", ".rgb", ".rgba", ".bw", ".xwd", ".qoi", ".jxl", ".psd", ".dds", ".exr", ".hdr", ".xbm", ".xpm":
		return true
	}
	return false
}

// openFFmpegImage reads a still picture through ffmpeg, as one frame: a
// format OpenCV lacks (AVIF, JPEG XL, Targa, …) or a variant of one it
// has that it cannot read (a 16-bit CMYK TIFF). Its transparency, if
// any, is not kept.
func openFFmpegImage(ctx context.Context, path string, checkSize func(w, h int) error, log *slog.Logger) (Source, error) {
	if w, h, ok := pictureSize(path); ok && checkSize != nil {
		if err := checkSize(w, h); err != nil { // before decoding
			return nil, err
		}
		checkSize = nil
	}
	// Its alpha is read apart; the size of a type pictureSize does not
	// read is checked from ffprobe's before the decoder starts.
	src, err := openDecoded(ctx, path, KindFile, log, OpenOptions{Alpha: AlphaDrop, CheckSize: checkSize})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m := gocv.NewMat()
	if _, err := src.Read(&m); err != nil {
		m.Close()
		return nil, fmt.Errorf("%w %s: no picture decoded: %w", ErrInput, path, err)
	}
	s := &imageSource{img: m, alpha: gocv.NewMat(), props: Props{
		Kind: KindImage, Name: path, Width: m.Cols(), Height: m.Rows(),
		Rate: pipeline.Rate{Num: 1, Den: 1}, Frames: 1, Profile: readProfile(path, log),
	}}
	if v := src.Props().Media.Video(); v != nil && media.HasAlpha(v.PixFmt) {
		// A Targa, QOI, JPEG XL or Photoshop picture with transparency:
		// its alpha, read by a second ffmpeg, goes to the output as a
		// PNG's does.
		ffmpeg := ""
		if d, ok := src.(*decoded); ok {
			ffmpeg = d.ffmpeg
		}
		a, err := media.ReadAlpha(ctx, ffmpeg, media.FileArg(path), v.Index, m.Cols(), m.Rows())
		if err != nil {
			log.Warn(fmt.Sprintf("input %s: its transparency could not be read (%v): the picture is taken as opaque", path, err))
		} else {
			setAlpha(&s.alpha, a, m.Cols(), m.Rows())
		}
	}
	return s, nil
}

// setAlpha fills dst with an 8-bit alpha plane of w×h, or leaves it empty
// when the plane is opaque everywhere (nothing to carry).
func setAlpha(dst *gocv.Mat, plane []byte, w, h int) {
	opaque := true
	for _, v := range plane {
		if v != 255 {
			opaque = false
			break
		}
	}
	if opaque {
		return
	}
	tmp, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, plane)
	if err != nil {
		return
	}
	defer tmp.Close()
	dst.Close()
	*dst = tmp.Clone()
}

func cameraIndex(spec string) (int, bool) {
	s, explicit := strings.CutPrefix(spec, "cam:")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	if !explicit {
		if _, err := os.Stat(spec); err == nil {
			return 0, false // a file named like a number
		}
	}
	return n, true
}

// videoSource reads a file or a camera through cv::VideoCapture.
type videoSource struct {
	vc    *gocv.VideoCapture
	props Props
	next  int64
	start time.Time
	log   *slog.Logger
}

// openOpenCV reads a file through OpenCV's capture (kept to compare the
// decode cost with ffmpeg's in a benchmark).
func openOpenCV(path string, log *slog.Logger) (Source, error) {
	vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("%w %s: cannot decode as video (not a video file, no video stream, or a codec OpenCV lacks)", ErrInput, path)
	}
	s := &videoSource{vc: vc, log: log}
	s.props = Props{
		Kind:   KindFile,
		Name:   path,
		Width:  int(vc.Get(gocv.VideoCaptureFrameWidth)),
		Height: int(vc.Get(gocv.VideoCaptureFrameHeight)),
		Rate:   RateFromFloat(vc.Get(gocv.VideoCaptureFPS)),
		Frames: int64(vc.Get(gocv.VideoCaptureFrameCount)),
	}
	if s.props.Width <= 0 || s.props.Height <= 0 {
		vc.Close()
		return nil, fmt.Errorf("%w %s: no video stream", ErrInput, path)
	}
	if s.props.Rate.Num <= 0 {
		log.Warn("input declares no frame rate: assuming 30 fps", "input", path)
		s.props.Rate = pipeline.Rate{Num: 30, Den: 1}
	}
	return s, nil
}

func openCamera(n int, log *slog.Logger) (Source, error) {
	vc, err := gocv.VideoCaptureDevice(n)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("%w camera %d: cannot open (no such device, or it is busy)", ErrInput, n)
	}
	s := &videoSource{vc: vc, log: log, start: time.Now()}
	s.props = Props{
		Kind:   KindCamera,
		Name:   fmt.Sprintf("camera %d", n),
		Width:  int(vc.Get(gocv.VideoCaptureFrameWidth)),
		Height: int(vc.Get(gocv.VideoCaptureFrameHeight)),
		Rate:   RateFromFloat(vc.Get(gocv.VideoCaptureFPS)),
	}
	if s.props.Rate.Num <= 0 {
		s.props.Rate = pipeline.Rate{Num: 30, Den: 1}
	}
	return s, nil
}

func (s *videoSource) Props() Props { return s.props }

func (s *videoSource) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if ok := s.vc.Read(dst); !ok || dst.Empty() {
		// OpenCV reports truncation and corruption exactly like the end.
		if s.props.Kind == KindFile && s.props.Frames > 0 && s.next < s.props.Frames {
			s.log.Warn(fmt.Sprintf("input ended at frame %d of %d (truncated or corrupt): keeping what was read", s.next, s.props.Frames))
		}
		return pipeline.Timing{}, io.EOF
	}
	t := pipeline.Timing{Index: s.next}
	if s.props.Kind == KindCamera {
		t.PTS = time.Since(s.start)
	} else {
		t.PTS = time.Duration(s.vc.Get(gocv.VideoCapturePosMsec) * float64(time.Millisecond))
	}
	s.next++
	return t, nil
}

func (s *videoSource) Close() error { return s.vc.Close() }

// Truncation is a source that can tell, once it has ended, whether it
// ended before the end its container declares (a cut or damaged file).
type Truncation interface {
	Truncated() bool
}

// Rewinder is a source that can start again from its first frame (-loop).
type Rewinder interface {
	Rewind() error
}

// RewindPreparer is a Rewinder that can ready its next rewind ahead, so
// that it does not hold the picture up (a file decoded by ffmpeg starts a
// second decoder, which waits at the first frame). Loop asks for it.
type RewindPreparer interface {
	PrepareRewind()
}

// Rewind starts a file again from its first frame.
func (s *videoSource) Rewind() error {
	if s.props.Kind != KindFile {
		return fmt.Errorf("%w %s: a camera cannot rewind", ErrInput, s.props.Name)
	}
	s.vc.Set(gocv.VideoCapturePosFrames, 0)
	s.next = 0
	return nil
}

// imageSource yields one still image.
type imageSource struct {
	img   gocv.Mat
	alpha gocv.Mat // empty when the image is opaque
	props Props
	done  bool
}

// AlphaSource is a source whose picture has a transparency channel, kept
// apart from its BGR frames (a PNG with alpha): the output carries it.
type AlphaSource interface {
	// Alpha is the 8-bit alpha channel, or nil for an opaque picture.
	// The source owns it.
	Alpha() *gocv.Mat
}

func openImage(ctx context.Context, path string, checkSize func(w, h int) error, log *slog.Logger) (Source, error) {
	if n, cut := pngCutShort(path); cut {
		// Said here, before libpng prints "Read Error" of its own.
		return nil, fmt.Errorf("%w %s is cut short (a PNG without its end, %d bytes): no picture can be read from it", ErrInput, path, n)
	}
	if w, h, ok := pictureSize(path); ok && checkSize != nil {
		// Before decoding: a file of kilobytes can say 20000x20000.
		if err := checkSize(w, h); err != nil {
			return nil, err
		}
	}
	m, err := imread(path, gocv.IMReadColor, log)
	if errors.Is(err, errTooBig) {
		m.Close()
		return nil, fmt.Errorf("%w %s: %w", ErrInput, path, err)
	}
	if err != nil {
		log.Debug(fmt.Sprintf("input %s: %v: trying ffmpeg", path, err))
	}
	if m.Empty() {
		m.Close()
		// A variant OpenCV's reader lacks (an odd BMP or TIFF): ffmpeg
		// may have it.
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			return nil, fmt.Errorf("%w %s: not an image OpenCV can read (ffmpeg, which reads more, is not installed)", ErrInput, path)
		}
		s, err := openFFmpegImage(ctx, path, checkSize, log)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w %s: not an image OpenCV or ffmpeg can read", ErrInput, path)
	}
	if jpegCutShort(path) {
		log.Warn(fmt.Sprintf("input %s is cut short (a JPEG without its end): the part of the picture that is missing comes out grey", path))
	}
	s := &imageSource{img: m, alpha: gocv.NewMat(), props: Props{
		Kind: KindImage, Name: path, Width: m.Cols(), Height: m.Rows(),
		Rate: pipeline.Rate{Num: 1, Den: 1}, Frames: 1, Profile: readProfile(path, log),
	}}
	if k := alphaKind(path); k != noAlpha {
		readAlpha(ctx, path, k, &s.img, &s.alpha, log)
	}
	return s, nil
}

// Alpha is the AlphaSource method.
func (s *imageSource) Alpha() *gocv.Mat {
	if s.alpha.Empty() {
		return nil
	}
	return &s.alpha
}

func (s *imageSource) Props() Props { return s.props }

func (s *imageSource) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if s.done {
		return pipeline.Timing{}, io.EOF
	}
	s.done = true
	s.img.CopyTo(dst)
	return pipeline.Timing{}, nil
}

func (s *imageSource) Close() error {
	s.alpha.Close()
	return s.img.Close()
}

// RateFromFloat recovers the exact frame rate behind OpenCV's floating-point
// FPS: NTSC rates (n·1000/1001) and whole numbers first, then the closest
// fraction with a denominator up to 100000.
func RateFromFloat(fps float64) pipeline.Rate {
	if !(fps > 0) || math.IsInf(fps, 0) {
		return pipeline.Rate{}
	}
	const eps = 1e-6
	if n := math.Round(fps); math.Abs(fps-n) < eps*fps {
		return pipeline.Rate{Num: int(n), Den: 1}
	}
	if n := math.Round(fps * 1001 / 1000); math.Abs(fps-n*1000/1001) < eps*fps {
		return pipeline.Rate{Num: int(n) * 1000, Den: 1001}
	}
	// Continued fraction expansion.
	h0, h1, k0, k1 := 0.0, 1.0, 1.0, 0.0
	x := fps
	for range 32 {
		a := math.Floor(x)
		h0, h1 = h1, a*h1+h0
		k0, k1 = k1, a*k1+k0
		if k1 > 100000 {
			h1, k1 = h0, k0
			break
		}
		if math.Abs(fps-h1/k1) < eps*fps || x == a {
			break
		}
		x = 1 / (x - a)
	}
	return pipeline.Rate{Num: int(h1), Den: int(k1)}
}

// pngCutShort reports whether path is a PNG cut off inside a chunk (a
// download or copy that stopped), and its size. It reads the chunk headers
// only. One that lacks only its closing IEND chunk has all its data, and
// reads.
func pngCutShort(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false
	}
	var head [8]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:]) != "\x89PNG\r\n\x1a\n" {
		return 0, false
	}
	at := int64(8)
	for at < st.Size() {
		var chunk [8]byte
		if _, err := f.ReadAt(chunk[:], at); err != nil {
			return st.Size(), true
		}
		if string(chunk[4:]) == "IEND" {
			return st.Size(), false
		}
		at += 12 + int64(binary.BigEndian.Uint32(chunk[:4]))
	}
	return st.Size(), at > st.Size()
}

// jpegCutShort reports whether path is a JPEG whose data stops before its
// end: OpenCV's reader then fills the rest grey and says nothing a
// caller sees. A file that ends with the end marker is whole; one that
// does not (data after the picture, as a phone's motion photo has, or a
// cut) is decoded by Go's reader, which stops at the marker and fails on
// a cut.
func jpegCutShort(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [3]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || head != [3]byte{0xFF, 0xD8, 0xFF} {
		return false
	}
	var tail [2]byte
	if st, err := f.Stat(); err != nil || st.Size() < 4 {
		return false
	} else if _, err := f.ReadAt(tail[:], st.Size()-2); err != nil || tail == [2]byte{0xFF, 0xD9} {
		return false
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false
	}
	_, err = jpeg.Decode(bufio.NewReader(f))
	var fe jpeg.FormatError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &fe) && strings.Contains(string(fe), "short") // "short Huffman data": the scan stops early
}
