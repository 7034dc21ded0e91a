package realmedia

import (
	"bytes"
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
