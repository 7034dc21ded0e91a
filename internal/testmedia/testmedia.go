// Package testmedia holds what the tests of several packages share: the
// sample clip that ships inside the gocv module, decoding a whole video, and
// PSNR. It is imported by tests only.
package testmedia

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
)

// SmallMP4 is gocv's images/small.mp4: 560x320, 30 fps, 166 frames, AAC.
func SmallMP4(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv").Output()
	if err != nil {
		t.Fatalf("locating the gocv module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "images", "small.mp4")
}

// DecodeAll reads every frame of a video as vidstyle does (capture.Open:
// ffmpeg, upright, the file's own colour matrix); the Mats are closed when
// the test ends.
func DecodeAll(t testing.TB, path string) []gocv.Mat {
	t.Helper()
	src, err := capture.Open(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var frames []gocv.Mat
	for range 1 << 20 {
		m := gocv.NewMat()
		if _, err := src.Read(&m); err != nil {
			m.Close()
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		frames = append(frames, m)
	}
	t.Cleanup(func() {
		for _, m := range frames {
			m.Close()
		}
	})
	return frames
}

// MeanAbsDiff is the mean |a − b| of two 8-bit images of one size, over
// every pixel and channel, in levels.
func MeanAbsDiff(a, b gocv.Mat) float64 {
	d := gocv.NewMat()
	defer d.Close()
	gocv.AbsDiff(a, b, &d)
	m := d.Mean()
	return (m.Val1 + m.Val2 + m.Val3 + m.Val4) / float64(max(1, a.Channels()))
}

// PSNR compares two continuous 8-bit images of one size, in dB (+Inf when
// equal).
func PSNR(a, b gocv.Mat) float64 {
	da, _ := a.DataPtrUint8()
	db, _ := b.DataPtrUint8()
	var sum float64
	for i := range da {
		d := float64(da[i]) - float64(db[i])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(len(da))))
}
