package capture_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	rm "github.com/vidstyle/vidstyle/internal/realmedia"
)

// TestPicturesAreToldByTheirContent: files as people have them, made by
// ffmpeg from one picture: a JPEG saved as .jfif or with no extension, the
// still formats OpenCV reads, an AVIF photo (ffmpeg decodes it), and
// animations and videos under picture names. Each opens as what it is,
// the way a browser or ffmpeg's probe tells them apart, with the
// picture's pixels (lossy ones within a few levels).
func TestPicturesAreToldByTheirContent(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96", "-frames:v", "1", src)
	want := gocv.IMRead(src, gocv.IMReadColor)
	defer want.Close()
	anim := []string{"-f", "lavfi", "-i", "testsrc2=size=160x96:rate=10:duration=1"}
	for _, c := range []struct {
		name string
		make []string // ffmpeg arguments before the output
		// frames is what the source gives: 1 for a picture (KindImage).
		frames int
		// levels is the mean difference allowed from the source picture.
		levels float64
	}{
		{"photo.jfif", []string{"-i", src, "-f", "image2", "-c:v", "mjpeg", "-q:v", "2"}, 1, 6},
		{"photo", []string{"-i", src, "-f", "image2", "-c:v", "mjpeg", "-q:v", "2"}, 1, 6},
		{"PHOTO.JPE", []string{"-i", src, "-f", "image2", "-c:v", "mjpeg", "-q:v", "2"}, 1, 6},
		{"scan.bmp", []string{"-i", src}, 1, 0},
		{"scan.tiff", []string{"-i", src}, 1, 0},
		{"frame.ppm", []string{"-i", src}, 1, 0},
		{"print.jp2", []string{"-i", src, "-c:v", "jpeg2000", "-pred", "1"}, 1, 0},
		{"old.ras", []string{"-i", src, "-rle", "0"}, 1, 0},
		{"still.webp", []string{"-i", src, "-c:v", "libwebp", "-lossless", "1"}, 1, 0},
		{"one frame.apng", []string{"-i", src, "-f", "apng"}, 1, 0},
		{"photo.avif", []string{"-i", src, "-c:v", "libaom-av1", "-still-picture", "1", "-cpu-used", "8", "-crf", "10"}, 1, 6},
		{"anim.png", append(anim[:len(anim):len(anim)], "-f", "apng"), 10, -1},
		{"anim.apng", append(anim[:len(anim):len(anim)], "-f", "apng"), 10, -1},
		{"anim.gif", anim, 10, -1},
		// ffmpeg reads these, OpenCV does not: decoded by ffmpeg.
		{"game.tga", []string{"-i", src}, 1, 0},
		{"old.pcx", []string{"-i", src}, 1, 0},
		{"iris.sgi", []string{"-i", src}, 1, 0},
		{"quick.qoi", []string{"-i", src}, 1, 0},
		{"screen.xwd", []string{"-i", src}, 1, 0},
		{"photo.jxl", []string{"-i", src, "-c:v", "libjxl", "-distance", "0"}, 1, 0},
		{"render.exr", []string{"-i", src}, 1, -1},                                                   // linear light: not the source's levels
		{"camera.mjpeg", append(anim[:len(anim):len(anim)], "-c:v", "mjpeg", "-f", "mjpeg"), 10, -1}, // an IP camera's motion JPEG
		{"clip-named.jpg", append(anim[:len(anim):len(anim)], "-c:v", "libx264", "-preset", "ultrafast", "-f", "mp4"), 10, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			ffmpeg(t, append(c.make, p)...)
			if got := capture.IsStillImage(p); got != (c.frames == 1) {
				t.Errorf("IsStillImage %v, want %v", got, c.frames == 1)
			}
			s, err := capture.Open(p, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			pr := s.Props()
			if wantKind := map[bool]capture.Kind{true: capture.KindImage, false: capture.KindFile}[c.frames == 1]; pr.Kind != wantKind || pr.Width != 160 || pr.Height != 96 {
				t.Fatalf("kind %v %dx%d, want kind %v 160x96", pr.Kind, pr.Width, pr.Height, wantKind)
			}
			got := gocv.NewMat()
			defer got.Close()
			n := 0
			for ; n < 100; n++ {
				if _, err := s.Read(&got); err != nil {
					break
				}
				if n == 0 && c.levels >= 0 {
					diff := gocv.NewMat()
					gocv.AbsDiff(got, want, &diff)
					mean := diff.Mean()
					diff.Close()
					if d := (mean.Val1 + mean.Val2 + mean.Val3) / 3; d > c.levels+0.5 {
						t.Errorf("the picture is %.1f levels from the source on average, want at most %g", d, c.levels)
					}
				}
			}
			if n != c.frames {
				t.Errorf("%d frames, want %d", n, c.frames)
			}
		})
	}
}

