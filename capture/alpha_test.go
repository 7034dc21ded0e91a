package capture_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/media"
)

// TestTransparencyOfAPictureOnlyFFmpegReads: a Targa and a QOI with
// alpha (formats OpenCV lacks, decoded by ffmpeg) carry their alpha
// plane, as a PNG does; an opaque one carries none.
func TestTransparencyOfAPictureOnlyFFmpegReads(t *testing.T) {
	dir := t.TempDir()
	const w, h = 64, 48
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(4 * x), G: uint8(5 * y), B: 90, A: uint8(x * 255 / (w - 1))})
		}
	}
	src := filepath.Join(dir, "a.png")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct {
		name   string
		args   []string
		opaque bool
	}{
		{"a.tga", []string{"-c:v", "targa"}, false},
		{"a.qoi", []string{"-c:v", "qoi"}, false},
		{"opaque.tga", []string{"-c:v", "targa", "-pix_fmt", "bgr24"}, true},
		// A palette (whose entries may have alpha): ffmpeg's alphaextract
		// takes none, and the picture got a warning that its
		// transparency could not be read.
		{"palette.tga", []string{"-c:v", "targa", "-pix_fmt", "pal8"}, true},
	} {
		p := filepath.Join(dir, c.name)
		ffmpeg(t, append(append([]string{"-i", src}, c.args...), p)...)
		var logs bytes.Buffer
		s, err := capture.Open(p, slog.New(slog.NewTextHandler(&logs, nil)))
		if strings.Contains(logs.String(), "WARN") {
			t.Errorf("%s: %s", c.name, logs.String())
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		as, ok := s.(capture.AlphaSource)
		if !ok {
			s.Close()
			t.Fatalf("%s: %T is no AlphaSource", c.name, s)
		}
		a := as.Alpha()
		switch {
		case c.opaque && a != nil:
			t.Errorf("%s: opaque, yet an alpha plane", c.name)
		case !c.opaque && a == nil:
			t.Errorf("%s: no alpha plane", c.name)
		case !c.opaque:
			if a.Cols() != w || a.Rows() != h {
				t.Errorf("%s: alpha %dx%d, want %dx%d", c.name, a.Cols(), a.Rows(), w, h)
				break
			}
			for _, x := range []int{0, 20, 40, w - 1} {
				if got, want := a.GetUCharAt(10, x), uint8(x*255/(w-1)); int(got)-int(want) > 1 || int(want)-int(got) > 1 {
					t.Errorf("%s: alpha at x=%d is %d, want %d", c.name, x, got, want)
				}
			}
		}
		s.Close()
	}
	// Resized, the picture and its alpha are scaled together.
	s, err := capture.Open(filepath.Join(dir, "a.tga"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := capture.Resize(s, w/2, h/2)
	defer r.Close()
	a := r.(capture.AlphaSource).Alpha()
	if a == nil || a.Cols() != w/2 || a.Rows() != h/2 {
		t.Fatalf("resized alpha %v, want %dx%d", a, w/2, h/2)
	}
	if got, want := a.GetUCharAt(5, w/4), uint8((w/2)*255/(w-1)); int(got)-int(want) > 6 || int(want)-int(got) > 6 {
		t.Errorf("resized alpha at the middle %d, want about %d", got, want)
	}
	m := gocv.NewMat()
	defer m.Close()
	if _, err := r.Read(&m); err != nil || m.Cols() != w/2 || m.Rows() != h/2 {
		t.Fatalf("resized frame %dx%d (%v), want %dx%d", m.Cols(), m.Rows(), err, w/2, h/2)
	}
}

// pngWithOrientation puts an eXIf chunk (EXIF orientation o) before a
// PNG's first IDAT.
func pngWithOrientation(t *testing.T, p []byte, o uint16) []byte {
	t.Helper()
	exif := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
	exif = binary.BigEndian.AppendUint16(exif, o)
	exif = append(exif, 0, 0, 0, 0, 0, 0)
	c := binary.BigEndian.AppendUint32(nil, uint32(len(exif)))
	c = append(append(c, "eXIf"...), exif...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	i := bytes.Index(p, []byte("IDAT")) - 4
	if i < 8 {
		t.Fatal("no IDAT")
	}
	return append(append(append([]byte{}, p[:i]...), c...), p[i:]...)
}

// TestTransparencyOfPicturesOpenCVReads: the alpha of a TIFF (8- and
// 16-bit), a BMP with an alpha mask, a JPEG 2000 and a PNG turned by its
// EXIF orientation comes with the picture, upright as its colour is, and
// the colour is the file's own (OpenCV gives a TIFF's premultiplied by
// the alpha: half as bright where it is 128); a 32-bit BMP whose fourth
// bytes are all zero (padding) is opaque. Before, the TIFFs' colour came
// out dark, and the others' alpha was dropped.
func TestTransparencyOfPicturesOpenCVReads(t *testing.T) {
	dir := t.TempDir()
	const w, h = 64, 48
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(4 * x), G: uint8(5 * y), B: 200, A: uint8(30 + x*3)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.png")
	if err := os.WriteFile(src, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	turned := filepath.Join(dir, "turned.png")
	if err := os.WriteFile(turned, pngWithOrientation(t, buf.Bytes(), 6), 0o600); err != nil {
		t.Fatal(err)
	}
	// want is src's colour (BGR) and alpha at (x, y) of the picture as
	// read, turned a quarter clockwise for orientation 6.
	want := func(x, y int, turn bool) (b, g, r, a uint8) {
		if turn {
			x, y = y, h-1-x
		}
		c := img.NRGBAAt(x, y)
		return c.B, c.G, c.R, c.A
	}
	cases := []struct {
		name string
		args []string
		turn bool
	}{
		{"rgba.tif", []string{"-pix_fmt", "rgba"}, false},
		{"rgba64.tif", []string{"-pix_fmt", "rgba64le"}, false},
		{"bgra.bmp", []string{"-pix_fmt", "bgra"}, false},
		{"rgba.jp2", []string{"-c:v", "libopenjpeg", "-pix_fmt", "rgba"}, false},
		{"turned.png", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := turned
			if !c.turn {
				p = filepath.Join(dir, c.name)
				ffmpeg(t, append(append([]string{"-i", src}, c.args...), p)...)
			}
			frame, a := readPicture(t, p)
			ww, hh := w, h
			if c.turn {
				ww, hh = h, w
			}
			if a == nil || a.Cols() != ww || a.Rows() != hh || frame.Cols() != ww || frame.Rows() != hh {
				t.Fatalf("frame %dx%d, alpha %v: want %dx%d with alpha", frame.Cols(), frame.Rows(), a, ww, hh)
			}
			worst := 0
			for y := 0; y < hh; y += 5 {
				for x := 0; x < ww; x += 5 {
					b, g, r, al := want(x, y, c.turn)
					v := frame.GetVecbAt(y, x)
					for i, d := range []int{int(v[0]) - int(b), int(v[1]) - int(g), int(v[2]) - int(r), int(a.GetUCharAt(y, x)) - int(al)} {
						if i < 3 && al < 60 {
							continue // dividing a premultiplied 8-bit colour by a small alpha rounds far
						}
						worst = max(worst, d, -d)
					}
				}
			}
			if worst > 2 {
				t.Errorf("colour or alpha up to %d levels from the file's", worst)
			}
		})
	}
	t.Run("padding.bmp", func(t *testing.T) {
		p := filepath.Join(dir, "padding.bmp")
		ffmpeg(t, "-i", src, "-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a=0", "-pix_fmt", "bgra", p)
		s, err := capture.Open(p, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if a := s.(capture.AlphaSource).Alpha(); a != nil {
			t.Errorf("a BMP whose fourth bytes are all zero has an alpha plane: it would be invisible")
		}
	})
	// Grey with alpha: OpenCV reads the grey alone.
	grey := filepath.Join(dir, "grey.png")
	ffmpeg(t, "-i", src, "-vf", "format=rgba,geq=r='r(X,Y)':g='r(X,Y)':b='r(X,Y)':a='alpha(X,Y)'", grey)
	for _, c := range []struct {
		name, pixFmt string
		assoc        bool
	}{{"ya8.tif", "ya8", false}, {"ya16.tif", "ya16le", false}, {"associated-ya8.tif", "ya8", true}} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			ffmpeg(t, "-i", grey, "-pix_fmt", c.pixFmt, "-compression_algo", "raw", p)
			if c.assoc {
				associate(t, p)
			}
			frame, a := readPicture(t, p)
			if a == nil || a.Cols() != w || a.Rows() != h {
				t.Fatalf("alpha %v: want %dx%d (the grey TIFF's alpha was dropped)", a, w, h)
			}
			worst := 0
			for y := 0; y < h; y += 5 {
				for x := 0; x < w; x += 5 {
					_, _, r, al := want(x, y, false)
					v := frame.GetVecbAt(y, x)
					for i, d := range []int{int(v[0]) - int(r), int(v[1]) - int(r), int(v[2]) - int(r), int(a.GetUCharAt(y, x)) - int(al)} {
						if i < 3 && al < 60 && c.assoc {
							continue
						}
						worst = max(worst, d, -d)
					}
				}
			}
			if worst > 2 {
				t.Errorf("grey or alpha up to %d levels from the file's", worst)
			}
		})
	}
}

// TestTransparencyOfTurnedGreyTIFFs: a grey-with-alpha TIFF's alpha,
// which ffmpeg reads as stored, is turned by its Orientation tag as OpenCV
// turns its grey (it was squashed into the turned size, or left unflipped).
func TestTransparencyOfTurnedGreyTIFFs(t *testing.T) {
	dir := t.TempDir()
	const w, h = 64, 32
	grey := func(x, y int) (g, a uint8) { return uint8(4 * x), uint8(20 + 2*x + 3*y) }
	for _, c := range []struct {
		orientation int
		// stored is where the picture's pixel (x, y), as shown, is stored.
		stored func(x, y int) (int, int)
	}{
		{3, func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }},
		{6, func(x, y int) (int, int) { return y, h - 1 - x }},
		{8, func(x, y int) (int, int) { return w - 1 - y, x }},
	} {
		t.Run(fmt.Sprint(c.orientation), func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprintf("o%d.tif", c.orientation))
			if err := os.WriteFile(p, greyAlphaTIFF(w, h, c.orientation, grey), 0o600); err != nil {
				t.Fatal(err)
			}
			frame, a := readPicture(t, p)
			ww, hh := w, h
			if c.orientation >= 5 {
				ww, hh = h, w
			}
			if a == nil || a.Cols() != ww || a.Rows() != hh || frame.Cols() != ww || frame.Rows() != hh {
				t.Fatalf("frame %dx%d, alpha %v: want %dx%d with alpha", frame.Cols(), frame.Rows(), a, ww, hh)
			}
			worst := 0
			for y := 0; y < hh; y += 3 {
				for x := 0; x < ww; x += 3 {
					g, al := grey(c.stored(x, y))
					d1, d2 := int(frame.GetVecbAt(y, x)[1])-int(g), int(a.GetUCharAt(y, x))-int(al)
					worst = max(worst, d1, -d1, d2, -d2)
				}
			}
			if worst > 2 {
				t.Errorf("grey or alpha up to %d levels from the file's", worst)
			}
		})
	}
}

