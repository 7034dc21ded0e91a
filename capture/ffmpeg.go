package capture

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/vidstyle/vidstyle/media"
	"github.com/vidstyle/vidstyle/pipeline"
)

// decoded reads a file or a network stream through an ffmpeg subprocess:
// ffmpeg demuxes and decodes what it can play, turns the picture upright
// as players do (display-matrix rotation), deinterlaces interlaced video,
// and writes raw BGR frames to a pipe. Each frame's presentation time,
// relative to the file's start (the clock ffmpeg lines every stream up
// on), comes on a second pipe from the metadata filter, printed before
// the frame itself is written.
//
// Files are decoded through ffmpeg rather than OpenCV's capture: OpenCV
// 4.6 turns rotated phone videos the wrong way, gives no usable
// per-frame times for variable-rate files, and reads 0 frames from some
// MPEG-TS that ffmpeg plays (BENCHMARKS.md has the decode cost of both).
type decoded struct {
	props  Props
	spec   string
	ffmpeg string
	log    *slog.Logger
	args   []string
	frame  int // bytes per frame

	*proc // the ffmpeg frames are read from (nil when none)
	// spare is a second ffmpeg from the first frame, started ahead for a
	// loop (PrepareRewind, Rewind) and waiting with that frame in its
	// pipe, so that a rewind is not a pause of a decoder's start (about
	// 0.1 s of the picture standing at each seam). Guarded by closeMu.
	spare *proc
	// pid is the running ffmpeg's (0 when none) and sparePid the spare's,
	// for Interrupt, which another goroutine calls; interrupted says it
	// was called.
	pid, sparePid atomic.Int64
	interrupted   atomic.Bool
	next          int64
	last          time.Duration // the last frame's time
	step          time.Duration // one frame at the declared rate
	ended         bool
	warned        bool // the truncation warning is given once per source, not per loop
	// truncated: this round ended early (see Truncated).
	truncated bool
	closeMu   sync.Mutex
	closed    bool // by Close; guarded by closeMu
}

// probeTimeout bounds ffprobe on a file; a network stream gets longer.
const (
	probeTimeout       = 30 * time.Second
	streamProbeTimeout = 20 * time.Second
)

