package vidstyle_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// TestPictureSequenceOutput: -out name_%04d.png writes a video's frames as
// numbered pictures, as ffmpeg's image2 muxer does: from 1, one a frame of
// the source's constant rate (a variable-rate gap filled with repeats),
// each PNG exactly the decoded frame through a pass-through model, a
// video's transparency kept in PNG, JPEG written opaque (and refused with
// -alpha keep), audio left out with a line, no hidden file left, and a
// stopped job keeps the pictures it finished. A picture numbered after the
// last written, left by an earlier run, gets a warning. Before, such an
// output was refused as a picture ("give a video output").
func TestPictureSequenceOutput(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(model, testmodels.IdentityGraph(), 0o600); err != nil {
		t.Fatal(err)
	}
	ff := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	}
	// 12 frames at 12 fps with sound, and the same with a 0.5 s gap after
	// frame 5 (a phone's variable rate): 18 pictures at 12 fps.
	clip := filepath.Join(dir, "clip.mkv")
	ff("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12:duration=1", "-f", "lavfi", "-i", "sine=d=1",
		"-c:v", "ffv1", "-c:a", "flac", clip)
	vfr := filepath.Join(dir, "vfr.mkv")
	ff("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12:duration=1", "-vf", "setpts='if(gte(N,6),PTS+0.5/TB,PTS)'",
		"-fps_mode", "passthrough", "-c:v", "ffv1", vfr)
	alpha := filepath.Join(dir, "alpha.mov")
	alphaClip(t, alpha, "-c:v", "qtrle")
	// Longer than the frames the pipeline holds (about 14), for stops.
	long := filepath.Join(dir, "long.mkv")
	ff("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=4", "-c:v", "ffv1", long)

	var logs bytes.Buffer
	e := newEngine(t, vidstyle.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	run := func(t *testing.T, job vidstyle.Job) vidstyle.Result {
		t.Helper()
		logs.Reset()
		job.Model, job.Temporal = model, new(0.0)
		res, err := e.Transcode(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pictures := func(t *testing.T, pattern string) []string {
		t.Helper()
		var names []string
		for n := 1; ; n++ {
			name := fmt.Sprintf(pattern, n)
			if _, err := os.Stat(name); err != nil {
				break
			}
			names = append(names, name)
		}
		if _, err := os.Stat(fmt.Sprintf(pattern, 0)); err == nil {
			t.Errorf("a picture numbered 0: the numbers start at 1")
		}
		return names
	}
	noHidden := func(t *testing.T, d string) {
		t.Helper()
		entries, _ := os.ReadDir(d)
		for _, en := range entries {
			if strings.HasPrefix(en.Name(), ".") {
				t.Errorf("hidden file left: %s", en.Name())
			}
		}
	}

	t.Run("png", func(t *testing.T) {
		out := filepath.Join(dir, "png", "f_%04d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		res := run(t, vidstyle.Job{In: clip, Out: out})
		names := pictures(t, filepath.Join(dir, "png", "f_%04d.png"))
		src := testmedia.DecodeAll(t, clip) // as vidstyle decodes it
		if len(names) != 12 || res.Frames != 12 || res.FileFrames != 12 {
			t.Fatalf("%d pictures, %d frames, %d in the result: want 12", len(names), res.Frames, res.FileFrames)
		}
		for i, name := range names {
			m := gocv.IMRead(name, gocv.IMReadUnchanged)
			if m.Empty() || m.Channels() != 3 || m.Cols() != src[i].Cols() || m.Rows() != src[i].Rows() {
				t.Errorf("%s: %dx%d with %d channels, want a %dx%d BGR picture", name, m.Cols(), m.Rows(), m.Channels(), src[i].Cols(), src[i].Rows())
				m.Close()
				continue
			}
			got, _ := m.DataPtrUint8()
			want, _ := src[i].DataPtrUint8()
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the decoded frame by %.2f on average", name, testmedia.MeanAbsDiff(m, src[i]))
			}
			m.Close()
		}
		if !strings.Contains(logs.String(), "pictures hold no sound") {
			t.Errorf("no line says the audio is left out:\n%s", logs.String())
		}
		noHidden(t, filepath.Dir(out))
	})

	t.Run("variable rate", func(t *testing.T) {
		out := filepath.Join(dir, "vfr", "v_%03d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		res := run(t, vidstyle.Job{In: vfr, Out: out})
		if n := len(pictures(t, out)); n != 18 || res.FileFrames != 18 || res.Frames != 12 {
			t.Errorf("%d pictures (result %d of %d frames), want 18 of 12: the 0.5 s gap is 6 pictures at 12 fps", n, res.FileFrames, res.Frames)
		}
	})

	t.Run("transparency", func(t *testing.T) {
		out := filepath.Join(dir, "alpha", "a_%02d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		run(t, vidstyle.Job{In: alpha, Out: out})
		names := pictures(t, out)
		src := decodeBGRA(t, alpha, 96, 64)
		if len(names) != len(src) {
			t.Fatalf("%d pictures, want %d", len(names), len(src))
		}
		for i, name := range names {
			m := gocv.IMRead(name, gocv.IMReadUnchanged)
			got, _ := m.DataPtrUint8()
			if m.Channels() != 4 || !bytes.Equal(got, src[i]) {
				t.Errorf("%s: %d channels, or its BGRA differs from the source's", name, m.Channels())
			}
			m.Close()
		}
		jpg := filepath.Join(dir, "alpha", "j_%02d.jpg")
		run(t, vidstyle.Job{In: alpha, Out: jpg})
		if n := len(pictures(t, jpg)); n != len(src) || !strings.Contains(logs.String(), "a JPG picture cannot hold transparency") {
			t.Errorf("JPEG: %d pictures, want %d, and a warning:\n%s", n, len(src), logs.String())
		}
		_, err := e.Open(context.Background(), vidstyle.Job{In: alpha, Out: jpg, Model: model, Alpha: "keep"})
		if err == nil || !vidstyle.IsUsage(err) {
			t.Errorf("-alpha keep into JPEG pictures: %v, want a usage error", err)
		}
	})

	t.Run("left from an earlier run", func(t *testing.T) {
		out := filepath.Join(dir, "old", "o_%d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		os.WriteFile(filepath.Join(dir, "old", "o_13.png"), []byte("old"), 0o644)
		// What a killed run leaves: the hidden file of the picture it was
		// writing. Another output's stays.
		os.WriteFile(filepath.Join(dir, "old", ".o_4.png.1234.part.png"), []byte("half"), 0o600)
		other := filepath.Join(dir, "old", ".other_4.png.1234.part.png")
		os.WriteFile(other, []byte("half"), 0o600)
		run(t, vidstyle.Job{In: clip, Out: out})
		if !strings.Contains(logs.String(), "o_13.png is left from an earlier run") {
			t.Errorf("no warning of the old picture:\n%s", logs.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "old", ".o_4.png.1234.part.png")); err == nil {
			t.Errorf("a killed run's hidden picture was left")
		}
		if _, err := os.Stat(other); err != nil {
			t.Errorf("another sequence's hidden file was removed")
		}
		os.Remove(other)
	})

	t.Run("names", func(t *testing.T) {
		// Nothing before the number, in a folder; a literal %.
		d := filepath.Join(dir, "names")
		os.MkdirAll(filepath.Join(d, "frames"), 0o755)
		run(t, vidstyle.Job{In: clip, Out: filepath.Join(d, "frames", "%04d.png"), Frames: 2})
		run(t, vidstyle.Job{In: clip, Out: filepath.Join(d, "100%%_%d.png"), Frames: 2})
		for _, name := range []string{"frames/0001.png", "frames/0002.png", "100%_1.png", "100%_2.png"} {
			if _, err := os.Stat(filepath.Join(d, name)); err != nil {
				t.Errorf("%s was not written: %v", name, err)
			}
		}
		noHidden(t, d)
		noHidden(t, filepath.Join(d, "frames"))
		// Other spellings of the input's own pictures, and names that are
		// no sequence, are refused before anything is written.
		in := filepath.Join(d, "frames", "%04d.png")
		os.Symlink("frames", filepath.Join(d, "link"))
		for _, c := range []struct{ out, want string }{
			{filepath.Join(d, "frames", "%4d.png"), "would overwrite the input"},
			{filepath.Join(d, "link", "%04d.png"), "would overwrite the input"},
			{filepath.Join(d, "frames", "..", "frames", "%04d.png"), "would overwrite the input"},
			{filepath.Join(d, "a%_%03d.png"), "%% for a literal %"},
			{filepath.Join(d, "a_%d_%d.png"), "one %d"},
		} {
			_, err := e.Open(context.Background(), vidstyle.Job{In: in, Out: c.out, Model: model})
			if err == nil || !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s from %s: %v, want a usage error with %q", c.out, in, err, c.want)
			}
		}
	})

	t.Run("aborted", func(t *testing.T) {
		// A second Ctrl-C: the pictures written stay, each whole, and
		// Kept says how many.
		out := filepath.Join(dir, "abort", "a_%04d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		var tr *vidstyle.Transcoder
		tr, err := e.Open(context.Background(), vidstyle.Job{In: long, Out: out, Model: model, Temporal: new(0.0),
			OnFrame: func(n int64) {
				if n == 3 {
					tr.Abort()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if _, err := tr.Run(context.Background()); err == nil {
			t.Errorf("the run went on after Abort")
		}
		n := len(pictures(t, out))
		if k := tr.Kept(); n < 3 || int64(n) != k || n >= 100 {
			t.Errorf("aborted after 3: %d pictures, Kept %d; want the same, 3 or more and fewer than 100", n, k)
		}
		noHidden(t, filepath.Dir(out))
	})

	t.Run("stopped", func(t *testing.T) {
		out := filepath.Join(dir, "stop", "s_%04d.png")
		os.Mkdir(filepath.Dir(out), 0o755)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := e.Transcode(ctx, vidstyle.Job{In: long, Out: out, Model: model, Temporal: new(0.0), Serial: true,
			OnFrame: func(n int64) {
				if n == 3 {
					cancel()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		n := len(pictures(t, out))
		if !res.Interrupted || n < 3 || n >= 100 || int64(n) != res.FileFrames {
			t.Errorf("stopped after 3: interrupted %v, %d pictures (result %d), want 3 to 99 kept", res.Interrupted, n, res.FileFrames)
		}
		noHidden(t, filepath.Dir(out))
	})
}
