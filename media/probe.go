// Package media describes audio/video files as ffprobe reports them: every
// stream with its codec, timing, orientation, aspect and colour tags, and
// the container's own tags. The decoder (package capture) and the encoder
// (package stream) both work from this description, so that an output
// keeps what its input had.
package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrProbe means ffprobe could not describe a file.
var ErrProbe = errors.New("ffprobe")

// Ratio is a rational number as ffprobe writes it ("30000/1001", "16:15").
// The zero value means unknown.
type Ratio struct{ Num, Den int }

// Float is the ratio as a number (0 when unknown).
func (r Ratio) Float() float64 {
	if r.Num <= 0 || r.Den <= 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Valid reports whether both terms are positive.
func (r Ratio) Valid() bool { return r.Num > 0 && r.Den > 0 }

func (r Ratio) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// parseRatio reads "a/b" or "a:b"; anything else (and "0/0") is unknown.
func parseRatio(s string) Ratio {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		a, b, ok = strings.Cut(s, ":")
	}
	if !ok {
		return Ratio{}
	}
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return Ratio{}
	}
	g := gcd(n, d)
	return Ratio{n / g, d / g}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Color is a video stream's colour description, in ffmpeg's names
// ("bt709", "tv"); "" or "unknown" when untagged.
type Color struct {
	Range, Space, Transfer, Primaries string
}

// Tagged reports whether any field names a value.
func (c Color) Tagged() bool {
	for _, v := range []string{c.Range, c.Space, c.Transfer, c.Primaries} {
		if Known(v) {
			return true
		}
	}
	return false
}

// Known reports whether a colour tag names a value ("", "unknown" and
// "reserved" do not).
func Known(v string) bool { return v != "" && v != "unknown" && v != "reserved" }

// Stream is one track of a file.
type Stream struct {
	// Index is the stream's index in the file (ffmpeg's 0:N).
	Index int
	// Type is "video", "audio", "subtitle", "data" or "attachment".
	Type  string
	Codec string
	// Tags are the stream's metadata (language, title, handler_name, …).
	Tags map[string]string
	// Default, AttachedPic: the stream's dispositions. An attached picture
	// is cover art, not the video.
	Default, AttachedPic bool

	// Start is the stream's first timestamp and Duration its length; ok
	// false when the file does not say.
	Start, Duration time.Duration
	HasStart        bool

	// Video only.
	Width, Height int
	// SAR is the sample (pixel) aspect ratio; DAR the display aspect.
	SAR, DAR Ratio
	PixFmt   string
	// FieldOrder is "progressive", "tt", "bb", "tb", "bt" or "".
	FieldOrder string
	Color      Color
	// RFrameRate is ffmpeg's "real" base rate (the finest rate all
	// timestamps fit, usually the declared one); AvgFrameRate frames per
	// second on average.
	RFrameRate, AvgFrameRate Ratio
	// Frames is the frame count the container declares (0 if none).
	Frames int64
	// Rotation is how far a player turns the picture clockwise to show it
	// upright: 0, 90, 180 or 270 (from the display matrix or the rotate tag).
	// OddRotation is a turn that is no quarter turn (degrees clockwise;
	// Rotation is then 0).
	Rotation    int
	OddRotation float64

	// Audio only. ChannelLayout is ffprobe's name for the layout
	// ("stereo", "5.1(side)"), "" when it has none.
	Channels      int
	ChannelLayout string
	SampleRate    int
	// Bits is how many bits a sample holds (bits_per_raw_sample, else
	// bits_per_sample), 0 when ffprobe does not say; SampleFmt is the
	// decoder's sample format ("s16", "s32", "fltp").
	Bits      int
	SampleFmt string
}

// Interlaced reports whether the stream's fields are stored interlaced.
func (s Stream) Interlaced() bool {
	switch s.FieldOrder {
	case "tt", "bb", "tb", "bt":
		return true
	}
	return false
}