// IsURL reports whether spec names a network stream ffmpeg opens
// (http(s), rtsp, rtmp, srt, udp, tcp, rtp, …): "scheme://…".
func IsURL(spec string) bool {
	scheme, rest, ok := strings.Cut(spec, "://")
	if !ok || scheme == "" || rest == "" {
		return false
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return scheme != "file"
}

// openDecoded probes spec and starts ffmpeg on its main video stream.
//
// A video whose pixel format carries transparency (VideoAlpha) is read as
// BGRA when opts.Alpha asks (Props.Alpha says so, and every frame has four
// channels); other videos are read as BGR. With AlphaNone, a video whose
// alpha is used gets one warning that it is painted opaque. (opts'
// Framerate is in inArgs.)
func openDecoded(ctx context.Context, spec string, kind Kind, log *slog.Logger, opts OpenOptions, inArgs ...string) (Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("%w %s: ffmpeg not found (it decodes video files): install it, e.g. apt-get install ffmpeg", ErrInput, spec)
	}
	timeout := probeTimeout
	arg := spec // as ffmpeg is given it
	if kind == KindStream {
		timeout = streamProbeTimeout
	} else {
		arg = media.FileArg(spec)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	info, err := media.ProbeWith(pctx, ffmpeg, arg, inArgs...)
	timedOut := pctx.Err() == context.DeadlineExceeded
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, stopped(spec, ctx)
		}
		if timedOut {
			return nil, fmt.Errorf("%w %s: no answer after %s", ErrInput, spec, timeout)
		}
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if kind == KindFile && strings.Contains(msg, "Invalid data found") {
			msg = "cannot decode as video (not a video file, or a format ffmpeg lacks)"
			if isoBMFF(spec) {
				msg = "an MP4/MOV file without its index (the moov atom): cut short or still being written, so no frame in it can be found"
			}
		}
		return nil, fmt.Errorf("%w %s: %s", ErrInput, spec, msg)
	}
	v := info.Video()
	if v == nil {
		for _, st := range info.Streams {
			if st.Type == "video" && st.AttachedPic {
				// A song with its album art: the picture is no video.
				return nil, fmt.Errorf("%w %s: cannot decode as video: it is sound with a cover picture, no video stream (to stylize the picture, take it out first: ffmpeg -i SONG -an -frames:v 1 cover.png)", ErrInput, spec)
			}
		}
		return nil, fmt.Errorf("%w %s: cannot decode as video (no video stream)", ErrInput, spec)
	}
	w, h := v.DisplaySize()
	if first := sequenceFirst(spec); first != "" && w != h && quarterTurned(first, w, h) {
		// A numbered JPEG whose EXIF turns it a quarter (a phone's, 5 to
		// 8): ffmpeg's decoder turns each picture upright, while the
		// stream says the stored size.
		w, h = h, w
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w %s: the video stream has no picture size (codec %s)", ErrInput, spec, v.Codec)
	}
	if int64(w)*int64(h) > maxImagePixels {
		return nil, fmt.Errorf("%w %s: %w (%dx%d, %.1f gigapixels): at most %.2f gigapixels", ErrInput, spec, errTooBig, w, h, float64(w)*float64(h)/1e9, maxImagePixels/1e9)
	}
	if opts.CheckSize != nil {
		if err := opts.CheckSize(w, h); err != nil {
			return nil, err
		}
	}
	rate, ok := v.Rate()
	if !ok {
		log.Warn("input declares no frame rate: assuming 30 fps", "input", spec)
		rate = media.Ratio{Num: 30, Den: 1}
	}
	declared := rate
	var pk packetCount
	if kind == KindFile && !v.Interlaced() {
		// Not interlaced video: a field-coded stream may carry each field
		// in a packet of its own, at twice the frame rate.
		rate, pk = fitRate(ctx, ffmpeg, arg, spec, v.Index, rate, log, inArgs...)
	}
	woven := ""
	if kind == KindFile && mayBeWoven(info, v) {
		woven = detectWoven(ctx, ffmpeg, arg, spec, v.Index, log)
	}
	if ctx.Err() != nil { // during the checks, which give up quietly
		return nil, stopped(spec, ctx)
	}
	d := &decoded{spec: spec, ffmpeg: ffmpeg, log: log, frame: w * h * 3}
	d.props = Props{
		Kind: kind, Name: spec, Width: w, Height: h,
		Rate:  pipeline.Rate{Num: rate.Num, Den: rate.Den},
		Media: info, Rotation: v.Rotation, SAR: v.DisplaySAR(), Color: v.Color,
		Deinterlaced: v.Interlaced() || woven != "",
	}
	var decoder []string // before -i: the decoder that reads the alpha
	if what := VideoAlpha(v); what != "" && opts.Alpha != AlphaDrop {
		// ffmpeg's own VP8 and VP9 decoders leave the alpha (a side
		// stream of the Matroska blocks) out; libvpx's read it.
		switch v.Codec {
		case "vp9":
			decoder = []string{"-c:v", "libvpx-vp9"}
		case "vp8":
			decoder = []string{"-c:v", "libvpx"}
		}
		// Whether any of it is less than opaque (not asked of a live
		// stream, which cannot be read twice).
		looked := ""
		var stop error
		used := func(thorough bool) bool {
			if kind != KindFile {
				return true
			}
			length := cmp.Or(v.Duration, info.Duration)
			if packets := int64(pk.packets); length <= 0 && kind == KindFile && declared.Num > 0 {
				// A file that says no length (a browser's MediaRecorder
				// WebM, one written to a pipe) has one from its packets
				// (counted to its end, a demux without decoding, when the
				// rate check stopped short): without it only the first
				// 230 megapixels were read, and transparency after them
				// was lost without a word.
				if !pk.complete {
					cctx, cancel := context.WithTimeout(ctx, probeTimeout/2)
					n, err := media.CountStreamPackets(cctx, ffmpeg, arg, v.Index)
					cancel()
					if err != nil {
						log.Debug("the alpha check could not count the packets of a clip that says no length: its start is read", "input", arg, "err", err)
					}
					packets = n
				}
				length = time.Duration(float64(packets) / declared.Float() * float64(time.Second))
			}
			u, l, err := alphaUsed(ctx, ffmpeg, arg, v, length, append(slices.Clip(inArgs), decoder...), thorough, log)
			looked, stop = l, err
			return u
		}
		switch {
		case opts.Alpha == AlphaNone:
			if used(false) {
				why := cmp.Or(opts.Opaque, "vidstyle keeps it in a .mov, .mkv, .webm or .gif file it writes")
				log.Warn(fmt.Sprintf("input %s is a video with transparency (%s): it is painted opaque here, so what its transparent parts hide shows (%s)", spec, what, why))
			}
			decoder = nil
		case hdrName(v.Color.Transfer) != "" && opts.Alpha == AlphaAlways:
			return nil, fmt.Errorf("%w %s: HDR video with transparency: tone-mapping it to SDR drops the alpha, so it cannot be kept (-alpha auto or drop writes it opaque)", ErrInput, spec)
		case hdrName(v.Color.Transfer) != "":
			// The tone-mapping chain works in YUV 4:2:0 without alpha.
			log.Warn(fmt.Sprintf("input %s is HDR video with transparency: it is tone-mapped and written opaque", spec))
			decoder = nil
		case opts.Alpha == AlphaIfUsed && !used(true):
			if stop != nil {
				break // said below
			}
			log.Info(fmt.Sprintf("input %s has an alpha channel (%s), opaque in %s: read as opaque video (-alpha keep keeps it)", spec, what, looked))
			decoder = nil
		default:
			d.props.Alpha, d.frame = true, w*h*4
		}
		if stop != nil {
			return nil, stopped(spec, ctx)
		}
	}
	d.step = time.Duration(float64(time.Second) * float64(rate.Den) / float64(rate.Num))
	if v.HasStart {
		d.props.Start = v.Start - info.Start
	}
	switch {
	case v.Duration > 0:
		d.props.End = d.props.Start + v.Duration
	case info.Duration > 0:
		d.props.End = info.Duration
	}
	d.props.Frames = v.Frames
	if shown := int64(v.Duration.Seconds()*rate.Float() + 0.5); v.Duration > 0 && v.Frames > shown+shown/50+2 {
		// More pictures than the stream's duration shows at its rate: an
		// edit list hides some (an MP4 cut with -ss and -c copy keeps the
		// packets back to the keyframe before the cut; so do trimmed phone
		// clips). ffmpeg decodes only the shown ones.
		d.props.Frames, d.props.FramesEstimated = shown, true
	}
	if pk.segments > 1 {
		// Times that start again part way (recordings joined with cat, a
		// timestamp reset): the duration the container gives spans one
		// part, so a count from it, or an end to hold the last picture
		// up to or to call the video short of, would be wrong.
		d.props.Frames, d.props.End = 0, 0
	}
	switch {
	case d.props.Frames == 0 && pk.complete:
		// No count (Matroska, TS, or one that spans a part), but every
		// packet was read: each is a picture (interlaced streams are not
		// checked).
		d.props.Frames = int64(pk.packets)
	case d.props.Frames == 0 && d.props.End > d.props.Start:
		// Pictures, not output frames: at the declared (average) rate, not
		// the one fitRate may have raised it to.
		d.props.Frames = int64((d.props.End-d.props.Start).Seconds()*declared.Float() + 0.5)
		d.props.FramesEstimated = true
	}

	// The filter chain: deinterlace what is interlaced (a neural style
	// smears the two fields into combs), hold the size constant whatever
	// the stream does mid-way (the pipe carries frames of one size), then
	// print each frame's time on fd 3.
	var vf []string
	switch {
	case woven != "":
		// Flagged progressive, woven all the same: idet marks the frames
		// that show combs for yadif (at the threshold that found them,
		// media.DetectFields), so that still or truly progressive
		// stretches keep every line; the field order is the one the
		// frames showed, whatever a frame's own verdict.
		vf = append(vf, "idet=intl_thres=1.5", "yadif=parity="+woven+":deint=interlaced")
	case d.props.Deinterlaced:
		vf = append(vf, "yadif=deint=interlaced")
	}
	if tm := toneMap(ffmpeg, v.Color); tm != "" {
		// HDR (PQ or HLG, a phone's or a camera's): the styles paint SDR
		// pictures, and the output is 8-bit, so the picture is tone-mapped
		// to SDR BT.709 first and the output tagged so; read as it is, its
		// code values would come out flat and grey.
		vf = append(vf, tm)
		d.props.Color = media.Color{Range: "tv", Space: "bt709", Transfer: "bt709", Primaries: "bt709"}
		log.Info(fmt.Sprintf("input %s is HDR (%s): tone-mapped to SDR BT.709, as the styles paint and 8-bit video shows it", spec, hdrName(v.Color.Transfer)))
	} else if hdrName(v.Color.Transfer) != "" {
		log.Warn(fmt.Sprintf("input %s is HDR (%s), and this ffmpeg has no zscale filter to tone-map it: its code values are painted as they are and the output keeps its HDR tags in 8 bits", spec, hdrName(v.Color.Transfer)))
	}
	scale := fmt.Sprintf("scale=%d:%d:flags=%s", w, h, media.SwsFlags)
	if untaggedHD(v) {
		// No matrix tagged: players take HD for BT.709 and SD for BT.601
		// (mpv's and browsers' guess; swscale's own default is BT.601
		// whatever the size, which shifts an HD picture's saturated
		// colours by up to 30 levels, and clips them on the way to RGB). The
		// output is written with that matrix and tagged so.
		scale += ":in_color_matrix=bt709"
		c := v.Color
		c.Space = "bt709"
		if !media.Known(c.Primaries) {
			c.Primaries = "bt709"
		}
		if !media.Known(c.Transfer) {
			c.Transfer = "bt709"
		}
		d.props.Color = c
	}
	if lowBitRGB(v.PixFmt) {
		// 16-bit RGB (a BMP's 565, MS Video 1's 555): swscale's path to
		// planar RGB shifts it up without repeating the high bits, so
		// white reads 248,252,248; its packed RGB repeats them.
		vf = append(vf, "format=rgb24")
	}
	vf = append(vf, scale)
	if !d.props.Alpha {
		// Planar RGB, then packed by a plain shuffle: swscale's accurate
		// path straight to packed BGR costs twice as much (BenchmarkDecode,
		// 1280×720: 17.8 ms a frame against 8.4; the inexact default 5.8).
		// Not with alpha: swscale's planar gbrap moves a QuickTime
		// Animation's alpha by a level on half its pixels, where its
		// packed bgra keeps it exact.
		vf = append(vf, "format=gbrp")
	}
	vf = append(vf,
		"metadata=mode=add:key=vidstyle:value=1",
		`metadata=mode=print:key=vidstyle:direct=1:file=pipe\\:3`,
		// The raw output needs no times: counting frames keeps the muxer
		// from calling two frames in one tick of a variable-rate file
		// "non monotonically increasing" (an error line, not damage).
		"settb=1/1000", "setpts=N")
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error"}
	if kind == KindStream {
		// A stream that stops sending (a stalled server, a sender gone)
		// ends the input after streamStall, with a line saying so,
		// instead of blocking for ever; an HTTP download cut off is
		// resumed where it stopped, as ffmpeg can (Range requests).
		args = append(args, "-fflags", "+discardcorrupt", "-rw_timeout", strconv.FormatInt(streamStall.Microseconds(), 10))
		if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
			// Two tries, at once and after a second: each one that
			// meets a stalled server costs streamStall more.
			args = append(args, "-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "1")
		}
	}
	if v.Rotation == 0 && v.OddRotation != 0 {
		// A turn that is no quarter turn: ffmpeg would rotate inside the
		// frame, cutting corners; show it as stored.
		log.Warn(fmt.Sprintf("input %s asks for a %.0f° turn, which vidstyle does not apply (only quarter turns)", spec, v.OddRotation))
		args = append(args, "-noautorotate")
	}
	args = append(args, inArgs...)
	args = append(args, decoder...)
	args = append(args, "-i", arg, "-map", fmt.Sprintf("0:%d", v.Index), "-an", "-sn", "-dn",
		"-vf", strings.Join(vf, ","), "-fps_mode", "passthrough", "-enc_time_base", "1/1000",
		"-f", "rawvideo", "-pix_fmt", map[bool]string{false: "bgr24", true: "bgra"}[d.props.Alpha], "pipe:1",
		// The other tracks, read into nothing: ffmpeg starts an MPEG-TS
		// or -PS clock at the earliest of the streams a process uses,
		// and the encoder, which takes the audio from this file, uses
		// them all (stream.SyncMaps), so both count from the same zero.
		"-map", "0:V?", "-map", "0:a?", "-map", "0:s?", "-c", "copy", "-f", "null", "-")
	d.args = args
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

