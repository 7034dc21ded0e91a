package media

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	in, err := Parse("x", []byte(`{"format":{"format_name":"matroska,webm","start_time":"0.000000","duration":"1.5"},
	"streams":[
	 {"index":0,"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"default":1,"attached_pic":1}},
	 {"index":1,"codec_type":"video","codec_name":"h264","width":720,"height":576,"sample_aspect_ratio":"16:15","display_aspect_ratio":"4:3",
	  "r_frame_rate":"90000/1","avg_frame_rate":"25/1","start_time":"0.406","field_order":"tt",
	  "tags":{"DURATION":"00:00:01.406000000"},"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
	 {"index":2,"codec_type":"audio","codec_name":"ac3","channels":6,"sample_rate":"48000","start_time":"0.0",
	  "tags":{"DURATION":"00:00:01.428000000","_STATISTICS_TAGS":"BPS DURATION"}},
	 {"index":3,"codec_type":"video","codec_name":"h264","width":64,"height":64,"r_frame_rate":"0/0","avg_frame_rate":"0/0","tags":{"rotate":"90"}}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := in.Video()
	if v == nil || v.Index != 1 {
		t.Fatalf("main video %+v, want stream 1 (0 is cover art)", v)
	}
	if v.Rotation != 90 || v.SAR != (Ratio{16, 15}) || v.DisplaySAR() != (Ratio{15, 16}) || !v.Interlaced() {
		t.Fatalf("rotation %d, SAR %v, upright SAR %v, interlaced %v", v.Rotation, v.SAR, v.DisplaySAR(), v.Interlaced())
	}
	if w, h := v.DisplaySize(); w != 576 || h != 720 {
		t.Fatalf("display size %dx%d", w, h)
	}
	if r, ok := v.Rate(); !ok || r != (Ratio{25, 1}) {
		t.Fatalf("rate %v %v: a 90000/1 time base is no frame rate", r, ok)
	}
	// ffmpeg's DURATION tag is the end time; mkvmerge's (statistics) a length.
	if v.Duration != time.Second || in.Streams[2].Duration != 1428*time.Millisecond {
		t.Fatalf("durations %v and %v, want 1s and 1.428s", v.Duration, in.Streams[2].Duration)
	}
	// An old demuxer's rotate tag (no side data) is the clockwise turn.
	if s := in.Streams[3]; s.Rotation != 90 {
		t.Fatalf("rotate tag 90 gives rotation %d, want 90 clockwise", s.Rotation)
	}
	if _, ok := in.Streams[3].Rate(); ok {
		t.Fatal("0/0 rates gave a rate")
	}
	if a := in.OfType("audio"); len(a) != 1 || a[0].Channels != 6 || a[0].SampleRate != 48000 {
		t.Fatalf("audio %+v", a)
	}
}

// TestRate: the base rate unless it is a time base that leaked in; above
// 240 frames/s (high-speed recordings) when the average agrees.
func TestRate(t *testing.T) {
	for _, c := range []struct {
		r, avg Ratio
		want   Ratio
	}{
		{Ratio{30000, 1001}, Ratio{30000, 1001}, Ratio{30000, 1001}},
		{Ratio{240, 1}, Ratio{0, 0}, Ratio{240, 1}},
		{Ratio{480, 1}, Ratio{480, 1}, Ratio{480, 1}},
		{Ratio{960, 1}, Ratio{4800, 5}, Ratio{960, 1}},
		{Ratio{480, 1}, Ratio{0, 0}, Ratio{}},         // nothing says the pictures come that fast
		{Ratio{90000, 1}, Ratio{25, 1}, Ratio{25, 1}}, // MPEG-TS's time base
		{Ratio{1000, 1}, Ratio{2997, 100}, Ratio{2997, 100}},
		{Ratio{1000, 1}, Ratio{500, 1}, Ratio{500, 1}},
		{Ratio{90000, 1}, Ratio{90000, 1}, Ratio{}},
	} {
		got, ok := Stream{RFrameRate: c.r, AvgFrameRate: c.avg}.Rate()
		if got != c.want || ok != c.want.Valid() {
			t.Errorf("r_frame_rate %v, avg_frame_rate %v: rate %v %v, want %v", c.r, c.avg, got, ok, c.want)
		}
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := Parse("x", []byte("not json")); err == nil {
		t.Fatal("garbage parsed")
	}
}

// TestProbeRealFile: ffprobe on a file ffmpeg makes, with a rotation tag
// (ffprobe: "rotation of -90.00 degrees" → a player turns it 90°
// clockwise) and an exact NTSC rate.
func TestProbeRealFile(t *testing.T) {
	dir := t.TempDir()
	plain, rot := filepath.Join(dir, "a.mp4"), filepath.Join(dir, "r.mp4")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30000/1001", "-frames:v", "10", "-c:v", "libx264", "-preset", "ultrafast", plain},
		{"-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=270", rot},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, out)
		}
	}
	in, err := Probe(context.Background(), "", rot)
	if err != nil {
		t.Fatal(err)
	}
	v := in.Video()
	if r, _ := v.Rate(); v.Rotation != 90 || r != (Ratio{30000, 1001}) || v.Frames != 10 || v.Width != 160 {
		t.Fatalf("%+v", v)
	}
	if _, err := Probe(context.Background(), "", filepath.Join(dir, "none.mp4")); err == nil {
		t.Fatal("a missing file probed")
	}
}
