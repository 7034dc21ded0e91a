package vidstyle_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestOpenChecksTheEncoderSettings: Open refuses, as a UsageError and
// before any work, what the encoder would refuse or vidstyle cannot
// write, as the command line does. A bad preset failed at frame 2 with
// x264's words, CRF 99 and 100000 threads were taken, and .avi was an
// output error.
func TestOpenChecksTheEncoderSettings(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	small := testmedia.SmallMP4(t)
	dir := t.TempDir()
	for _, c := range []struct {
		job  vidstyle.Job
		want string
	}{
		{vidstyle.Job{Out: "a.mp4", Preset: "bogus"}, `-preset "bogus": x264 takes ultrafast`},
		{vidstyle.Job{Out: "b.mp4", CRF: new(99)}, "-crf 99: x264 takes 0 to 51"},
		{vidstyle.Job{Out: "b.webm", CRF: new(64)}, "-crf 64: VP9 takes 0 to 63"},
		{vidstyle.Job{Out: "c.mp4", EncodeThreads: 100000}, "-encode-threads 100000: use 0 (ffmpeg's choice) to 64"},
		{vidstyle.Job{Out: "o.avi"}, ".avi is not a video type"},
	} {
		c.job.In, c.job.Out = small, filepath.Join(dir, c.job.Out)
		tr, err := e.Open(context.Background(), c.job)
		if err == nil {
			tr.Close()
		}
		if !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (usage %v), want a usage error with %q", filepath.Base(c.job.Out), err, vidstyle.IsUsage(err), c.want)
		}
	}
	if left := onlyFiles(t, dir); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
	// What the encoder takes is taken.
	for _, job := range []vidstyle.Job{{Out: "ok.mp4", Preset: "ultrafast", CRF: new(51), EncodeThreads: 64}, {Out: "ok.webm", CRF: new(63)}, {Out: "ok.gif", CRF: new(99)}} {
		job.In, job.Out = small, filepath.Join(dir, job.Out)
		if err := job.CheckEncoder(); err != nil {
			t.Errorf("%s: %v", filepath.Base(job.Out), err)
		}
	}
}

// TestMKVWithTransparencyTakesVP9sCRF: an .mkv that keeps a video's
// transparency is VP9, whose CRF goes to 63: -crf 55 is taken there, and
// refused (x264's 0 to 51) for an opaque input into .mkv.
func TestMKVWithTransparencyTakesVP9sCRF(t *testing.T) {
	dir := t.TempDir()
	alpha := filepath.Join(dir, "alpha.mov")
	alphaClip(t, alpha, "-c:v", "qtrle")
	e := newEngine(t, vidstyle.Config{})
	crf := 55
	job := vidstyle.Job{In: alpha, Out: filepath.Join(dir, "a.mkv"), Model: "toon", CRF: &crf, Frames: 2}
	if _, err := e.Transcode(context.Background(), job); err != nil {
		t.Errorf("-crf 55 into .mkv with transparency: %v", err)
	}
	job.In, job.Out = testmedia.SmallMP4(t), filepath.Join(dir, "b.mkv")
	if _, err := e.Transcode(context.Background(), job); !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), "x264 takes 0 to 51") {
		t.Errorf("-crf 55 into .mkv of an opaque input: %v, want x264's range refused", err)
	}
}