// alphaUsed reports whether a video's alpha channel shows any
// transparency, and says what it read. A clip of up to alphaReadPixels in
// all (a logo, a stinger, a title: transparent at its ends, or fading;
// at 640×360 and 25 fps, 50 s; at 1080p30, 5 s) is read whole; a longer
// one at its start, in eight places in it (three frames each) and in its
// last second, so transparency that shows only between those is missed
// (-alpha keep keeps it). A clip of no known length (an animated PNG, a
// GIF) is read from the start, as far as that budget. Not thorough (only
// a warning hangs on it): its start, middle and last second. A check that
// fails counts as used (the alpha is kept); one stopped by ctx is an error.
func alphaUsed(ctx context.Context, ffmpeg, arg string, v *media.Stream, d time.Duration, before []string, thorough bool, log *slog.Logger) (used bool, looked string, err error) {
	fps := 25.0
	if r, ok := v.Rate(); ok {
		fps = r.Float()
	}
	pixels := max(float64(v.Width)*float64(v.Height), 1)
	frames := d.Seconds() * fps
	var places []media.Place
	switch {
	case d > 0 && frames*pixels <= alphaReadPixels:
		places, looked = []media.Place{{Frames: -1}}, "every frame"
	case d <= 0:
		n := int(alphaReadPixels / pixels)
		places, looked = []media.Place{{Frames: n}}, fmt.Sprintf("every frame (up to %d frames)", n)
	case thorough:
		places = []media.Place{{Frames: 3}}
		for k := 1; k <= 8; k++ {
			places = append(places, media.Place{At: d * time.Duration(k) / 9, Frames: 3})
		}
		places = append(places, media.Place{At: time.Second, Frames: -1, FromEnd: true})
		looked = "its start, its last second and three frames in each of 8 places in it"
	default:
		places = []media.Place{{Frames: 3}, {At: d / 2, Frames: 3}, {At: time.Second, Frames: -1, FromEnd: true}}
		looked = "its start, middle and last second"
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	used, err = media.AlphaUsed(pctx, ffmpeg, arg, v.Index, places, before...)
	switch {
	case ctx.Err() != nil:
		return false, looked, ctx.Err()
	case err != nil:
		log.Debug("alpha check failed: the alpha is taken as used", "input", arg, "err", err)
		return true, looked, nil
	}
	return used, looked, nil
}

// alphaReadPixels is the most alphaUsed reads of a clip whole: 10 s of
// 1280×720 at 25 fps, about 1 s on two cores (most of it decoding).
const alphaReadPixels = 230e6

// untaggedHD reports whether v is YUV video whose matrix is not tagged
// and that players take for BT.709 by its size: 1280 wide or more, or
// taller than 576 lines (mpv's rule). JPEG-based streams (MJPEG: BT.601
// by JFIF) and RGB ones are left alone.
func untaggedHD(v *media.Stream) bool {
	if media.Known(v.Color.Space) || (v.Width < 1280 && v.Height <= 576) {
		return false
	}
	if v.Codec == "mjpeg" || v.Codec == "jpegls" {
		return false // JPEG's YUV is BT.601 (JFIF) at any size
	}
	return strings.HasPrefix(v.PixFmt, "yuv") || strings.HasPrefix(v.PixFmt, "nv") || strings.HasPrefix(v.PixFmt, "p0") || strings.HasPrefix(v.PixFmt, "p2")
}

// hdrName names an HDR transfer function ("" for SDR ones).
func hdrName(transfer string) string {
	switch transfer {
	case "smpte2084":
		return "PQ, HDR10"
	case "arib-std-b67":
		return "HLG"
	}
	return ""
}

// toneMap is the filter that turns an HDR picture into SDR BT.709 (limited
// range, 4:2:0, ready for the scaler after it): to linear light with SDR
// white at HDR's reference white, 203 nits (ITU-R BT.2408), BT.709
// primaries, then Möbius's curve, which keeps what SDR can show as it is
// and rolls the highlights above it off smoothly (Hable's darkens the
// whole picture: 40 levels off on SDR material put in HDR, against 1.6),
// then the BT.709 transfer. "" for SDR input, or when ffmpeg lacks the
// zscale filter (libzimg) it needs.
func toneMap(ffmpeg string, c media.Color) string {
	if hdrName(c.Transfer) == "" {
		return ""
	}
	cmd := exec.Command(ffmpeg, "-hide_banner", "-filters")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not stopped by the terminal's Ctrl-C
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), " zscale ") {
		return ""
	}
	return "zscale=t=linear:npl=203,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
}