// TestPicturesNothingHereDecodes: a HEIC photo (nothing here writes one:
// its file type box, as a phone writes it, is what it is told by) and an
// animated WebP give one line that says what the file is and what to do,
// not "cannot decode as video".
func TestPicturesNothingHereDecodes(t *testing.T) {
	dir := t.TempDir()
	heic := filepath.Join(dir, "IMG_0001.HEIC")
	if err := os.WriteFile(heic, append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 512)...), 0o644); err != nil {
		t.Fatal(err)
	}
	burst := filepath.Join(dir, "burst.heics")
	if err := os.WriteFile(burst, append([]byte("\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00msf1hevc"), make([]byte, 512)...), 0o644); err != nil {
		t.Fatal(err)
	}
	webp := filepath.Join(dir, "sticker.webp")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1", "-c:v", "libwebp_anim", webp)
	for p, want := range map[string]string{heic: "a HEIC/HEIF photo", burst: "a HEIF image sequence", webp: "an animated WebP"} {
		_, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if err == nil || !errors.Is(err, capture.ErrInput) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "convert it") {
			t.Errorf("%s: %v, want an input error naming %q and what to do", filepath.Base(p), err, want)
		}
		if e2 := capture.Undecodable(p); e2 == nil || e2.Error() != err.Error() {
			t.Errorf("%s: Undecodable says %v, Open %v", filepath.Base(p), e2, err)
		}
	}
}

// TestCMYK16TIFFIsRefused: a 16-bit CMYK TIFF (print work) is refused in
// one line that says what to do: OpenCV 4.6 cannot read it, and ffmpeg
// 5.1 reads it with its inks taken for red, green and blue (no ink, which
// is white, comes out black), which would be silent garbage.
func TestCMYK16TIFFIsRefused(t *testing.T) {
	const w, h = 64, 48
	p := rm.CMYK16TIFF(t, t.TempDir(), w, h)
	if m := gocv.IMRead(p, gocv.IMReadColor); !m.Empty() {
		m.Close()
		t.Fatal("OpenCV reads the file itself: the test shows nothing")
	} else {
		m.Close()
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-vf", "crop=1:1:0:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != 3 {
		t.Fatalf("ffmpeg: %v %q", err, out)
	}
	if c, m := rm.CMYK16At(w, h, 0, 0); c != 0 || m != 0 || out[0] > 200 {
		t.Logf("ffmpeg reads the corner without ink as RGB %v: the refusal may be lifted", out)
	}
	_, err = capture.Open(p, slog.New(slog.DiscardHandler))
	if err == nil || !errors.Is(err, capture.ErrInput) || !strings.Contains(err.Error(), "16-bit CMYK TIFF") || !strings.Contains(err.Error(), "save it as RGB") {
		t.Errorf("Open: %v, want an input error naming a 16-bit CMYK TIFF and what to do", err)
	}
	if !capture.IsStillImage(p) {
		t.Error("a TIFF is a picture")
	}
}

// A picture whose header claims more than OpenCV reads (a gigapixel):
// OpenCV throws, which gocv's IMRead lets through to abort the process.
// It is one error naming the size, whatever reader sees it: OpenCV's
// (PNG, BMP, PPM) or ffmpeg's (a Y4M video's frames).
func TestPictureTooBigIsOneError(t *testing.T) {
	dir := t.TempDir()
	be := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	chunk := func(typ string, data []byte) []byte {
		c := append(be(uint32(len(data))), typ...)
		c = append(c, data...)
		return append(c, be(crc32.ChecksumIEEE(append([]byte(typ), data...)))...)
	}
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	zw.Write(make([]byte, 64))
	zw.Close()
	png := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", append(append(be(60000), be(60000)...), 8, 2, 0, 0, 0))...)
	png = append(png, chunk("IDAT", idat.Bytes())...)
	png = append(png, chunk("IEND", nil)...)
	bmp := append([]byte("BM"), le(54+64)...)
	bmp = append(bmp, 0, 0, 0, 0)
	bmp = append(bmp, le(54)...)
	bmp = append(bmp, le(40)...)
	bmp = append(bmp, le(40000)...)
	bmp = append(bmp, le(40000)...)
	bmp = append(bmp, 1, 0, 24, 0)
	bmp = append(bmp, make([]byte, 24+64)...)
	for name, data := range map[string][]byte{
		"huge.png": png, "huge.bmp": bmp, "huge.ppm": []byte("P6\n50000 50000\n255\n\x00\x00\x00"),
		"huge.y4m": []byte("YUV4MPEG2 W60000 H60000 F25:1 C420jpeg\nFRAME\n\x00\x00\x00\x00"),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", name)
			continue
		}
		if !errors.Is(err, capture.ErrInput) || !strings.Contains(err.Error(), "bigger than vidstyle reads") && !strings.Contains(err.Error(), "too big for ffmpeg") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying it is too big", name, err)
		}
		if name == "huge.png" && !strings.Contains(err.Error(), "60000x60000") {
			t.Errorf("%s: %v does not name the size", name, err)
		}
	}
}

