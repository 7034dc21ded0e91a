package vidstyle_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	if res.FileFrames != int64(v.Frames) {
		t.Errorf("Result.FileFrames %d, the file holds %d", res.FileFrames, v.Frames)
	}
	if a := info.OfType("audio"); len(a) != 1 || a[0].Codec != "aac" {
		t.Errorf("audio %+v, want one AAC track", a)
	}
}

// TestStripMetadata: a phone-like MOV (a GPS position, a creation time,
// the make and model, a title and comment, an audio track with a language,
// a title and its own creation time, two chapters) keeps all of it by
// default, as ffmpeg does, and with StripMetadata keeps only the audio
// track's language and the chapters.
func TestStripMetadata(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "IMG_0001.MOV")
	meta := filepath.Join(dir, "meta.txt")
	chapters := ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=one\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=two\n"
	if err := os.WriteFile(meta, []byte(chapters), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:d=1", "-f", "lavfi", "-i", "sine=d=1", "-i", meta,
		"-map", "0", "-map", "1", "-map_chapters", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
		"-metadata", "location=+37.7858-122.4064/", "-metadata", "creation_time=2026-06-01T10:00:00Z",
		"-metadata", "com.apple.quicktime.make=Apple", "-metadata", "com.apple.quicktime.model=iPhone 15",
		"-metadata", "title=At home", "-metadata", "comment=private",
		"-metadata:s:a:0", "language=fra", "-metadata:s:a:0", "title=Voice", "-metadata:s:a:0", "creation_time=2026-06-01T10:00:00Z",
		"-movflags", "use_metadata_tags", src}
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	private := []string{"location", "location-eng", "creation_time", "com.apple.quicktime.make", "com.apple.quicktime.model", "title", "comment"}
	var copied []string // what the default copies
	for _, strip := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("strip-%v.mov", strip))
		if _, err := e.Transcode(context.Background(), vidstyle.Job{In: src, Out: out, Model: "toon", StripMetadata: strip}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		info, err := media.Probe(ctx, "", out)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		a := info.OfType("audio")
		if len(a) != 1 {
			t.Fatalf("strip %v: %d audio tracks", strip, len(a))
		}
		var kept []string
		for _, k := range private {
			if info.Tags[k] != "" {
				kept = append(kept, k)
			}
			if a[0].Tags[k] != "" {
				kept = append(kept, "audio "+k)
			}
		}
		t.Logf("strip %v: file tags %v, audio tags %v", strip, info.Tags, a[0].Tags)
		if !strip {
			copied = kept
			if !slices.Contains(kept, "location") || !slices.Contains(kept, "creation_time") || !slices.Contains(kept, "audio creation_time") {
				t.Errorf("by default kept %v: the position and the times are missing (ffmpeg copies them)", kept)
			}
		} else if len(kept) != 0 {
			t.Errorf("StripMetadata kept %v of %v", kept, copied)
		}
		if a[0].Tags["language"] != "fra" {
			t.Errorf("strip %v: audio language %q, want fra", strip, a[0].Tags["language"])
		}
		chap, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "chapter_tags=title", "-of", "csv=p=0", out).Output()
		if err != nil || strings.Fields(string(chap)) == nil || strings.Join(strings.Fields(string(chap)), ",") != "one,two" {
			t.Errorf("strip %v: chapters %q (%v), want one,two", strip, chap, err)
		}
	}
}

// TestStripMetadataKeepsAttachments: an MKV with a font attachment (as
// anime releases carry for their subtitles), an audio tag whose key has
// "=" in it and a file title: with StripMetadata the font keeps its file
// name and type (ffmpeg refuses an attachment without them), the tags
// are gone, the chapter keeps its title.
func TestStripMetadataKeepsAttachments(t *testing.T) {
	dir := t.TempDir()
	font := filepath.Join(dir, "f.ttf")
	meta := filepath.Join(dir, "meta.txt")
	os.WriteFile(font, []byte("not really a font"), 0o644)
	os.WriteFile(meta, []byte(";FFMETADATA1\ntitle=At home\nlocation=+37.7858-122.4064/\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=one\n"), 0o644)
	src := filepath.Join(dir, "in.mkv")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:d=1", "-f", "lavfi", "-i", "sine=d=1", "-i", meta,
		"-map", "0", "-map", "1", "-map_metadata", "2", "-map_chapters", "2", "-attach", font,
		"-metadata:s:t:0", "mimetype=font/ttf", "-metadata:s:t:0", "filename=f.ttf", "-metadata:s:t:0", "title=My font",
		"-metadata:s:a:0", "language=fra", "-metadata:s:a:0", "a=b=c", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src}
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	out := filepath.Join(dir, "o.mkv")
	if _, err := e.Transcode(context.Background(), vidstyle.Job{In: src, Out: out, Model: "toon", StripMetadata: true}); err != nil {
		t.Fatal(err)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags:chapter_tags", "-of", "compact", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(probe)
	t.Log(got)
	for _, want := range []string{"filename=f.ttf", "mimetype=font/ttf", "language=fra", "chapter|tag:title=one"} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	for _, not := range []string{"At home", "+37.7858", "b=c", "My font"} {
		if strings.Contains(got, not) {
			t.Errorf("the output keeps %q", not)
		}
	}
}

// TestMOVKeepsTrackLanguages: ffmpeg's MOV muxer writes only QuickTime's
// old language codes, which spell 20 ISO 639-2 languages the other way
// ("fra", not Matroska's "fre"): an MKV's French audio, Czech subtitles
// and Chinese audio keep their languages in a .mov (they came out with
// none), and a language the table lacks (Swedish) gets one warning naming
// its track. An .mp4 keeps every code as it is.
func TestMOVKeepsTrackLanguages(t *testing.T) {
	dir := t.TempDir()
	srt := filepath.Join(dir, "s.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:00,800\nAhoj\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.mkv")
	args := []string{"-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1", "-f", "lavfi", "-i", "sine=d=1", "-i", srt,
		"-map", "0", "-map", "1", "-map", "1", "-map", "1", "-map", "1", "-map", "2",
		"-metadata:s:a:0", "language=fre", "-metadata:s:a:1", "language=zho", "-metadata:s:a:2", "language=swe", "-metadata:s:a:3", "language=eng",
		"-metadata:s:s:0", "language=cze", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-c:s", "srt", in}
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	var logs strings.Builder
	e := newEngine(t, vidstyle.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, c := range []struct {
		out  string
		want []string // audio 1-4, then the subtitle
		lost string
	}{
		{"o.mov", []string{"fra", "chi", "", "eng", "ces"}, "audio track 3 (swe)"},
		{"o.mp4", []string{"fre", "zho", "swe", "eng", "cze"}, ""},
	} {
		logs.Reset()
		out := filepath.Join(dir, c.out)
		if _, err := e.Transcode(context.Background(), vidstyle.Job{In: in, Out: out, Model: "toon", Temporal: new(0.0)}); err != nil {
			t.Fatal(err)
		}
		info, err := media.Probe(context.Background(), "", out)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, kind := range []string{"audio", "subtitle"} {
			for _, s := range info.OfType(kind) {
				got = append(got, s.Tags["language"])
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: languages %q, want %q", c.out, got, c.want)
		}
		warned := strings.Contains(logs.String(), "QuickTime's old language codes")
		if c.lost != "" && (!warned || !strings.Contains(logs.String(), c.lost)) || c.lost == "" && warned {
			t.Errorf("%s: warning %v, want one naming %q:\n%s", c.out, warned, c.lost, logs.String())
		}
	}
}