// isoBMFF reports whether a file starts as an MP4/MOV does (an ftyp box):
// told apart from a file that only has the extension.
func isoBMFF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [12]byte
	_, err = io.ReadFull(f, head[:])
	return err == nil && string(head[4:8]) == "ftyp"
}

// streamStall is how long a network input may send nothing before it is
// taken as ended.
const streamStall = 15 * time.Second

// ratePackets is how many packets of a file fitRate reads the times of
// (a minute at 30 fps): enough to see a variable rate declared as its
// average, little enough to read in a moment from any file.
const ratePackets = 1800

// rateTimeout bounds fitRate's ffprobe: past it, the declared rate stands.
const rateTimeout = 5 * time.Second

// fitRate checks the rate a file declares against the times of its first
// ratePackets packets: a variable-rate file whose declared rate is its
// average (Matroska's default duration, written from it) would lose every
// picture that shares a frame with the one before. It returns the common
// rate that shows them all (media.FitRate), with one line saying so, or
// the declared rate, with a warning when pictures are dropped at it
// anyway. A file
// whose packet times cannot be read keeps its rate.
func fitRate(ctx context.Context, ffmpeg, arg, spec string, index int, declared media.Ratio, log *slog.Logger, inArgs ...string) (media.Ratio, packetCount) {
	ctx, cancel := context.WithTimeout(ctx, rateTimeout)
	defer cancel()
	// inArgs: the same reading of the input as the probe's (an image
	// sequence's -framerate; without it, its packets come at 25 fps).
	segs, read, err := media.PacketTimes(ctx, ffmpeg, arg, index, ratePackets, inArgs...)
	n := 0
	for _, seg := range segs {
		n += len(seg)
	}
	if err != nil || n < 2 {
		log.Debug("frame rate not checked against the packet times", "input", spec, "err", err)
		return declared, packetCount{}
	}
	pk := packetCount{packets: read, segments: len(segs), complete: read < ratePackets}
	rate, dropped := media.FitRate(segs, declared)
	// Pictures with the very time of the one before are dropped at any
	// rate (media.Collisions leaves them out).
	same := sameTimes(segs)
	switch {
	case rate != declared && dropped+same > 0:
		log.Info(fmt.Sprintf("input %s has a variable frame rate: writing it at %.6g fps, not its declared %.6g, which drops %d of its first %d pictures (%d at this rate)",
			spec, rate.Float(), declared.Float(), media.Collisions(segs, declared)+same, n, dropped+same))
	case rate != declared:
		log.Info(fmt.Sprintf("input %s has a variable frame rate: writing it at %.6g fps, not its declared %.6g, so that no picture is dropped",
			spec, rate.Float(), declared.Float()))
	case dropped+same > n/500:
		log.Warn(fmt.Sprintf("input %s has a variable frame rate: at its %.6g fps, %d of its first %d pictures share a frame with another (%d of them its very time) and are dropped",
			spec, rate.Float(), dropped+same, n, same))
	}
	return rate, pk
}

