package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"slices"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/media"
)

// What a picture's type says about its transparency.
type stillAlpha int

const (
	noAlpha       stillAlpha = iota
	straight                 // PNG, WebP, JPEG 2000: colour as it is, alpha beside it
	premultiplied            // TIFF: OpenCV's colour comes multiplied by the alpha (libtiff's RGBA reader), whatever the file says
	padded                   // BMP: a 32-bit one's fourth byte is often padding, all zero
)

// alphaKind tells by its first bytes (not its name: pictures are told by
// content) whether a picture's type can hold transparency that OpenCV
// reads.
func alphaKind(path string) stillAlpha {
	f, err := os.Open(path)
	if err != nil {
		return noAlpha
	}
	defer f.Close()
	b := make([]byte, 12)
	n, _ := f.Read(b)
	b = b[:n]
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG")), len(b) == 12 && string(b[:4]) == "RIFF" && string(b[8:]) == "WEBP",
		bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cjP  ")), bytes.HasPrefix(b, []byte("\xff\x4f\xff\x51")):
		return straight
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return premultiplied
	case bytes.HasPrefix(b, []byte("BM")):
		return padded
	}
	return noAlpha
}

// readAlpha fills dst with a picture's alpha channel (8-bit, turned
// upright as colour, which OpenCV read with the file's EXIF orientation
// applied, is) when it has one that is not opaque everywhere: RGBA, and
// grey with alpha. A TIFF's colour, which OpenCV gives premultiplied, is
// divided back by it. An alpha channel that cannot be matched to the
// colour is left out with a warning.
func readAlpha(ctx context.Context, path string, kind stillAlpha, colour, dst *gocv.Mat, log *slog.Logger) {
	all, err := imread(path, gocv.IMReadUnchanged, log)
	defer all.Close()
	if err == nil && !all.Empty() && all.Channels() == 3 && kind == padded && bmpAlphaMask(path) {
		// A BMP with an alpha mask (ffmpeg's bgra), whose alpha OpenCV
		// drops: ffmpeg reads it.
		a, err := media.ReadAlpha(ctx, "", media.FileArg(path), 0, colour.Cols(), colour.Rows())
		if err != nil {
			log.Warn(fmt.Sprintf("input %s: its transparency could not be read (%v): the picture is taken as opaque", path, err))
			return
		}
		if hi := slices.Max(a); hi > 0 {
			setAlpha(dst, a, colour.Cols(), colour.Rows())
		}
		return
	}
	if err == nil && !all.Empty() && all.Channels() != 4 && all.Channels() != 2 && kind == premultiplied {
		if g, ok := tiffGreyAlpha(path); ok {
			readGreyAlpha(ctx, path, g, colour, dst, log)
			return
		}
	}
	if err != nil || all.Empty() || all.Channels() != 4 && all.Channels() != 2 {
		return
	}
	planes := gocv.Split(all)
	defer func() {
		for i := range planes {
			planes[i].Close()
		}
	}()
	to8 := func(m gocv.Mat, out *gocv.Mat) {
		if m.Type()&7 == gocv.MatTypeCV16U {
			m.ConvertToWithParams(out, gocv.MatTypeCV8U, 1.0/257, 0) // 65535 is opaque
		} else {
			m.ConvertTo(out, gocv.MatTypeCV8U)
		}
	}
	alpha, stored := gocv.NewMat(), gocv.NewMat()
	defer alpha.Close()
	defer stored.Close()
	to8(planes[len(planes)-1], &alpha)
	if lo, hi, _, _ := gocv.MinMaxLoc(alpha); lo >= 255 || kind == padded && hi == 0 {
		return // opaque everywhere, or a BMP's padding: nothing to carry
	}
	// The stored colour, as 8-bit BGR, to find the turn OpenCV applied.
	if all.Channels() == 4 {
		bgr := gocv.NewMat()
		gocv.CvtColor(all, &bgr, gocv.ColorBGRAToBGR)
		to8(bgr, &stored)
		bgr.Close()
	} else {
		grey := gocv.NewMat()
		to8(planes[0], &grey)
		gocv.CvtColor(grey, &stored, gocv.ColorGrayToBGR)
		grey.Close()
	}
	turn, ok := findTurn(stored, *colour)
	var straightColour *gocv.Mat // a 16-bit TIFF's stored colour, when it is straight
	defer func() {
		if straightColour != nil {
			straightColour.Close()
		}
	}()
	if !ok && kind == premultiplied {
		// A 16-bit TIFF: OpenCV's raw read is straight, its colour read
		// premultiplied.
		c := stored.Clone()
		straightColour = &c
		premultiply(&stored, alpha)
		turn, ok = findTurn(stored, *colour)
	}
	if !ok {
		log.Warn(fmt.Sprintf("input %s: its transparency does not match its colour as read (an orientation vidstyle cannot tell): the picture is taken as opaque", path))
		return
	}
	dst.Close()
	*dst = gocv.NewMat()
	applyTurn(alpha, dst, turn)
	switch {
	case kind == premultiplied && straightColour != nil:
		applyTurn(*straightColour, colour, turn) // the file's own colour, exactly
	case kind == premultiplied:
		unpremultiply(colour, *dst)
	}
}

