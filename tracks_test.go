package vidstyle_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/media"
)

// TestJobOutputOptionsRefusedBeforeModels: a wrong -audio value, a copy
// the container cannot hold and a negative CRF are usage errors, found
// before the model is looked at (the model named here does not exist).
func TestJobOutputOptionsRefusedBeforeModels(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	small := testmedia.SmallMP4(t) // H.264 + AAC
	dir := t.TempDir()
	for _, c := range []struct {
		job  vidstyle.Job
		want string
	}{
		{vidstyle.Job{Out: filepath.Join(dir, "o.mp4"), Audio: "loud"}, `audio "loud": use auto, copy or none`},
		{vidstyle.Job{Out: filepath.Join(dir, "o.webm"), Audio: "copy"}, "-audio copy: .webm cannot hold audio track 1 (aac)"},
		{vidstyle.Job{Out: filepath.Join(dir, "o.mp4"), CRF: new(-2)}, "cannot be negative"},
	} {
		c.job.In, c.job.Model = small, "no-such-model.onnx"
		tr, err := e.Open(context.Background(), c.job)
		if err == nil {
			tr.Close()
		}
		if err == nil || !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v (usage %v), want %q", c.job, err, vidstyle.IsUsage(err), c.want)
		}
	}
}

// TestTranscodeKeepsTimingAspectColourAndTracks: a PAL-shaped clip
// (SAR 16:15, BT.709, AC-3 audio, video starting 0.4 s after the audio, in
// MKV) comes out of a real job as an MP4 with the same sample aspect and
// colour tags, AAC audio, the exact rate, and the first picture shown
// from 0 so that the picture keeps its place against the sound.
func TestTranscodeKeepsTimingAspectColourAndTracks(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.mkv")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-itsoffset", "0.4", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:d=1",
		"-f", "lavfi", "-i", "sine=d=1.4", "-map", "0", "-map", "1",
		"-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,setsar=16/15",
		"-c:v", "libx264", "-preset", "ultrafast", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
		"-c:a", "ac3", src}
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	out := filepath.Join(dir, "o.mp4")
	res, err := e.Transcode(context.Background(), vidstyle.Job{In: src, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := media.Probe(ctx, "", out)
	if err != nil {
		t.Fatal(err)
	}
	v := info.Video()
	if v.SAR != (media.Ratio{Num: 16, Den: 15}) || v.Color != (media.Color{Range: "tv", Space: "bt709", Transfer: "bt709", Primaries: "bt709"}) {
		t.Errorf("video: SAR %v, colour %+v", v.SAR, v.Color)
	}
	if v.RFrameRate != (media.Ratio{Num: 25, Den: 1}) || v.AvgFrameRate != (media.Ratio{Num: 25, Den: 1}) {
		t.Errorf("rate %v / %v, want 25/1", v.RFrameRate, v.AvgFrameRate)
	}
	// 25 source frames from 0.4 s: 10 output frames of the first picture
	// before them; the last may be held one frame longer, to the file's
	// end (an MKV video track declares no length of its own, and its AC-3
	// audio ends on a 32 ms frame).
	if res.Frames != 25 || v.Frames < 35 || v.Frames > 36 {
		t.Errorf("%d source frames, %d in the file; want 25 and 35 (36)", res.Frames, v.Frames)
	}
	if a := info.OfType("audio"); len(a) != 1 || a[0].Codec != "aac" {
		t.Errorf("audio %+v, want one AAC track", a)
	}
}