// sameTimes counts the pictures that have the very time of the one
// before them.
func sameTimes(segs [][]float64) int {
	n := 0
	for _, seg := range segs {
		for i := 1; i < len(seg); i++ {
			if seg[i] == seg[i-1] {
				n++
			}
		}
	}
	return n
}

// fieldFrames is how many frames detectWoven decodes: two seconds and a
// half at 25 fps, enough for idet's verdicts to settle on moving video.
const fieldFrames = 60

// fieldTimeout bounds detectWoven's decode: past it, the flags stand.
const fieldTimeout = 10 * time.Second

// mayBeWoven reports whether v, whose stream does not say it is
// interlaced, could still be (a capture of interlaced video encoded as
// progressive, or one whose field order was never written): a moving
// picture of a size interlaced video has (up to 1080 lines; nothing
// larger was ever broadcast or filmed interlaced), not a still or
// animation format.
func mayBeWoven(info *media.Info, v *media.Stream) bool {
	if v.Interlaced() || v.Height > 1088 || v.Height < 120 {
		return false
	}
	switch v.Codec {
	case "gif", "apng", "png", "webp", "bmp", "tiff", "qoi", "jpegxl":
		return false
	}
	return !strings.HasPrefix(info.Format, "image2") && !strings.HasSuffix(info.Format, "_pipe")
}