// Info is what ffprobe says about a file.
type Info struct {
	// Path is the input as ffprobe was given it (a URL, or FileArg's
	// form of a local path): what ffmpeg is given to read it again.
	Path string
	// Format is ffmpeg's demuxer name list ("mov,mp4,m4a,3gp,3g2,mj2").
	Format string
	// Start is the file's first timestamp over all streams: ffmpeg shifts
	// every stream by it, so times relative to it line streams up.
	Start    time.Duration
	Duration time.Duration
	// Size is the file's length in bytes (a server's Content-Length for
	// an HTTP input); 0 when not known.
	Size    int64
	Tags    map[string]string
	Streams []Stream
}

// Video returns the main video stream: the default one, else the first
// that is not cover art; nil when there is none.
func (in *Info) Video() *Stream {
	var first *Stream
	for i := range in.Streams {
		s := &in.Streams[i]
		if s.Type != "video" || s.AttachedPic {
			continue
		}
		if s.Default {
			return s
		}
		if first == nil {
			first = s
		}
	}
	return first
}

// OfType returns the streams of one type, in file order.
func (in *Info) OfType(t string) []Stream {
	var out []Stream
	for _, s := range in.Streams {
		if s.Type == t && !s.AttachedPic {
			out = append(out, s)
		}
	}
	return out
}

// FileArg is how a local file's path is given to ffmpeg and ffprobe:
// after "file:", so that a name with a colon before its first slash
// ("12:30.mp4", "take 2: the car.mov", a folder "a:b/") is not taken for
// a protocol ("Protocol not found"). Image sequence patterns keep working.
func FileArg(path string) string { return "file:" + path }

// probePath is the ffprobe to run: the one beside ffmpeg when ffmpeg is a
// path, else the one on PATH.
func probePath(ffmpeg string) string {
	if ffmpeg != "" && strings.ContainsRune(ffmpeg, filepath.Separator) {
		return filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	}
	return "ffprobe"
}

// Probe runs ffprobe (found beside ffmpeg, or on PATH when ffmpeg is "")
// on a file or URL. ctx bounds it.
func Probe(ctx context.Context, ffmpeg, path string) (*Info, error) {
	return ProbeWith(ctx, ffmpeg, path)
}

// ProbeWith is Probe with options for the input's demuxer before it (an
// image sequence's "-framerate", "24").
func ProbeWith(ctx context.Context, ffmpeg, path string, inputArgs ...string) (*Info, error) {
	probe := probePath(ffmpeg)
	args := append([]string{"-v", "error", "-hide_banner", "-show_format", "-show_streams", "-of", "json"}, inputArgs...)
	cmd := command(ctx, probe, append(args, "--", path)...)
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil { // stopped or timed out: killed, not failed
			return nil, fmt.Errorf("%w %s: %w", ErrProbe, path, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := lastLine(string(ee.Stderr))
			if msg == "" {
				msg = ee.Error()
			}
			// "[IMGUTILS @ 0x…] Picture size 60000x60000 is invalid", then
			// "path: Device or resource busy": the first line says it.
			if i := strings.Index(string(ee.Stderr), "Picture size "); i >= 0 {
				line, _, _ := strings.Cut(string(ee.Stderr)[i:], "\n")
				msg = strings.TrimSpace(line) + " (too big for ffmpeg)"
			}
			return nil, fmt.Errorf("%w %s: %s", ErrProbe, path, msg)
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w not found: install ffmpeg (it comes with ffprobe), e.g. apt-get install ffmpeg", ErrProbe)
		}
		return nil, fmt.Errorf("%w %s: %w", ErrProbe, path, err)
	}
	return Parse(path, out)
}

