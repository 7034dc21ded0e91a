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
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// alphaClip makes a 10-frame 96x64 video with transparency, as ffmpeg
// writes one from a pattern whose alpha is a moving ramp with a fully
// transparent and a fully opaque band: codec args after the input.
func alphaClip(t *testing.T, path string, args ...string) {
	t.Helper()
	in := []string{"-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
		"testsrc2=size=96x64:rate=10:duration=1,format=rgba," +
			"geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,16),0,if(gt(X,80),255,clip(3*(X-16)+20*N,0,255)))'"}
	if out, err := exec.Command("ffmpeg", append(in, append(args, path)...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// decodeBGRA decodes every frame of path as BGRA bytes (libvpx for VP9,
// whose alpha ffmpeg's own decoder leaves out), at w×h.
func decodeBGRA(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	args := []string{"-v", "error", "-nostdin"}
	if strings.HasSuffix(path, ".webm") || strings.HasSuffix(path, ".mkv") {
		if out, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).Output(); strings.HasPrefix(string(out), "vp9") {
			args = append(args, "-c:v", "libvpx-vp9")
		}
	}
	args = append(args, "-i", path, "-f", "rawvideo", "-pix_fmt", "bgra", "pipe:1")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	n := w * h * 4
	if len(out)%n != 0 {
		t.Fatalf("%s: %d bytes, not whole %dx%d frames", path, len(out), w, h)
	}
	var frames [][]byte
	for i := 0; i < len(out); i += n {
		frames = append(frames, out[i:i+n])
	}
	return frames
}

// channelDiff is the mean and largest absolute difference of channel c
// (0..3: B, G, R, A) between two BGRA frames.
func channelDiff(a, b []byte, c int) (mean float64, most int) {
	sum := 0
	for i := c; i < len(a); i += 4 {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		sum += d
		most = max(most, d)
	}
	return float64(sum) / float64(len(a)/4), most
}

// TestVideoTransparencyIsKept: a video with transparency (QuickTime
// Animation, ProRes 4444, VP9 with alpha, a PNG sequence) through a real
// job keeps its alpha where the output can hold it: a pass-through model at
// CRF 0 into .mov (QuickTime Animation) and .mkv (FFV1) gives every BGRA
// byte back; ProRes 4444 and VP9 with alpha keep the alpha within a level
// or two; a neural style repaints the colour and leaves the alpha exact;
// -resize scales the alpha with the picture; a GIF's one-bit alpha is on
// where the source's is at least half; an .mp4 is written opaque with one
// warning saying so. An alpha channel opaque all through is written as
// H.264 like any video (ProRes 4444 with -alpha keep), and -alpha drop
// writes H.264 with no warning. Before, every output was opaque.
func TestVideoTransparencyIsKept(t *testing.T) {
	dir := t.TempDir()
	identity := filepath.Join(dir, "identity.onnx")
	if err := os.WriteFile(identity, testmodels.IdentityGraph(), 0o600); err != nil {
		t.Fatal(err)
	}
	qtrle := filepath.Join(dir, "anim.mov")
	alphaClip(t, qtrle, "-c:v", "qtrle")
	prores := filepath.Join(dir, "prores.mov")
	alphaClip(t, prores, "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le")
	vp9 := filepath.Join(dir, "vp9.webm")
	alphaClip(t, vp9, "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", "10", "-b:v", "0", "-deadline", "realtime")
	seq := filepath.Join(dir, "seq_%03d.png")
	alphaClip(t, seq)
	// An alpha channel opaque all through, as screen captures and PNG in
	// MOV often have.
	opaqueAlpha := filepath.Join(dir, "opaque-alpha-source.mov")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1,format=rgba", "-c:v", "png", opaqueAlpha).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	// One opaque but for a lossy coder's noise: 254 here and there, as a
	// canvas recorded by Chromium's MediaRecorder (VP8 with alpha) has.
	nearlyOpaque := filepath.Join(dir, "nearly-opaque-source.mov")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(mod(X*7+Y*13+N,97),3),254,255)'", "-c:v", "png", nearlyOpaque).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	// A GIF with transparency (a sticker, an emote): one bit.
	gif := filepath.Join(dir, "sticker.gif")
	alphaClip(t, gif, "-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse")
	src := decodeBGRA(t, qtrle, 96, 64)
	if len(src) != 10 {
		t.Fatalf("source: %d frames", len(src))
	}
	if m, _ := channelDiff(src[0], src[5], 3); m < 10 {
		t.Fatalf("the source's alpha hardly moves (%.1f): the test cannot tell frames apart", m)
	}

	for _, c := range []struct {
		in, out, model string
		crf            *int
		resize         string
		// The largest mean difference allowed in colour and alpha
		// (-1: the alpha must be gone), and whether they must be exact.
		colour, alpha float64
		exact         bool
		warned        bool
		// binary: the alpha is on or off (a GIF's), on where the source's
		// is at least half.
		binary bool
		mode   string // Job.Alpha
		codec  string // the output's video codec, when it matters
	}{
		{in: qtrle, out: "lossless.mov", model: identity, crf: new(0), exact: true},
		{in: qtrle, out: "lossless.mkv", model: identity, crf: new(0), exact: true},
		{in: qtrle, out: "prores.mov", model: identity, colour: 1.5, alpha: 0.75},
		// 4:2:0 chroma on this sharp, saturated pattern costs about 9
		// levels of colour on its worst frame, opaque or not (the .mp4).
		{in: qtrle, out: "vp9.webm", model: identity, colour: 14, alpha: 1},
		{in: qtrle, out: "vp9.mkv", model: identity, colour: 14, alpha: 1},
		{in: prores, out: "from-prores.mov", model: identity, crf: new(0), colour: 1.5, alpha: 0.75},
		{in: vp9, out: "from-vp9.mov", model: identity, crf: new(0), colour: 14, alpha: 1},
		{in: seq, out: "from-png-sequence.mov", model: identity, crf: new(0), exact: true},
		{in: qtrle, out: "toon.mov", model: "toon", crf: new(0), colour: -1},
		{in: qtrle, out: "half.mov", model: identity, crf: new(0), resize: "48x32", colour: 3, alpha: 3},
		{in: qtrle, out: "opaque.mp4", model: identity, alpha: -1, colour: 14, warned: true},
		{in: qtrle, out: "anim.gif", model: identity, binary: true, colour: 20},
		{in: qtrle, out: "lossless.webm", model: identity, crf: new(0), alpha: -1, exact: false, colour: 0.01, warned: true},
		{in: gif, out: "from-gif.mov", model: identity, crf: new(0), exact: true},
		{in: qtrle, out: "dropped.mov", model: identity, mode: "drop", alpha: -1, colour: 14, codec: "h264"},
		// An alpha channel that hides nothing: written as other video is,
		// unless asked to keep it.
		{in: opaqueAlpha, out: "opaque-alpha.mov", model: identity, alpha: -1, colour: 14, codec: "h264"},
		{in: opaqueAlpha, out: "opaque-alpha-kept.mov", model: identity, mode: "keep", colour: 1.5, alpha: 0.75, codec: "prores"},
		{in: nearlyOpaque, out: "nearly-opaque.mov", model: identity, alpha: -1, colour: 14, codec: "h264"},
		{in: nearlyOpaque, out: "nearly-opaque.mp4", model: identity, alpha: -1, colour: 14},
	} {
		t.Run(c.out, func(t *testing.T) {
			var logs bytes.Buffer
			e := newEngine(t, vidstyle.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
			out := filepath.Join(dir, c.out)
			job := vidstyle.Job{In: c.in, Out: out, Model: c.model, CRF: c.crf, Alpha: c.mode, Temporal: new(0.0), Audio: "none"}
			if c.resize != "" {
				var err error
				if job.Resize, err = vidstyle.ParseSize(c.resize); err != nil {
					t.Fatal(err)
				}
			}
			if c.in == seq {
				job.Framerate = "10"
			}
			if _, err := e.Transcode(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(logs.String(), "is a video with transparency"); n != map[bool]int{true: 1}[c.warned] {
				t.Errorf("%d warnings of transparency, want warned=%v:\n%s", n, c.warned, logs.String())
			}
			w, h := 96, 64
			want := src
			if c.in == opaqueAlpha || c.in == nearlyOpaque || c.in == gif {
				want = decodeBGRA(t, c.in, w, h)
			}
			if c.resize != "" {
				w, h = 48, 32
				want = decodeBGRA(t, scaled(t, qtrle, dir, w, h), w, h)
			}
			got := decodeBGRA(t, out, w, h)
			if len(got) != len(want) {
				t.Fatalf("%d frames, want %d", len(got), len(want))
			}
			var colour, alpha float64
			var mostAlpha int
			for i := range got {
				for ch := range 3 {
					m, _ := channelDiff(got[i], want[i], ch)
					colour = max(colour, m)
				}
				m, most := channelDiff(got[i], want[i], 3)
				alpha, mostAlpha = max(alpha, m), max(mostAlpha, most)
				if c.exact && !bytes.Equal(got[i], want[i]) {
					t.Errorf("frame %d: the BGRA bytes differ from the source's (colour %.2f, alpha %.2f)", i, colour, m)
				}
			}
			t.Logf("worst frame: colour %.2f, alpha %.2f (at most %d)", colour, alpha, mostAlpha)
			if c.codec != "" {
				b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", out).Output()
				if got := strings.TrimSpace(string(b)); err != nil || got != c.codec {
					t.Errorf("codec %q (%v), want %q", got, err, c.codec)
				}
			}
			switch {
			case c.binary:
				wrong, n := 0, 0
				for i := range got {
					for j := 3; j < len(got[i]); j += 4 {
						on := want[i][j] >= 128
						if got[i][j] != map[bool]byte{false: 0, true: 255}[on] {
							wrong++
						}
						n++
					}
				}
				if wrong > n/100 {
					t.Errorf("%d of %d pixels' one-bit alpha is not the source's alpha at half", wrong, n)
				}
				// The colour where it shows (a transparent pixel's is the
				// palette's transparent entry).
				sum, shown := 0, 0
				for i := range got {
					for j := 0; j < len(got[i]); j += 4 {
						if got[i][j+3] == 255 {
							for ch := range 3 {
								d := int(got[i][j+ch]) - int(want[i][j+ch])
								sum += max(d, -d)
							}
							shown++
						}
					}
				}
				colour = float64(sum) / float64(3*max(shown, 1))
				t.Logf("colour where the GIF shows a pixel: %.2f", colour)
			case c.alpha < 0:
				if probeAlpha(t, out) {
					t.Errorf("the output has an alpha channel")
				}
				if _, most := channelDiff(got[0], want[0], 3); most == 0 && c.in != opaqueAlpha {
					t.Errorf("the output's alpha equals the source's, yet the output is opaque")
				}
			case c.exact:
			default:
				if alpha > c.alpha {
					t.Errorf("alpha off by %.2f on a frame (at most %d), want at most %.2f", alpha, mostAlpha, c.alpha)
				}
			}
			switch {
			case c.colour < 0:
				// A style: the picture repainted, the alpha the source's.
				if colour < 10 {
					t.Errorf("the style changed the colour by %.2f only", colour)
				}
				if alpha != 0 {
					t.Errorf("a style changed the alpha by %.2f (at most %d): it should stay the source's", alpha, mostAlpha)
				}
			case !c.exact && colour > c.colour:
				t.Errorf("colour off by %.2f on a frame, want at most %.2f", colour, c.colour)
			}
		})
	}

	// A still picture keeps its transparency but with -alpha drop.
	still := filepath.Join(dir, "still.png")
	alphaClip(t, still, "-frames:v", "1")
	es := newEngine(t, vidstyle.Config{})
	for _, c := range []struct {
		mode     string
		channels int
	}{{"", 4}, {"keep", 4}, {"drop", 3}} {
		out := filepath.Join(dir, "still-"+c.mode+".png")
		if _, err := es.Transcode(context.Background(), vidstyle.Job{In: still, Out: out, Model: identity, Alpha: c.mode}); err != nil {
			t.Fatal(err)
		}
		m := gocv.IMRead(out, gocv.IMReadUnchanged)
		if m.Channels() != c.channels {
			t.Errorf("a still picture with -alpha %q: %d channels, want %d", c.mode, m.Channels(), c.channels)
		}
		m.Close()
	}

	// Keeping it where it cannot be kept is a usage error, before any
	// model is looked at; so is an -alpha of another kind, for a picture
	// too.
	e := newEngine(t, vidstyle.Config{})
	for _, c := range []struct{ out, mode, want string }{
		{"k.mp4", "keep", "-alpha keep: an MP4 cannot hold transparency"},
		{"k.webm", "keep", "lossless VP9 has no transparency"},
		{"k.mov", "sometimes", `-alpha "sometimes": use auto, keep or drop`},
		{"k.png", "yes", `-alpha "yes": use auto, keep or drop`},
	} {
		job := vidstyle.Job{In: qtrle, Out: filepath.Join(dir, c.out), Model: "no-such-model.onnx", Alpha: c.mode}
		if c.out == "k.png" {
			job.In = still
		}
		if c.out == "k.webm" {
			job.CRF = new(0)
		}
		tr, err := e.Open(context.Background(), job)
		if err == nil {
			tr.Close()
		}
		if err == nil || !vidstyle.IsUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-alpha %s into %s: %v, want a usage error with %q", c.mode, c.out, err, c.want)
		}
	}
}

// scaled is path's video scaled to w×h by ffmpeg (bicubic, as vidstyle
// scales up; area down), losslessly, to compare a resized output with.
func scaled(t *testing.T, path, dir string, w, h int) string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("scaled-%dx%d.mov", w, h))
	if b, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-i", path, "-vf", fmt.Sprintf("scale=%d:%d:flags=area", w, h), "-c:v", "qtrle", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// probeAlpha reports whether path's video stream carries transparency, as
// ffprobe tells it (the pixel format, or VP9's alpha_mode tag).
func probeAlpha(t *testing.T, path string) bool {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt:stream_tags=alpha_mode", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	s := strings.TrimSpace(string(out))
	return strings.Contains(s, "a") && (strings.HasPrefix(s, "yuva") || strings.HasPrefix(s, "argb") || strings.HasPrefix(s, "bgra") || strings.HasPrefix(s, "rgba") || strings.HasPrefix(s, "gbrap")) || strings.HasSuffix(s, ",1")
}