// detectWoven decodes the first frames of the stream index of arg through
// ffmpeg's idet filter and reports whether they are woven from fields
// (media.FieldCount.Woven), saying so in one line when they are: their
// field order as yadif names it ("tff" or "bff"), or "" when they are not.
func detectWoven(ctx context.Context, ffmpeg, arg, spec string, index int, log *slog.Logger) string {
	ctx, cancel := context.WithTimeout(ctx, fieldTimeout)
	defer cancel()
	c, err := media.DetectFields(ctx, ffmpeg, arg, index, fieldFrames)
	if err != nil {
		log.Debug("fields not checked", "input", spec, "err", err)
		return ""
	}
	if !c.Woven() {
		log.Debug("frames are not woven from fields", "input", spec, "tff", c.TFF, "bff", c.BFF, "progressive", c.Progressive, "undetermined", c.Undetermined)
		return ""
	}
	order, parity := "top", "tff"
	if c.BFF > c.TFF {
		order, parity = "bottom", "bff"
	}
	log.Info(fmt.Sprintf("input %s is interlaced (%s field first in %d of its first %d frames) though its stream does not say so: deinterlaced",
		spec, order, max(c.TFF, c.BFF), c.Frames()))
	return parity
}

// packetCount is what fitRate saw of the video's packets: how many (with
// a time or not), in how many segments (media.PacketTimes), and whether
// that was all of them.
type packetCount struct {
	packets, segments int
	complete          bool
}

// proc is one ffmpeg run over the input: its frames, their times (from
// the metadata filter, on fd 3), what it said, and its end.
type proc struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	times  chan time.Duration
	errs   *tailLines
	exited chan struct{}
}

// start runs ffmpeg from the beginning of the input, or takes the spare
// started ahead.
func (d *decoded) start() error {
	p := d.spare
	d.spare = nil
	if p == nil {
		var err error
		if p, err = d.spawn(); err != nil {
			return err
		}
	}
	d.proc, d.ended = p, false
	pid := int64(p.cmd.Process.Pid)
	d.sparePid.CompareAndSwap(pid, 0)
	d.pid.Store(pid)
	if d.interrupted.Load() {
		// Interrupt ran between Rewind's check and the store: it saw
		// the old pid.
		syscall.Kill(-int(pid), syscall.SIGKILL)
	}
	return nil
}

// readySpare starts the spare a rewind takes; none when it cannot start
// (the rewind then starts one itself).
func (d *decoded) readySpare() {
	p, err := d.spawn()
	if err != nil {
		return
	}
	d.spare = p
	d.sparePid.Store(int64(p.cmd.Process.Pid))
	if d.interrupted.Load() { // as in start
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// spawn starts an ffmpeg from the beginning of the input.
func (d *decoded) spawn() (*proc, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInput, d.spec, err)
	}
	cmd := exec.Command(d.ffmpeg, d.args...)
	cmd.ExtraFiles = []*os.File{pw}
	errs := &tailLines{max: 20}
	cmd.Stderr = errs
	// Its own process group: the terminal's Ctrl-C reaches vidstyle only.
	// Pdeathsig: if vidstyle dies, ffmpeg goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, sw, err := os.Pipe()
	if err == nil {
		// A pipe as big as the system allows (1 MiB by default, from
		// 64 KiB) moves a frame in a few writes instead of dozens.
		unix.FcntlInt(stdout.Fd(), unix.F_SETPIPE_SZ, min(d.frame, 1<<20))
		cmd.Stdout = sw
		err = cmd.Start()
		sw.Close()
	}
	pw.Close()
	if err != nil {
		pr.Close()
		if stdout != nil {
			stdout.Close()
		}
		return nil, fmt.Errorf("%w %s: start ffmpeg: %w", ErrInput, d.spec, err)
	}
	p := &proc{cmd: cmd, stdout: stdout, errs: errs, times: make(chan time.Duration, 1024), exited: make(chan struct{})}
	go readTimes(pr, p.times)
	pid := int64(cmd.Process.Pid)
	go func() {
		cmd.Wait()
		// No signal to a group that is gone (its pid may be another's).
		d.pid.CompareAndSwap(pid, 0)
		d.sparePid.CompareAndSwap(pid, 0)
		close(p.exited)
	}()
	d.log.Debug("ffmpeg decoding", "args", strings.Join(d.args, " "))
	return p, nil
}

