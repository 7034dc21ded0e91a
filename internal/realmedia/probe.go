package realmedia

import (
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Stream is one stream as ffprobe -show_streams reports it (the fields
// the tests check, in ffprobe's own words).
type Stream struct {
	Index         int               `json:"index"`
	CodecType     string            `json:"codec_type"`
	CodecName     string            `json:"codec_name"`
	Profile       string            `json:"profile"`
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
	TimeBase      string            `json:"time_base"`
	StartTime     string            `json:"start_time"`
	Duration      string            `json:"duration"`
	NbFrames      string            `json:"nb_frames"`
	Channels      int               `json:"channels"`
	ChannelLayout string            `json:"channel_layout"`
	SampleRate    string            `json:"sample_rate"`
	Tags          map[string]string `json:"tags"`
	Disposition   map[string]int    `json:"disposition"`
	SideData      []struct {
		Type     string  `json:"side_data_type"`
		Rotation float64 `json:"rotation"`
	} `json:"side_data_list"`
}

// Rotation is the display-matrix rotation ffprobe reports (degrees
// counter-clockwise, e.g. -90 for rotate=90), or the rotate tag's
// negation; 0 when there is none.
func (s Stream) Rotation() float64 {
	for _, sd := range s.SideData {
		if sd.Type == "Display Matrix" {
			return sd.Rotation
		}
	}
	if v, err := strconv.ParseFloat(s.Tags["rotate"], 64); err == nil {
		return -v
	}
	return 0
}

// Start is the stream's start_time (0 when not given).
func (s Stream) Start() time.Duration { return secs(s.StartTime) }

// Length is the stream's duration (0 when not given).
func (s Stream) Length() time.Duration { return secs(s.Duration) }

func secs(v string) time.Duration {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return time.Duration(math.Round(f * 1e9))
}

// Info is ffprobe's -show_format -show_streams answer.
type Info struct {
	Streams []Stream `json:"streams"`
	Format  struct {
		FormatName string            `json:"format_name"`
		StartTime  string            `json:"start_time"`
		Duration   string            `json:"duration"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

// Start is the file's start_time: ffmpeg's timeline begins there.
func (in *Info) Start() time.Duration { return secs(in.Format.StartTime) }

// OfType lists the streams of a codec type ("video", "audio",
// "subtitle"), in file order.
func (in *Info) OfType(kind string) []Stream {
	var out []Stream
	for _, s := range in.Streams {
		if s.CodecType == kind {
			out = append(out, s)
		}
	}
	return out
}

// Video is the first video stream; it fails the test when there is none.
func (in *Info) Video(t testing.TB) Stream {
	t.Helper()
	v := in.OfType("video")
	if len(v) == 0 {
		t.Fatalf("realmedia: no video stream (streams: %s)", in.Kinds())
	}
	return v[0]
}

// Kinds lists the streams as "video:h264 audio:aac …", for messages.
func (in *Info) Kinds() string {
	var parts []string
	for _, s := range in.Streams {
		parts = append(parts, s.CodecType+":"+s.CodecName)
	}
	return strings.Join(parts, " ")
}

// Probe runs ffprobe -show_format -show_streams on path.
func Probe(t testing.TB, path string) *Info {
	t.Helper()
	Tools(t)
	out, err := exec.Command("ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("realmedia: ffprobe %s: %v", path, err)
	}
	var in Info
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("realmedia: ffprobe %s: %v", path, err)
	}
	return &in
}

// Extent is the first and last moment of one stream's packets on the
// same timeline as ReadIndices (from the file's start): the earliest pts
// and the latest pts + duration. sel is an ffprobe stream specifier ("a:0",
// "v:0"); ok is false when the stream has no timed packets.
func Extent(t testing.TB, path, sel string) (start, end time.Duration, ok bool) {
	t.Helper()
	Tools(t)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", sel,
		"-show_entries", "packet=pts_time,duration_time:format=start_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("realmedia: ffprobe packets of %s in %s: %v", sel, path, err)
	}
	var res struct {
		Packets []struct {
			PTS      string `json:"pts_time"`
			Duration string `json:"duration_time"`
		} `json:"packets"`
		Format struct {
			StartTime string `json:"start_time"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("realmedia: ffprobe packets of %s: %v", path, err)
	}
	origin := secs(res.Format.StartTime)
	for _, p := range res.Packets {
		if _, err := strconv.ParseFloat(p.PTS, 64); err != nil {
			continue
		}
		s, e := secs(p.PTS)-origin, secs(p.PTS)-origin+secs(p.Duration)
		if !ok || s < start {
			start = s
		}
		if !ok || e > end {
			end = e
		}
		ok = true
	}
	return start, end, ok
}
