package realmedia

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// AlphaPNG writes a w×h PNG with an alpha channel into dir: the indexed
// picture of frame 0 (so its colours are known), fully transparent in the
// right third (where the colour stored is a noisy pattern a viewer never
// sees), and a left-to-right ramp from opaque to transparent in the
// bottom quarter of the rest. It returns the path.
func AlphaPNG(t testing.TB, dir string, w, h int) string {
	t.Helper()
	pix := make([]byte, 3*w*h)
	drawFrame(pix, w, h, 0)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := 3 * (y*w + x)
			c := color.NRGBA{R: pix[i+2], G: pix[i+1], B: pix[i], A: AlphaAt(w, h, x, y)}
			if c.A == 0 {
				c.R, c.G, c.B = byte(x*37), byte(y*91), byte((x^y)*13)
			}
			img.SetNRGBA(x, y, c)
		}
	}
	p := filepath.Join(dir, "alpha.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// AlphaAt is the alpha AlphaPNG gives pixel (x,y) of a w×h image.
func AlphaAt(w, h, x, y int) uint8 {
	switch {
	case x >= 2*w/3:
		return 0
	case y >= 3*h/4:
		return uint8(255 - 255*x/(2*w/3))
	}
	return 255
}

// ReadPNG decodes a PNG into non-premultiplied RGBA, whatever its colour
// type, and says whether the file has an alpha channel (colour type grey
// + alpha or RGBA, or a tRNS chunk).
func ReadPNG(t testing.TB, path string) (img *image.NRGBA, hasAlpha bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 33 || string(data[1:4]) != "PNG" {
		t.Fatalf("realmedia: %s is not a PNG", path)
	}
	hasAlpha = data[25] == 4 || data[25] == 6 || bytes.Contains(data, []byte("tRNS"))
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("realmedia: decoding %s: %v", path, err)
	}
	if n, ok := m.(*image.NRGBA); ok {
		return n, hasAlpha
	}
	img = image.NewNRGBA(m.Bounds())
	draw.Draw(img, img.Bounds(), m, m.Bounds().Min, draw.Src)
	return img, hasAlpha
}

// HugeJPEG writes a w×h grey JPEG (6000×4000 for the memory-estimate
// test) into dir with ffmpeg, which makes it in well under a second.
func HugeJPEG(t testing.TB, dir string, w, h int) string {
	t.Helper()
	Tools(t)
	p := filepath.Join(dir, "huge.jpg")
	FFmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("color=c=gray:s=%dx%d", w, h), "-frames:v", "1", "-q:v", "5", p)
	return p
}

// CMYK16TIFF writes a w×h 16-bit CMYK TIFF (uncompressed, one strip), as
// print workflows save photos, and returns its path: cyan rises from left
// to right, magenta from top to bottom, no yellow or black. OpenCV 4.6
// cannot read 16-bit CMYK; ffmpeg can. CMYK16At is its colour.
func CMYK16TIFF(t testing.TB, dir string, w, h int) string {
	t.Helper()
	const entries, ifd = 10, 8
	bps := ifd + 2 + entries*12 + 4
	data := bps + 8
	b := make([]byte, data+w*h*8)
	le := binary.LittleEndian
	copy(b, "II")
	le.PutUint16(b[2:], 42)
	le.PutUint32(b[4:], ifd)
	le.PutUint16(b[ifd:], entries)
	put := func(i int, tag, typ uint16, val uint32) {
		e := b[ifd+2+12*i:]
		le.PutUint16(e, tag)
		le.PutUint16(e[2:], typ)
		count := uint32(1)
		if tag == 258 {
			count = 4
		}
		le.PutUint32(e[4:], count)
		if typ == 3 && count == 1 {
			le.PutUint16(e[8:], uint16(val))
		} else {
			le.PutUint32(e[8:], val)
		}
	}
	const short, long = 3, 4
	for i, e := range []struct {
		tag, typ uint16
		val      uint32
	}{
		{256, long, uint32(w)}, {257, long, uint32(h)}, {258, short, uint32(bps)}, {259, short, 1},
		{262, short, 5}, {273, long, uint32(data)}, {277, short, 4}, {278, long, uint32(h)},
		{279, long, uint32(w * h * 8)}, {284, short, 1},
	} {
		put(i, e.tag, e.typ, e.val)
	}
	for i := range 4 {
		le.PutUint16(b[bps+2*i:], 16)
	}
	for y := range h {
		for x := range w {
			c, m := CMYK16At(w, h, x, y)
			p := b[data+8*(y*w+x):]
			le.PutUint16(p, c)
			le.PutUint16(p[2:], m)
		}
	}
	path := filepath.Join(dir, "print.tif")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// CMYK16At is the cyan and magenta of CMYK16TIFF's pixel (x, y).
func CMYK16At(w, h, x, y int) (c, m uint16) {
	return uint16(65535 * x / max(w-1, 1)), uint16(65535 * y / max(h-1, 1))
}