// readPicture opens a picture and reads its frame (closed when the test
// ends) and its alpha (nil when opaque; the source's, closed with it).
func readPicture(t *testing.T, p string) (gocv.Mat, *gocv.Mat) {
	t.Helper()
	s, err := capture.Open(p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	frame := gocv.NewMat()
	t.Cleanup(func() { frame.Close() })
	if _, err := s.Read(&frame); err != nil {
		t.Fatal(err)
	}
	return frame, s.(capture.AlphaSource).Alpha()
}

// greyAlphaTIFF writes an uncompressed little-endian 8-bit grey TIFF
// with unassociated alpha and an Orientation tag.
func greyAlphaTIFF(w, h, orientation int, pix func(x, y int) (g, a uint8)) []byte {
	le := binary.LittleEndian
	type entry struct {
		tag, typ uint16
		value    uint32
	}
	const dataAt = 8 + 2 + 11*12 + 4
	entries := []entry{
		{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8 | 8<<16}, {259, 3, 1}, {262, 3, 1},
		{273, 4, dataAt}, {274, 3, uint32(orientation)}, {277, 3, 2}, {278, 4, uint32(h)},
		{279, 4, uint32(2 * w * h)}, {338, 3, 2},
	}
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		count := uint32(1)
		if e.tag == 258 {
			count = 2
		}
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, e.value)
	}
	b = le.AppendUint32(b, 0)
	for y := range h {
		for x := range w {
			g, a := pix(x, y)
			b = append(b, g, a)
		}
	}
	return b
}

