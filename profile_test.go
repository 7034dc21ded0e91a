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

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testicc"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/media"
)

// TestColourProfileIsKept: a phone photo's colour profile (Display P3:
// its pixel values mean wider colours than sRGB's) is in the styled PNG,
// JPEG, WebP and TIFF, byte for byte, as ffmpeg's decoders find it, beside
// a PNG's transparency and with -strip-metadata too; a BMP, which holds
// none, gets one warning naming it (none for an sRGB profile, whose loss
// shows nothing); a picture sequence's profile is in every picture of an
// output sequence, and a video output says it is lost; a damaged profile
// is one warning and the picture is written without it. Before, every
// styled picture was untagged, so viewers showed a P3 photo's colours as
// sRGB, duller than the input's.
func TestColourProfileIsKept(t *testing.T) {
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
	tag := func(png, name string, icc []byte) string {
		t.Helper()
		b, err := os.ReadFile(png)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		if err := os.WriteFile(out, testicc.PNG(b, icc, "x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	p3 := testicc.Profile(testicc.Options{Name: "Display P3"})
	plain := filepath.Join(dir, "plain.png")
	ff("-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", plain)
	// The phone's JPEG, written by ffmpeg's encoder from a tagged PNG.
	photo := filepath.Join(dir, "photo.jpg")
	ff("-i", tag(plain, "p3.png", p3), photo)
	rgba := filepath.Join(dir, "rgba.png")
	ff("-f", "lavfi", "-i", "testsrc2=size=96x64,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*2'", "-frames:v", "1", rgba)
	transparent := tag(rgba, "p3-alpha.png", p3)
	srgb := tag(plain, "srgb.png", testicc.Profile(testicc.Options{Name: "sRGB IEC61966-2.1"}))
	damaged := tag(plain, "damaged.png", p3[:len(p3)-8])
	seqDir := filepath.Join(dir, "seq")
	os.Mkdir(seqDir, 0o755)
	for i := 1; i <= 3; i++ {
		ff("-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=96x64:rate=1:duration=%d", i), "-update", "1", "-frames:v", "1", filepath.Join(seqDir, "s.png"))
		tag(filepath.Join(seqDir, "s.png"), fmt.Sprintf("seq/in_%02d.png", i), p3)
	}
	os.Remove(filepath.Join(seqDir, "s.png"))

	var logs bytes.Buffer
	e := newEngine(t, vidstyle.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	run := func(t *testing.T, job vidstyle.Job) {
		t.Helper()
		logs.Reset()
		job.Model, job.Temporal = model, new(0.0)
		if _, err := e.Transcode(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	profileOf := func(t *testing.T, path string) []byte {
		t.Helper()
		if n := probedProfile(t, path); n == 0 {
			return nil
		}
		p, err := media.ReadProfile(path)
		if err != nil || p == nil {
			t.Fatalf("%s: ffmpeg finds a profile, ReadProfile %v, %v", path, p, err)
		}
		return p.Data
	}

	for _, ext := range []string{".png", ".jpg", ".webp", ".tif", ".jpeg", ".tiff"} {
		t.Run(ext, func(t *testing.T) {
			out := filepath.Join(dir, "styled"+ext)
			run(t, vidstyle.Job{In: photo, Out: out, StripMetadata: true})
			if got := profileOf(t, out); !bytes.Equal(got, p3) {
				t.Errorf("%s holds a profile of %d bytes, want the photo's %d", out, len(got), len(p3))
			}
			if strings.Contains(logs.String(), "colour profile") {
				t.Errorf("a line about the profile:\n%s", logs.String())
			}
		})
	}
	t.Run("with transparency", func(t *testing.T) {
		out := filepath.Join(dir, "alpha.png")
		run(t, vidstyle.Job{In: transparent, Out: out})
		if got := profileOf(t, out); !bytes.Equal(got, p3) {
			t.Errorf("a profile of %d bytes, want %d", len(got), len(p3))
		}
		if !probeAlpha(t, out) {
			t.Errorf("the transparency is lost")
		}
	})
	t.Run("bmp", func(t *testing.T) {
		run(t, vidstyle.Job{In: photo, Out: filepath.Join(dir, "p3.bmp")})
		if n := strings.Count(logs.String(), `the input's (\"Display P3\") is lost`); n != 1 {
			t.Errorf("%d warnings name the lost profile, want 1:\n%s", n, logs.String())
		}
		run(t, vidstyle.Job{In: srgb, Out: filepath.Join(dir, "srgb.bmp")})
		if strings.Contains(logs.String(), "colour profile") {
			t.Errorf("an sRGB profile's loss is said:\n%s", logs.String())
		}
	})
	t.Run("sequence", func(t *testing.T) {
		run(t, vidstyle.Job{In: filepath.Join(seqDir, "in_%02d.png"), Out: filepath.Join(seqDir, "out_%02d.webp")})
		for i := 1; i <= 3; i++ {
			if got := profileOf(t, filepath.Join(seqDir, fmt.Sprintf("out_%02d.webp", i))); !bytes.Equal(got, p3) {
				t.Errorf("picture %d holds a profile of %d bytes, want %d", i, len(got), len(p3))
			}
		}
		run(t, vidstyle.Job{In: filepath.Join(seqDir, "in_%02d.png"), Out: filepath.Join(dir, "seq.mp4")})
		if n := strings.Count(logs.String(), "a video keeps no colour profile"); n != 1 {
			t.Errorf("%d lines say the video loses the profile, want 1:\n%s", n, logs.String())
		}
	})
	t.Run("damaged", func(t *testing.T) {
		out := filepath.Join(dir, "damaged-out.png")
		run(t, vidstyle.Job{In: damaged, Out: out})
		if n := strings.Count(logs.String(), "its colour profile cannot be read"); n != 1 {
			t.Errorf("%d warnings about the damaged profile, want 1:\n%s", n, logs.String())
		}
		if got := profileOf(t, out); got != nil {
			t.Errorf("a damaged profile carried (%d bytes)", len(got))
		}
	})
}

// probedProfile is the size of the ICC profile ffmpeg's decoder finds in
// a picture, 0 for none.
func probedProfile(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_frames", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	// [SIDE_DATA] side_data_type=ICC profile, (name=…,) size=N [/SIDE_DATA]
	for _, block := range strings.Split(string(out), "[SIDE_DATA]")[1:] {
		block, _, _ = strings.Cut(block, "[/SIDE_DATA]")
		if !strings.Contains(block, "side_data_type=ICC profile\n") {
			continue
		}
		for _, l := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(l, "size="); ok {
				var n int
				fmt.Sscan(v, &n)
				return n
			}
		}
	}
	return 0
}