// readGreyAlpha fills dst with a grey-with-alpha TIFF's alpha, which
// OpenCV drops (it reads the grey alone): ffmpeg reads it at the stored
// size, unturned, and it is turned by the file's Orientation tag, as
// OpenCV turns the colour (with every flag, IMReadUnchanged too). An
// associated (premultiplied) grey is divided back by it.
func readGreyAlpha(ctx context.Context, path string, g tiffGrey, colour, dst *gocv.Mat, log *slog.Logger) {
	a, err := media.ReadAlpha(ctx, "", media.FileArg(path), 0, g.w, g.h)
	if err != nil {
		log.Warn(fmt.Sprintf("input %s: its transparency could not be read (%v): the picture is taken as opaque", path, err))
		return
	}
	if slices.Min(a) == 255 {
		return
	}
	alpha, err := gocv.NewMatFromBytes(g.h, g.w, gocv.MatTypeCV8U, a)
	if err != nil {
		return
	}
	defer alpha.Close()
	turned := gocv.NewMat()
	applyTurn(alpha, &turned, g.orientation-1)
	if turned.Cols() != colour.Cols() || turned.Rows() != colour.Rows() {
		turned.Close()
		log.Warn(fmt.Sprintf("input %s: its transparency does not match its colour as read (an orientation vidstyle cannot tell): the picture is taken as opaque", path))
		return
	}
	dst.Close()
	*dst = turned
	if g.assoc {
		unpremultiply(colour, *dst)
	}
}

// A tiffGrey is what tiffGreyAlpha reads of a grey TIFF with alpha: its
// stored size, its orientation (1 to 8) and whether its alpha is
// associated.
type tiffGrey struct {
	w, h, orientation int
	assoc             bool
}

// tiffGreyAlpha reports whether a TIFF's first image is grey with an
// alpha sample (two samples a pixel, black or white is zero, an extra
// sample that is alpha), and what it is.
func tiffGreyAlpha(path string) (g tiffGrey, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return g, false
	}
	defer f.Close()
	var head [2]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return g, false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[0] == 'M' {
		bo = binary.BigEndian
	}
	tags, found := tiffTags(f, bo)
	if !found {
		return g, false
	}
	or := func(tag uint16, missing int) int {
		if v, ok := tags[tag]; ok {
			return v
		}
		return missing
	}
	samples, photometric, extra := or(277, 1), or(262, -1), or(338, -1)
	g.w, g.h, g.orientation = tags[256], tags[257], or(274, 1)
	if g.orientation < 1 || g.orientation > 8 {
		g.orientation = 1
	}
	if samples != 2 || photometric != 0 && photometric != 1 || extra != 1 && extra != 2 || g.w <= 0 || g.h <= 0 {
		return g, false
	}
	g.assoc = extra == 1
	return g, true
}

// bmpAlphaMask reports whether a BMP is 32 bits a pixel with an alpha
// byte: one of BI_RGB, which browsers take as alpha unless every pixel's is
// zero (ffmpeg writes bgra so), or bit fields with an alpha mask
// (BITMAPV3INFOHEADER or later).
func bmpAlphaMask(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 70)
	if _, err := io.ReadFull(f, b); err != nil {
		return false
	}
	size := binary.LittleEndian.Uint32(b[14:])
	bpp := binary.LittleEndian.Uint16(b[28:])
	comp := binary.LittleEndian.Uint32(b[30:])
	return bpp == 32 && (comp == 0 || size >= 56 && (comp == 3 || comp == 6) && binary.LittleEndian.Uint32(b[66:]) != 0)
}

