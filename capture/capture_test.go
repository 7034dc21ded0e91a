package capture_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/pipeline"
)

func TestRateFromFloat(t *testing.T) {
	cases := []struct {
		fps  float64
		want pipeline.Rate
	}{
		{30, pipeline.Rate{Num: 30, Den: 1}},
		{30000.0 / 1001, pipeline.Rate{Num: 30000, Den: 1001}},
		{24000.0 / 1001, pipeline.Rate{Num: 24000, Den: 1001}},
		{60000.0 / 1001, pipeline.Rate{Num: 60000, Den: 1001}},
		{25, pipeline.Rate{Num: 25, Den: 1}},
		{12.5, pipeline.Rate{Num: 25, Den: 2}},
		{15.0 / 1.001, pipeline.Rate{Num: 15000, Den: 1001}},
		{0, pipeline.Rate{}},
	}
	for _, c := range cases {
		if got := capture.RateFromFloat(c.fps); got != c.want {
			t.Errorf("RateFromFloat(%v) = %v, want %v", c.fps, got, c.want)
		}
	}
}

func TestReadSmallMP4(t *testing.T) {
	src, err := capture.Open(testmedia.SmallMP4(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.Props()
	if p.Kind != capture.KindFile || p.Width != 560 || p.Height != 320 || p.Rate != (pipeline.Rate{Num: 30, Den: 1}) || p.Frames != 166 {
		t.Fatalf("props %+v", p)
	}
	m := gocv.NewMat()
	defer m.Close()
	var n int64
	last := int64(-1)
	for {
		tm, err := src.Read(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if tm.Index != n || int64(tm.PTS) <= last || m.Cols() != 560 || m.Type() != gocv.MatTypeCV8UC3 {
			t.Fatalf("frame %d: timing %+v, %dx%d", n, tm, m.Cols(), m.Rows())
		}
		last = int64(tm.PTS)
		n++
	}
	if n != 166 {
		t.Fatalf("read %d frames, want 166", n)
	}
}

func TestTruncatedFileWarnsAndEndsCleanly(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "faststart.mp4")
	// Index first (as a web download would have it), then cut the data.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", testmedia.SmallMP4(t), "-c", "copy", "-movflags", "+faststart", full).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, _ := os.ReadFile(full)
	cut := filepath.Join(dir, "cut.mp4")
	os.WriteFile(cut, data[:len(data)/2], 0o644)

	var logs bytes.Buffer
	src, err := capture.Open(cut, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := gocv.NewMat()
	defer m.Close()
	var n int64
	for {
		if _, err := src.Read(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if n == 0 || n >= 166 {
		t.Fatalf("read %d frames from half a file", n)
	}
	want := fmt.Sprintf("keeping the %d frames it decoded", n)
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("log %q, want %q", logs.String(), want)
	}
}

func TestImageSourceYieldsOneFrame(t *testing.T) {
	src, err := capture.Open(filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if p := src.Props(); p.Kind != capture.KindImage || p.Width != 640 || p.Height != 480 {
		t.Fatalf("props %+v", p)
	}
	m := gocv.NewMat()
	defer m.Close()
	if _, err := src.Read(&m); err != nil || m.Cols() != 640 {
		t.Fatalf("first read: %v", err)
	}
	if _, err := src.Read(&m); !errors.Is(err, io.EOF) {
		t.Fatalf("second read: %v, want EOF", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(text, []byte("this is not a video\n"), 0o644)
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	badImage := filepath.Join(dir, "broken.png")
	os.WriteFile(badImage, []byte("not a png"), 0o644)
	fifo := filepath.Join(dir, "stream.ts")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ spec, want string }{
		{fifo, "is a pipe: vidstyle reads a file twice"}, // and does not wait for a writer
		{"/dev/null", "is a device"},
		{filepath.Join(dir, "missing.mp4"), "no such file"},
		{dir, "is a directory"},
		{empty, "is an empty file"},
		{text, "cannot decode as video"},
		{badImage, "not an image OpenCV or ffmpeg can read"},
		{"cam:97", "camera 97: cannot open"},
	}
	for _, c := range cases {
		src, err := capture.Open(c.spec, slog.New(slog.DiscardHandler))
		if err == nil {
			src.Close()
			t.Errorf("%s: no error", c.spec)
			continue
		}
		if !errors.Is(err, capture.ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want %q", c.spec, err, c.want)
		}
	}
}

func TestBareNumberIsACameraOnlyWithoutSuchFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if _, err := capture.Open("98", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "camera 98") {
		t.Fatalf("bare 98 without a file: err = %v, want a camera error", err)
	}
	os.WriteFile("98", []byte("text"), 0o644)
	if _, err := capture.Open("98", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "cannot decode as video") {
		t.Fatalf("bare 98 with a file: err = %v, want the file opened as video", err)
	}
}

// TestImageSequence: a printf pattern whose first image (0 to 4) exists
// is a video; the pattern alone, other uses of %, and a file that is
// really named with a %d are not.
func TestImageSequence(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"img_001.png", "img_002.png", "real%03d.png", "shot_0005.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name             string
		pattern, isVideo bool
	}{
		{"img_%03d.png", true, true},
		{"img_%3d.png", true, true},    // ffmpeg pads with zeros either way: img_001.png
		{"img_%d.png", true, false},    // "img_1.png"
		{"real%03d.png", true, false},  // a file of that name
		{"shot_%04d.jpg", true, false}, // starts at 5: ffmpeg looks at 0 to 4 only
		{"none_%03d.png", true, false},
		{"img_%03d.mp4", false, false},
		{"100%.png", false, false},
		{"a%d_%d.png", false, false},
		{"img_001.png", false, false},
	} {
		p := filepath.Join(dir, c.name)
		if got := capture.ImageSequencePattern(p); got != c.pattern {
			t.Errorf("ImageSequencePattern(%s) = %v", c.name, got)
		}
		if got := capture.IsImageSequence(p); got != c.isVideo {
			t.Errorf("IsImageSequence(%s) = %v", c.name, got)
		}
		image := !c.isVideo && !strings.HasSuffix(c.name, ".mp4")
		if got := capture.IsImagePath(p); got != image {
			t.Errorf("IsImagePath(%s) = %v: a sequence is a video, an image name an image", c.name, got)
		}
	}
}

// An AVI cut short keeps the duration its header claims; when the video
// stops before it with ffmpeg complaining of damage, it is a cut
// (Truncated: the writer does not pad it to the claimed end with its last
// picture), even when the gap is under the half second a complete file
// may fall short of its container's end.
func TestCutAVIIsTruncated(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.avi")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine",
		"-t", "3", "-c:v", "mpeg4", "-c:a", "mp3", full).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, _ := os.ReadFile(full)
	cut := filepath.Join(dir, "cut.avi")
	os.WriteFile(cut, data[:len(data)*6/10], 0o644)
	src, err := capture.Open(cut, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := gocv.NewMat()
	defer m.Close()
	n := 0
	var last time.Duration
	for {
		tm, err := src.Read(&m)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		n, last = n+1, tm.PTS
	}
	tr, ok := src.(capture.Truncation)
	if !ok {
		t.Fatalf("%T is no Truncation", src)
	}
	t.Logf("%d frames to %v of a claimed %v", n, last, src.Props().End)
	if n == 0 || n >= 75 || !tr.Truncated() {
		t.Errorf("%d frames, truncated %v: want fewer than 75 and a cut", n, tr.Truncated())
	}
}
