package stylize

import (
	"sync/atomic"

	"gocv.io/x/gocv"
)

// Controls are the settings a set of styles takes while frames flow,
// shared by every style of the set: a frame prepared after a change is
// painted with it. Safe from any goroutine.
type Controls struct {
	keepColors atomic.Bool
}

// SetKeepColors turns colour preservation on or off: the stylized frame's
// luminance with the source's own chroma (YCrCb), the technique of Gatys
// et al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer").
func (c *Controls) SetKeepColors(on bool) { c.keepColors.Store(on) }

// KeepColors says whether colour preservation is on.
func (c *Controls) KeepColors() bool { return c != nil && c.keepColors.Load() }

// keepColors gives styled (BGR) the chroma of src, the source frame in
// YCrCb (OpenCV's, BT.601 full range), and keeps styled's luminance Y. Where
// the source's chroma cannot be shown at that Y (the colour would leave
// the RGB cube, and clipping it in RGB would shift its hue: measured on
// small.mp4 with toon, 2.9 levels of Cb), Y moves to the nearest level
// where it can: the chroma stays the source's, and the luminance the
// style's wherever the colour allows (most pixels).
func keepColors(styled, src *gocv.Mat) {
	out, _ := styled.DataPtrUint8()
	c, _ := src.DataPtrUint8()
	KeepColors(out, c)
}

// KeepColors is keepColors on the bytes: out BGR, src YCrCb, of one size,
// both continuous.
func KeepColors(out, src []byte) {
	for i := 0; i+2 < len(out) && i+2 < len(src); i += 3 {
		b, g, r := float32(out[i]), float32(out[i+1]), float32(out[i+2])
		y := 0.299*r + 0.587*g + 0.114*b
		cr, cb := float32(src[i+1])-128, float32(src[i+2])-128
		dr, dg, db := 1.403*cr, -0.714*cr-0.344*cb, 1.773*cb
		lo := max(-dr, -dg, -db, 0)
		hi := min(255-dr, 255-dg, 255-db, 255)
		y = max(lo, min(hi, y))
		out[i] = level(y + db)
		out[i+1] = level(y + dg)
		out[i+2] = level(y + dr)
	}
}

// level rounds v to the nearest byte, clamped.
func level(v float32) byte {
	v += 0.5
	if !(v >= 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return byte(v)
}