// command is exec.CommandContext for the probes: in a process group of
// their own, so that the terminal's Ctrl-C reaches vidstyle alone (which
// stops them through ctx, and says so, instead of their dying with
// "interrupt" as if the input were bad), and killed if vidstyle dies.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// lastLine is the last non-empty line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Parse reads ffprobe's JSON (-show_format -show_streams -of json).
func Parse(path string, data []byte) (*Info, error) {
	var raw struct {
		Format struct {
			FormatName string            `json:"format_name"`
			StartTime  string            `json:"start_time"`
			Duration   string            `json:"duration"`
			Size       string            `json:"size"`
			Tags       map[string]string `json:"tags"`
		} `json:"format"`
		Streams []struct {
			Index         int               `json:"index"`
			CodecName     string            `json:"codec_name"`
			CodecType     string            `json:"codec_type"`
			Width         int               `json:"width"`
			Height        int               `json:"height"`
			SAR           string            `json:"sample_aspect_ratio"`
			DAR           string            `json:"display_aspect_ratio"`
			PixFmt        string            `json:"pix_fmt"`
			FieldOrder    string            `json:"field_order"`
			ColorRange    string            `json:"color_range"`
			ColorSpace    string            `json:"color_space"`
			ColorTransfer string            `json:"color_transfer"`
			ColorPrim     string            `json:"color_primaries"`
			RFrameRate    string            `json:"r_frame_rate"`
			AvgFrameRate  string            `json:"avg_frame_rate"`
			StartTime     string            `json:"start_time"`
			Duration      string            `json:"duration"`
			NbFrames      string            `json:"nb_frames"`
			Channels      int               `json:"channels"`
			ChannelLayout string            `json:"channel_layout"`
			SampleRate    string            `json:"sample_rate"`
			SampleFmt     string            `json:"sample_fmt"`
			RawBits       string            `json:"bits_per_raw_sample"`
			SampleBits    int               `json:"bits_per_sample"`
			Tags          map[string]string `json:"tags"`
			Disposition   map[string]int    `json:"disposition"`
			SideData      []struct {
				Type     string  `json:"side_data_type"`
				Rotation float64 `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w %s: unreadable answer: %w", ErrProbe, path, err)
	}
	in := &Info{Path: path, Format: raw.Format.FormatName, Tags: raw.Format.Tags}
	if n, err := strconv.ParseInt(raw.Format.Size, 10, 64); err == nil && n > 0 {
		in.Size = n
	}
	in.Start, _ = seconds(raw.Format.StartTime)
	in.Duration, _ = seconds(raw.Format.Duration)
	for _, r := range raw.Streams {
		s := Stream{
			Index: r.Index, Type: r.CodecType, Codec: r.CodecName, Tags: r.Tags,
			Default: r.Disposition["default"] == 1, AttachedPic: r.Disposition["attached_pic"] == 1,
			Width: r.Width, Height: r.Height, SAR: parseRatio(r.SAR), DAR: parseRatio(r.DAR),
			PixFmt: r.PixFmt, FieldOrder: r.FieldOrder,
			Color:      Color{Range: r.ColorRange, Space: r.ColorSpace, Transfer: r.ColorTransfer, Primaries: r.ColorPrim},
			RFrameRate: parseRatio(r.RFrameRate), AvgFrameRate: parseRatio(r.AvgFrameRate),
			Channels: r.Channels, ChannelLayout: r.ChannelLayout,
		}
		s.Start, s.HasStart = seconds(r.StartTime)
		s.Duration, _ = seconds(r.Duration)
		if d, ok := clock(tag(r.Tags, "DURATION")); ok && s.Duration == 0 {
			// Matroska keeps a stream's extent in a DURATION tag: ffmpeg
			// writes the track's end time, mkvmerge (its statistics
			// tags) the track's length.
			if tag(r.Tags, "_STATISTICS_TAGS") == "" && s.HasStart {
				d -= s.Start
			}
			s.Duration = max(d, 0)
		} else if in.Format == "asf" && s.HasStart && s.Duration > 0 {
			// ASF (WMV, WMA) gives every stream the file's play time, from
			// the file's start: a video that starts 43 ms in ends at that
			// time, not 43 ms after it.
			s.Duration = max(s.Duration-s.Start, 0)
		}
		s.Frames, _ = strconv.ParseInt(r.NbFrames, 10, 64)
		s.SampleRate, _ = strconv.Atoi(r.SampleRate)
		if s.Type == "audio" {
			s.SampleFmt = r.SampleFmt
			if s.Bits, _ = strconv.Atoi(r.RawBits); s.Bits <= 0 {
				s.Bits = max(r.SampleBits, 0)
			}
		}
		rot := 0.0
		for _, sd := range r.SideData {
			if sd.Type == "Display Matrix" {
				rot = sd.Rotation
			}
		}
		if rot == 0 && r.Tags["rotate"] != "" {
			// Old ffprobe and some muxers: a clockwise "rotate" tag.
			if v, err := strconv.ParseFloat(r.Tags["rotate"], 64); err == nil {
				rot = -v
			}
		}
		if q := math.Round(rot / 90); math.Abs(rot-q*90) < 1 {
			s.Rotation = clockwise(rot)
		} else {
			s.OddRotation = -rot
		}
		in.Streams = append(in.Streams, s)
	}
	return in, nil
}

// clockwise turns ffprobe's display-matrix rotation (degrees
// counter-clockwise, "-90" for a phone held upright) into the clockwise
// turn a player applies, 0/90/180/270.
func clockwise(ccw float64) int {
	d := int(math.Round(-ccw/90)) * 90 % 360
	if d < 0 {
		d += 360
	}
	return d
}

// tag looks a tag up whatever its case (Matroska writers differ).
func tag(tags map[string]string, key string) string {
	if v, ok := tags[key]; ok {
		return v
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// clock reads "HH:MM:SS.fraction" (Matroska's DURATION tag).
func clock(s string) (time.Duration, bool) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, ok := seconds(parts[2])
	if err1 != nil || err2 != nil || !ok || h < 0 || m < 0 || sec < 0 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + sec, true
}

// seconds reads ffprobe's "12.345000"; false for "N/A" or nothing.
func seconds(s string) (time.Duration, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return time.Duration(math.Round(v * 1e9)), true
}

// DisplaySize is the size a player shows the video at, in pixels of the
// decoded picture after rotation (the stored size turned by Rotation;
// non-square pixels are not stretched here).
func (s Stream) DisplaySize() (w, h int) {
	if s.Rotation == 90 || s.Rotation == 270 {
		return s.Height, s.Width
	}
	return s.Width, s.Height
}

// DisplaySAR is the pixel aspect of the upright picture (inverted by a
// quarter turn); unknown when the stream has none.
func (s Stream) DisplaySAR() Ratio {
	if !s.SAR.Valid() {
		return Ratio{}
	}
	if s.Rotation == 90 || s.Rotation == 270 {
		return Ratio{s.SAR.Den, s.SAR.Num}
	}
	return s.SAR
}

// Rate picks the frame rate to write a constant-rate copy of the stream
// at: the declared base rate when it is a plausible video rate, else the
// average, else ok false. Container time bases that leak into the base
// rate (90000/1, 1000/1) are not plausible. Up to 240 frames/s (a phone's
// slow motion) a base rate is taken as it is; above that (480 and 960
// frames/s high-speed recordings) only when the average says the pictures
// do come that fast, and an average alone up to fastest.
func (s Stream) Rate() (Ratio, bool) {
	const (
		common  = 240.0
		fastest = 1000.0
	)
	r, avg := s.RFrameRate, s.AvgFrameRate
	switch {
	case r.Valid() && r.Float() <= common:
		return r, true
	case r.Valid() && r.Float() <= fastest && avg.Valid() && avg.Float() >= 0.9*r.Float():
		return r, true
	case avg.Valid() && avg.Float() <= fastest:
		return avg, true
	}
	return Ratio{}, false
}
