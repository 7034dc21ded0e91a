package realmedia

import "math"

// The picture of an indexed frame, in fractions of the frame so that it
// reads back after scaling and at any size:
//
//   - a grid of Cols cells across and Rows cells down (16×16 px at 320×180);
//   - the code: one row of CodeCells cells at grid row 1, columns 1 to 16 —
//     the start pattern white, white, black, then the 12 bits of the index,
//     most significant first (white is 1), then an even-parity bit;
//   - the marker: a solid white 2×2-cell square in the top-right corner
//     (columns 18–19, rows 0–1), nowhere else;
//   - a red patch (BGR 40,40,200) at columns 1–3, rows 8–10, to tell the
//     channel order;
//   - elsewhere a gentle horizontal grey gradient, 96 to 160.
//
// A reader tries the eight ways a picture can be turned or mirrored and
// keeps the one under which the marker and a valid code are where they
// were drawn; every cell must be clearly black or white (the grey
// background reads as garbage, not as a code).
const (
	Cols      = 20    // grid columns across the frame
	Rows      = 11.25 // grid rows down the frame (16-px cells at 320×180)
	Bits      = 12    // index bits: indices 0 to MaxIndex
	MaxIndex  = 1<<Bits - 1
	CodeCells = 3 + Bits + 1 // start pattern, bits, parity
)

var startPattern = [3]bool{true, true, false}

// bgrImage is a packed 8-bit BGR picture.
type bgrImage struct {
	w, h int
	pix  []byte // 3 bytes a pixel, rows packed
}

func (m bgrImage) at(x, y int) (b, g, r byte) {
	i := 3 * (y*m.w + x)
	return m.pix[i], m.pix[i+1], m.pix[i+2]
}

// cellRect is the pixel rectangle [x0,x1)×[y0,y1) of grid cells
// [c0,c1)×[r0,r1) in a w×h frame.
func cellRect(w, h int, c0, r0, c1, r1 float64) (x0, y0, x1, y1 int) {
	cw, ch := float64(w)/Cols, float64(h)/Rows
	return int(math.Round(c0 * cw)), int(math.Round(r0 * ch)), int(math.Round(c1 * cw)), int(math.Round(r1 * ch))
}

// codeBits is the cells of the code for index, white = true.
func codeBits(index int) [CodeCells]bool {
	var c [CodeCells]bool
	copy(c[:], startPattern[:])
	parity := false
	for i := range Bits {
		b := index>>(Bits-1-i)&1 == 1
		c[3+i] = b
		parity = parity != b
	}
	c[CodeCells-1] = parity
	return c
}

// drawFrame paints the indexed picture of frame index into a w×h BGR
// buffer.
func drawFrame(pix []byte, w, h, index int) {
	for y := range h {
		for x := range w {
			v := byte(96 + 64*x/max(w-1, 1))
			i := 3 * (y*w + x)
			pix[i], pix[i+1], pix[i+2] = v, v, v
		}
	}
	fill := func(c0, r0, c1, r1 float64, b, g, r byte) {
		x0, y0, x1, y1 := cellRect(w, h, c0, r0, c1, r1)
		for y := y0; y < y1 && y < h; y++ {
			for x := x0; x < x1 && x < w; x++ {
				i := 3 * (y*w + x)
				pix[i], pix[i+1], pix[i+2] = b, g, r
			}
		}
	}
	for i, white := range codeBits(index) {
		v := byte(0)
		if white {
			v = 255
		}
		fill(float64(1+i), 1, float64(2+i), 2, v, v, v)
	}
	fill(18, 0, 20, 2, 255, 255, 255)
	fill(1, 8, 4, Rows-0.25, 40, 40, 200)
}