// kill ends an ffmpeg and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	p.stdout.Close()
	for range p.times { // let readTimes finish
	}
}

// noTime marks a frame whose time ffmpeg did not know.
const noTime = time.Duration(-1 << 63)

// readTimes turns the metadata filter's "frame:N pts:P pts_time:T" lines
// into times, one per frame, and closes out at the end.
func readTimes(r *os.File, out chan<- time.Duration) {
	defer close(out)
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) < 6 || string(line[:6]) != "frame:" {
			continue
		}
		i := indexOf(line, "pts_time:")
		if i < 0 {
			continue
		}
		t, ok := parseSeconds(line[i+len("pts_time:"):])
		if !ok {
			t = noTime
		}
		out <- t
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// parseSeconds reads a decimal like "-12.3456" without allocating.
func parseSeconds(b []byte) (time.Duration, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	var whole, frac, scale int64 = 0, 0, 1
	seenDigit, dot := false, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if dot {
				if scale < 1e9 {
					frac = frac*10 + int64(c-'0')
					scale *= 10
				}
			} else {
				whole = whole*10 + int64(c-'0')
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false // "nan", "NOPTS", …
		}
	}
	if !seenDigit {
		return 0, false
	}
	t := time.Duration(whole)*time.Second + time.Duration(frac*int64(time.Second)/scale)
	if neg {
		t = -t
	}
	return t, true
}

func (d *decoded) Props() Props { return d.props }

func (d *decoded) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	if d.ended {
		return pipeline.Timing{}, io.EOF
	}
	p := d.props
	typ := gocv.MatTypeCV8UC3
	if p.Alpha {
		typ = gocv.MatTypeCV8UC4
	}
	if dst.Cols() != p.Width || dst.Rows() != p.Height || dst.Type() != typ {
		dst.Close()
		*dst = gocv.NewMatWithSize(p.Height, p.Width, typ)
	}
	data, err := dst.DataPtrUint8()
	if err != nil {
		return pipeline.Timing{}, fmt.Errorf("%w %s: %w", ErrInput, d.spec, err)
	}
	if _, err := io.ReadFull(d.stdout, data); err != nil {
		d.end()
		return pipeline.Timing{}, io.EOF
	}
	t, ok := <-d.times
	if !ok || t == noTime {
		t = d.last + d.step
		if d.next == 0 {
			t = p.Start
		}
	}
	d.last = t
	tm := pipeline.Timing{Index: d.next, PTS: t}
	if p.Kind == KindStream {
		tm.Captured = time.Now()
	}
	d.next++
	return tm, nil
}

// end is the input's end: ffmpeg is waited for, and what it said about
// damage, or a video that stops well before the file says it does, is
// reported once.
func (d *decoded) end() {
	d.ended = true
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
	}
	if d.interrupted.Load() {
		return // stopped on purpose: nothing to warn of
	}
	p := d.props
	first := d.errs.first()
	short := p.End > 0 && d.last+d.step < p.End-max(time.Second/2, 2*d.step)
	// Truncated is about where the video stops, not about what ffmpeg
	// complained of on the way (a reference error at a TS cut's start
	// leaves a complete file). A video that ffmpeg complained of and that
	// stops two frames or more before its own end is cut, though: an AVI
	// cut 0.3 s before the end its header claims was padded to it with its
	// last picture.
	// So is one that stops two frames or more before its end with fewer
	// frames than its header counts (an AVI cut short: its index is
	// gone, and its end is ffmpeg's guess from the bitrate).
	shortish := p.End > 0 && d.last+d.step < p.End-2*d.step
	damaged := shortish && (first != "" || p.Frames > 0 && d.next+2 < p.Frames)
	d.truncated = d.next > 0 && (short || damaged)
	if d.warned || p.Kind != KindFile && p.Kind != KindStream {
		return
	}
	switch {
	case d.next == 0:
		// The caller says "no frames"; ffmpeg's words say why.
		if first != "" {
			d.log.Warn(fmt.Sprintf("input %s: ffmpeg: %s", d.spec, first))
			d.warned = true
		}
	case first != "" && p.Kind == KindStream:
		d.log.Warn(fmt.Sprintf("input %s stopped (ffmpeg: %s): keeping the %d frames it decoded", d.spec, first, d.next))
		d.warned = true
	case first != "":
		d.log.Warn(fmt.Sprintf("input %s is truncated or damaged (ffmpeg: %s): keeping the %d frames it decoded", d.spec, first, d.next))
		d.warned = true
	case short:
		d.log.Warn(fmt.Sprintf("input ended at %.1f s of %.1f s (truncated or corrupt): keeping what was read", (d.last + d.step).Seconds(), p.End.Seconds()))
		d.warned = true
	}
}