// associate makes an uncompressed 8-bit grey-with-alpha TIFF of one strip
// (ffmpeg's, little-endian) premultiplied: its grey is multiplied by its
// alpha and ExtraSamples says associated alpha (1).
func associate(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	off := int(le.Uint32(b[4:]))
	strip, size := -1, -1
	for i := range int(le.Uint16(b[off:])) {
		e := b[off+2+12*i:]
		switch le.Uint16(e) {
		case 273:
			strip = int(le.Uint32(e[8:]))
		case 279:
			size = int(le.Uint32(e[8:]))
		case 338:
			le.PutUint16(e[8:], 1)
		}
		if n := le.Uint32(e[4:]); (le.Uint16(e) == 273 || le.Uint16(e) == 279) && n != 1 {
			t.Fatalf("%d strips: want one", n)
		}
	}
	if strip < 0 || size < 0 || strip+size > len(b) {
		t.Fatalf("no strip in %s", path)
	}
	for i := strip; i+1 < strip+size; i += 2 {
		b[i] = byte((int(b[i])*int(b[i+1]) + 127) / 255)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTransparencyLateInAClipOfNoLength: a WebM that says no length (a
// browser's MediaRecorder recording, one written to a pipe), transparent
// only in its last half second and longer than the whole-clip read
// budget, is read as transparent: its length is taken from its packets,
// and its start, places in it and its last second are read. Before, only
// its first 230 megapixels were, and the transparency was lost.
func TestTransparencyLateInAClipOfNoLength(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recording.webm")
	// 320x180 at 200 fps for 21 s: 4200 frames, 242 megapixels.
	enc := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i",
		"color=c=gray:s=320x180:r=200:d=20.5,format=yuva420p[a];color=c=gray@0.0:s=320x180:r=200:d=0.5,format=yuva420p[b];[a][b]concat=n=2:v=1",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", "-auto-alt-ref", "0", "-f", "webm", "-")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	enc.Stdout, enc.Stderr = out, &stderr
	if err := enc.Run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	out.Close()
	if info, err := media.Probe(context.Background(), "", path); err != nil || info.Duration > 0 || info.Video().Duration > 0 {
		t.Fatalf("the recording has a length (%v) or does not probe: %v", info, err)
	}
	src, err := capture.OpenWith(context.Background(), path, capture.OpenOptions{Alpha: capture.AlphaIfUsed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.Props().Alpha {
		t.Error("the transparency of the clip's last half second was not seen: read as opaque")
	}
}