// meanRect is the mean B, G, R of the middle half of grid cells
// [c0,c1)×[r0,r1) (the middle, so that ringing and chroma bleeding at the
// edges do not count).
func meanRect(m bgrImage, c0, r0, c1, r1 float64) (b, g, r float64) {
	qc, qr := (c1-c0)/4, (r1-r0)/4
	x0, y0, x1, y1 := cellRect(m.w, m.h, c0+qc, r0+qr, c1-qc, r1-qr)
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	n := 0
	for y := y0; y < y1 && y < m.h; y++ {
		for x := x0; x < x1 && x < m.w; x++ {
			pb, pg, pr := m.at(x, y)
			b, g, r = b+float64(pb), g+float64(pg), r+float64(pr)
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return b / float64(n), g / float64(n), r / float64(n)
}

func luma(b, g, r float64) float64 { return 0.114*b + 0.587*g + 0.299*r }

// Levels a cell must be beyond to count as black or white.
const (
	blackBelow = 70
	whiteAbove = 185
)

// readUpright decodes the code of an upright picture: the index, or -1
// when the marker or the code is not where it belongs.
func readUpright(m bgrImage) int {
	if luma(meanRect(m, 18, 0, 20, 2)) < whiteAbove {
		return -1
	}
	// The mirror images of the marker must not be white: with them white
	// the picture is not the one drawn (or not turned the way tried).
	for _, c := range [][4]float64{{0, Rows - 2, 2, Rows}, {18, Rows - 2, 20, Rows}} {
		if luma(meanRect(m, c[0], c[1], c[2], c[3])) > whiteAbove {
			return -1
		}
	}
	index, parity := 0, false
	for i := range CodeCells {
		l := luma(meanRect(m, float64(1+i), 1, float64(2+i), 2))
		var white bool
		switch {
		case l > whiteAbove:
			white = true
		case l < blackBelow:
			white = false
		default:
			return -1
		}
		switch {
		case i < 3:
			if white != startPattern[i] {
				return -1
			}
		case i < 3+Bits:
			index = index<<1 | b2i(white)
			parity = parity != white
		default:
			if white != parity {
				return -1
			}
		}
	}
	return index
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orientations are the eight ways a picture can come out: a clockwise
// turn, then (when mirrored) a left-right flip of the turned picture.
type orientation struct {
	turn   int // clockwise degrees the picture was turned: 0, 90, 180, 270
	mirror bool
}

// undo maps a seen picture back to the upright one it would be if it had
// been turned by o.
func (o orientation) undo(m bgrImage) bgrImage {
	src := m
	if o.mirror {
		f := bgrImage{w: m.w, h: m.h, pix: make([]byte, len(m.pix))}
		for y := range m.h {
			for x := range m.w {
				copy(f.pix[3*(y*m.w+x):3*(y*m.w+x)+3], m.pix[3*(y*m.w+m.w-1-x):3*(y*m.w+m.w-1-x)+3])
			}
		}
		src = f
	}
	if o.turn == 0 {
		return src
	}
	// Upright (u,v) of size uw×uh is seen at (x,y) after a clockwise turn.
	uw, uh := src.w, src.h
	if o.turn == 90 || o.turn == 270 {
		uw, uh = src.h, src.w
	}
	u := bgrImage{w: uw, h: uh, pix: make([]byte, 3*uw*uh)}
	for v := range uh {
		for x := range uw {
			var sx, sy int
			switch o.turn {
			case 90: // clockwise: upright (x,v) → seen (uh-1-v, x)
				sx, sy = uh-1-v, x
			case 180:
				sx, sy = uw-1-x, uh-1-v
			case 270:
				sx, sy = v, uw-1-x
			}
			copy(u.pix[3*(v*uw+x):3*(v*uw+x)+3], src.pix[3*(sy*src.w+sx):3*(sy*src.w+sx)+3])
		}
	}
	return u
}

// readAny finds how a picture was turned and decodes its code: the index
// and the clockwise turn, or -1, -1. A mirrored picture gives the index
// and turn -2 (mirrored), so that a test can tell it from garbage.
func readAny(m bgrImage) (index, turn int, upright bgrImage) {
	for _, mirror := range []bool{false, true} {
		for _, t := range []int{0, 90, 180, 270} {
			o := orientation{turn: t, mirror: mirror}
			u := o.undo(m)
			if i := readUpright(u); i >= 0 {
				if mirror {
					return i, Mirrored, u
				}
				return i, t, u
			}
		}
	}
	return -1, Unknown, bgrImage{}
}

// Rotations ReadIndices reports besides 0, 90, 180 and 270.
const (
	Unknown  = -1 // no valid code under any turn
	Mirrored = -2 // the code reads only in a mirror image
)
