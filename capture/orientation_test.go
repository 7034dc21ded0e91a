package capture_test

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// withOrientation puts an EXIF APP1 segment with one tag, Orientation o,
// after a JPEG's SOI (as a phone's camera writes it).
func withOrientation(jpeg []byte, o uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))...)
	return append(append(out, seg...), jpeg[2:]...)
}

// TestImageSequenceOfTurnedPhotos: a numbered sequence of a phone's JPEGs
// whose EXIF turns them a quarter (orientations 5 to 8; 2 to 4 keep the
// size) gives upright frames of the turned size, each the picture that
// opening it alone gives (and ffmpeg shows). Before, the frames had the
// stored size: the upright picture squashed into it.
func TestImageSequenceOfTurnedPhotos(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.jpg")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96", "-frames:v", "1", "-q:v", "2", base)
	jpeg, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, o := range []uint16{3, 5, 6, 7, 8} {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			sub := filepath.Join(dir, fmt.Sprint(o))
			os.Mkdir(sub, 0o755)
			for i := 1; i <= 2; i++ {
				if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("p_%d.jpg", i)), withOrientation(jpeg, o), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			one, err := capture.Open(filepath.Join(sub, "p_1.jpg"), log)
			if err != nil {
				t.Fatal(err)
			}
			defer one.Close()
			seq, err := capture.Open(filepath.Join(sub, "p_%d.jpg"), log)
			if err != nil {
				t.Fatal(err)
			}
			defer seq.Close()
			w, h := 160, 96
			if o >= 5 {
				w, h = 96, 160
			}
			if p := seq.Props(); p.Width != w || p.Height != h {
				t.Fatalf("the sequence is %dx%d, want %dx%d", p.Width, p.Height, w, h)
			}
			a, b := gocv.NewMat(), gocv.NewMat()
			defer a.Close()
			defer b.Close()
			if _, err := one.Read(&a); err != nil {
				t.Fatal(err)
			}
			if _, err := seq.Read(&b); err != nil {
				t.Fatal(err)
			}
			if a.Cols() != w || a.Rows() != h || b.Cols() != w || b.Rows() != h {
				t.Fatalf("frames %dx%d (picture) and %dx%d (sequence), want %dx%d", a.Cols(), a.Rows(), b.Cols(), b.Rows(), w, h)
			}
			if d := testmedia.MeanAbsDiff(a, b); d > 4 { // libjpeg and ffmpeg upsample chroma apart: about 1.7
				t.Errorf("the sequence's first frame is %.2f levels from the picture opened alone, want under 4 (a squashed or turned picture is tens)", d)
			}
			ff := firstFrameByFFmpeg(t, filepath.Join(sub, "p_1.jpg"), w, h)
			defer ff.Close()
			if d := testmedia.MeanAbsDiff(ff, b); d > 1 {
				t.Errorf("the sequence's first frame is %.2f levels from ffmpeg's picture, want under 1", d)
			}
		})
	}
}