// The eight turns and flips EXIF orientations make (1 to 8).
var turns = []func(src gocv.Mat, dst *gocv.Mat){
	func(s gocv.Mat, d *gocv.Mat) { s.CopyTo(d) },
	func(s gocv.Mat, d *gocv.Mat) { gocv.Flip(s, d, 1) },
	func(s gocv.Mat, d *gocv.Mat) { gocv.Rotate(s, d, gocv.Rotate180Clockwise) },
	func(s gocv.Mat, d *gocv.Mat) { gocv.Flip(s, d, 0) },
	func(s gocv.Mat, d *gocv.Mat) { gocv.Transpose(s, d) },
	func(s gocv.Mat, d *gocv.Mat) { gocv.Rotate(s, d, gocv.Rotate90Clockwise) },
	func(s gocv.Mat, d *gocv.Mat) {
		t := gocv.NewMat()
		defer t.Close()
		gocv.Transpose(s, &t)
		gocv.Rotate(t, d, gocv.Rotate180Clockwise)
	},
	func(s gocv.Mat, d *gocv.Mat) { gocv.Rotate(s, d, gocv.Rotate90CounterClockwise) },
}

// findTurn finds which of the eight turns makes the stored picture the
// colour read (within a level on average: a 16-bit picture's reduction to
// 8 bits rounds apart).
func findTurn(stored, colour gocv.Mat) (int, bool) {
	t, diff := gocv.NewMat(), gocv.NewMat()
	defer t.Close()
	defer diff.Close()
	for i, turn := range turns {
		turn(stored, &t)
		if t.Cols() != colour.Cols() || t.Rows() != colour.Rows() || t.Type() != colour.Type() {
			continue
		}
		gocv.AbsDiff(t, colour, &diff)
		m := diff.Mean()
		if (m.Val1+m.Val2+m.Val3)/3 < 1 {
			return i, true
		}
	}
	return 0, false
}

func applyTurn(src gocv.Mat, dst *gocv.Mat, turn int) { turns[turn](src, dst) }

// premultiply multiplies BGR colour by its 8-bit alpha.
func premultiply(colour *gocv.Mat, alpha gocv.Mat) {
	c, err1 := colour.DataPtrUint8()
	a, err2 := alpha.DataPtrUint8()
	if err1 != nil || err2 != nil || len(c) != 3*len(a) {
		return
	}
	for i, v := range a {
		for j := 3 * i; j < 3*i+3; j++ {
			c[j] = byte((int(c[j])*int(v) + 127) / 255)
		}
	}
}

// unpremultiply divides BGR colour by its 8-bit alpha where the alpha is
// neither 0 nor 255.
func unpremultiply(colour *gocv.Mat, alpha gocv.Mat) {
	c, err1 := colour.DataPtrUint8()
	a, err2 := alpha.DataPtrUint8()
	if err1 != nil || err2 != nil || len(c) != 3*len(a) {
		return
	}
	for i, v := range a {
		if v == 0 || v == 255 {
			continue
		}
		for j := 3 * i; j < 3*i+3; j++ {
			c[j] = byte(min(255, (int(c[j])*255+int(v)/2)/int(v)))
		}
	}
}

// pictureSize reads a picture's size from its header: PNG, JPEG and GIF
// (Go's readers), WebP, TIFF and BMP. ok is false when it cannot.
func pictureSize(path string) (w, h int, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	b := make([]byte, 30)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	le := binary.LittleEndian
	switch {
	case n == 30 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		switch string(b[12:16]) {
		case "VP8X":
			return 1 + (int(b[24]) | int(b[25])<<8 | int(b[26])<<16), 1 + (int(b[27]) | int(b[28])<<8 | int(b[29])<<16), true
		case "VP8L":
			v := le.Uint32(b[21:])
			return int(v&0x3fff) + 1, int(v>>14&0x3fff) + 1, true
		case "VP8 ":
			return int(le.Uint16(b[26:]) & 0x3fff), int(le.Uint16(b[28:]) & 0x3fff), true
		}
		return 0, 0, false
	case n >= 26 && string(b[:2]) == "BM":
		switch size := le.Uint32(b[14:]); {
		case size == 12: // OS/2's BITMAPCOREHEADER: 16-bit sizes
			return int(le.Uint16(b[18:])), int(le.Uint16(b[20:])), true
		case size >= 40:
			w, h := int64(int32(le.Uint32(b[18:]))), int64(int32(le.Uint32(b[22:])))
			return int(max(w, -w)), int(max(h, -h)), true
		}
		return 0, 0, false
	case n >= 8 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*"):
		return tiffSize(f, b)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, false
	}
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, false
	}
	return cfg.Width, cfg.Height, true
}

// tiffSize reads tags 256 and 257 of a TIFF's first page.
func tiffSize(f io.ReaderAt, head []byte) (w, h int, ok bool) {
	var bo binary.ByteOrder = binary.LittleEndian
	if head[0] == 'M' {
		bo = binary.BigEndian
	}
	tags, ok := tiffTags(f, bo)
	w, h = tags[256], tags[257]
	return w, h, ok && w > 0 && h > 0
}