// Interrupt stops the input at once, from any goroutine: ffmpeg is
// killed, so that a Read waiting on a stream that sends nothing returns
// io.EOF (a stopped job then finishes its frames in flight), and no
// warning calls the input damaged.
// lowBitRGB reports whether a pixel format is packed RGB of 4 to 6 bits a
// channel (rgb565le, bgr555be, rgb444le, …).
func lowBitRGB(pixFmt string) bool {
	for _, p := range []string{"rgb565", "bgr565", "rgb555", "bgr555", "rgb444", "bgr444"} {
		if strings.HasPrefix(pixFmt, p) {
			return true
		}
	}
	return false
}

// Interrupted reports whether Interrupt was called: the source has ended
// for good, even where a loop could go on.
func (d *decoded) Interrupted() bool { return d.interrupted.Load() }

func (d *decoded) Interrupt() {
	d.interrupted.Store(true)
	for _, pid := range []int64{d.pid.Load(), d.sparePid.Load()} {
		if pid > 0 {
			syscall.Kill(-int(pid), syscall.SIGKILL)
		}
	}
}

// Truncated reports, once the input has ended, whether it ended early:
// ffmpeg reported damage, or the last frame came well before the end the
// file declares. A writer then does not hold the last picture up to that
// end.
func (d *decoded) Truncated() bool { return d.truncated }

// stop ends ffmpeg and waits for it. d.proc stays: a Read on another
// goroutine then fails on its closed pipe (io.EOF), as it should.
func (d *decoded) stop() {
	if d.proc != nil {
		d.proc.kill()
	}
}

// PrepareRewind starts the decoder the next Rewind takes (Loop asks), so
// that the first seam of a loop is as quick as the others.
func (d *decoded) PrepareRewind() {
	if d.props.Kind != KindFile && !Rereadable(d.props) {
		return
	}
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.spare == nil && !d.closed && !d.interrupted.Load() {
		d.readySpare()
	}
}

// Rewind starts the input again from its first frame: the spare ffmpeg
// started ahead (at once), else a new one; then a spare for the next
// rewind. An interrupted input does not start again.
func (d *decoded) Rewind() error {
	if d.props.Kind != KindFile && !Rereadable(d.props) {
		return fmt.Errorf("%w %s: a stream cannot rewind", ErrInput, d.spec)
	}
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.interrupted.Load() {
		return fmt.Errorf("%w %s: stopped", ErrInput, d.spec)
	}
	if d.closed {
		return fmt.Errorf("%w %s: closed", ErrInput, d.spec)
	}
	d.stop()
	d.next, d.last = 0, 0
	if err := d.start(); err != nil {
		return err
	}
	d.readySpare()
	return nil
}

func (d *decoded) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	d.stop()
	if d.spare != nil {
		d.spare.kill()
		d.spare = nil
	}
	d.closed = true
	return nil
}

// tailLines keeps the first max lines written to it (ffmpeg's error
// output: the first is usually the cause).
type tailLines struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

func (t *tailLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := strings.IndexByte(string(t.part), '\n')
		if i < 0 {
			break
		}
		if raw := string(t.part[:i]); !sideOutputLine(raw) {
			// "Last message repeated N times" repeats a line already
			// kept, or one dropped above.
			if l := ffmpegLine(raw); l != "" && !strings.HasPrefix(l, "Last message repeated") && len(t.lines) < t.max {
				t.lines = append(t.lines, l)
			}
		}
		t.part = t.part[i+1:]
	}
	if len(t.part) > 4096 {
		t.part = t.part[:0]
	}
	return len(p), nil
}

// first is the first line ffmpeg wrote, "" if none.
func (t *tailLines) first() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return t.lines[0]
}

// sideOutputLine reports whether a line of ffmpeg's log is about the
// null output the other tracks are copied into (its muxer), not about
// reading the input: where two recordings were joined (cat a.ts b.ts),
// the copied packets' times go back at the join and that muxer says
// "non monotonically increasing dts", while every frame decodes. The raw
// video output counts frames (setpts=N), so the same words about it are
// no damage either.
func sideOutputLine(l string) bool {
	l = strings.TrimSpace(l)
	return strings.HasPrefix(l, "[null @ ") || strings.HasPrefix(l, "[out#1/") ||
		strings.Contains(l, "non monotonically increasing dts to muxer")
}

// ffmpegLine trims a line of ffmpeg's log and drops its "[demuxer @ 0x…] "
// prefix, which says nothing to a user.
func ffmpegLine(l string) string {
	l = strings.TrimSpace(l)
	if strings.HasPrefix(l, "[") {
		if i := strings.Index(l, "] "); i > 0 && strings.Contains(l[:i], " @ 0x") {
			l = strings.TrimSpace(l[i+2:])
		}
	}
	return l
}