// A JPEG cut short is still read (OpenCV fills the rest grey) but says so;
// a whole one, and one with data after its end (a phone's motion photo)
// do not.
func TestCutJPEGWarns(t *testing.T) {
	dir := t.TempDir()
	data := noisePicture(t, gocv.JPEGFileExt)
	for name, c := range map[string]struct {
		data []byte
		warn bool
	}{
		"whole.jpg":  {data, false},
		"cut.jpg":    {data[:len(data)*6/10], true},
		"motion.jpg": {append(bytes.Clone(data), []byte("\x00\x00\x00\x18ftypmp42 and a video after the picture")...), false},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		s, err := capture.Open(p, slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.Close()
		if got := strings.Contains(log.String(), "is cut short"); got != c.warn {
			t.Errorf("%s: warned %v, want %v (log %q)", name, got, c.warn, log.String())
		}
	}
}

// TestCutPNGIsOneError: a PNG cut off inside a chunk (a download that
// stopped) is one error saying so, found before libpng prints a line of
// its own; one that lacks only its closing IEND chunk has all its pixels
// and opens.
func TestCutPNGIsOneError(t *testing.T) {
	dir := t.TempDir()
	data := noisePicture(t, gocv.PNGFileExt)
	for name, c := range map[string]struct {
		data []byte
		cut  bool
	}{
		"whole.png":   {data, false},
		"no-iend.png": {data[:len(data)-12], false},
		"cut.png":     {data[:len(data)*6/10], true},
		"header.png":  {data[:40], true},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if !c.cut {
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if p := s.Props(); p.Width != 320 || p.Height != 180 {
				t.Errorf("%s: %dx%d, want 320x180", name, p.Width, p.Height)
			}
			s.Close()
			continue
		}
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", name)
		} else if msg := err.Error(); !strings.Contains(msg, "is cut short (a PNG without its end") || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q, want one line saying it is cut short", name, msg)
		}
	}
}

// noisePicture is a 320x180 picture of random pixels, encoded as ext says.
func noisePicture(t *testing.T, ext gocv.FileExt) []byte {
	t.Helper()
	pic := gocv.NewMatWithSize(180, 320, gocv.MatTypeCV8UC3)
	defer pic.Close()
	gocv.RandU(&pic, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	buf, err := gocv.IMEncode(ext, pic)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}
