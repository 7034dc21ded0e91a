package stylize

// The two conversions between OpenCV's interleaved BGR bytes and the model's
// planar RGB float32 planes. They are plain loops over slices: no cgo, no
// allocation, and faster than cv::dnn::blobFromImage, which allocates a new
// blob per call (Pack and Unpack together take 1.3 ms per 640×360 frame on
// one core; see BENCHMARKS.md).

// Pack writes the w×h BGR image src (rows stride bytes apart) into the
// planar RGB planes dst (3 planes of pw×ph, pw ≥ w, ph ≥ h). Columns and rows
// past the image repeat its last column and row.
func Pack(dst []float32, pw, ph int, src []byte, w, h, stride int) {
	plane := pw * ph
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	for y := 0; y < ph; y++ {
		sy := min(y, h-1)
		row := src[sy*stride : sy*stride+3*w]
		o := y * pw
		rr, gg, bb := r[o:o+pw], g[o:o+pw], b[o:o+pw]
		for x := 0; x < w; x++ {
			px := row[3*x : 3*x+3]
			bb[x] = float32(px[0])
			gg[x] = float32(px[1])
			rr[x] = float32(px[2])
		}
		for x := w; x < pw; x++ {
			rr[x], gg[x], bb[x] = rr[w-1], gg[w-1], bb[w-1]
		}
	}
}

// Unpack writes the top-left w×h of the planar RGB planes src (pw×ph) into
// the BGR image dst (rows stride bytes apart), rounding to the nearest level
// and clamping to 0..255 (NaN becomes 0).
func Unpack(dst []byte, w, h, stride int, src []float32, pw, ph int) {
	plane := pw * ph
	r, g, b := src[:plane], src[plane:2*plane], src[2*plane:3*plane]
	for y := 0; y < h; y++ {
		o := y * pw
		rr, gg, bb := r[o:o+w], g[o:o+w], b[o:o+w]
		row := dst[y*stride : y*stride+3*w]
		for x := 0; x < w; x++ {
			px := row[3*x : 3*x+3]
			px[0] = toByte(bb[x])
			px[1] = toByte(gg[x])
			px[2] = toByte(rr[x])
		}
	}
}

func toByte(v float32) byte {
	v += 0.5
	if !(v >= 0) { // also NaN
		return 0
	}
	if v >= 255 {
		return 255
	}
	return byte(v)
}

// PadTo rounds n up to a multiple of m (m ≥ 1); the Johnson nets want 4,
// the stride of their two down-sampling convolutions.
func PadTo(n, m int) int { return (n + m - 1) / m * m }

// Layout is how a model takes its pixels, for PackWith and UnpackWith.
type Layout struct {
	NHWC   bool    // interleaved [H,W,3] instead of three planes
	BGR    bool    // channel order of the tensor
	Scale  float64 // tensor value = pixel × Scale + Offset
	Offset float64
}

// PackWith is Pack for any layout, channel order and value range.
func PackWith(dst []float32, pw, ph int, src []byte, w, h, stride int, l Layout) {
	scale, offset := float32(l.Scale), float32(l.Offset)
	ch := [3]int{2, 1, 0} // tensor channel c takes BGR byte ch[c]
	if l.BGR {
		ch = [3]int{0, 1, 2}
	}
	plane := pw * ph
	for y := 0; y < ph; y++ {
		row := src[min(y, h-1)*stride:]
		for x := 0; x < pw; x++ {
			px := row[3*min(x, w-1):]
			for c := 0; c < 3; c++ {
				v := float32(px[ch[c]])*scale + offset
				if l.NHWC {
					dst[(y*pw+x)*3+c] = v
				} else {
					dst[c*plane+y*pw+x] = v
				}
			}
		}
	}
}

// UnpackWith is Unpack for any layout, channel order and value range.
func UnpackWith(dst []byte, w, h, stride int, src []float32, pw, ph int, l Layout) {
	scale, offset := float32(1/l.Scale), float32(-l.Offset/l.Scale)
	ch := [3]int{2, 1, 0}
	if l.BGR {
		ch = [3]int{0, 1, 2}
	}
	plane := pw * ph
	for y := 0; y < h; y++ {
		row := dst[y*stride:]
		for x := 0; x < w; x++ {
			px := row[3*x:]
			for c := 0; c < 3; c++ {
				var v float32
				if l.NHWC {
					v = src[(y*pw+x)*3+c]
				} else {
					v = src[c*plane+y*pw+x]
				}
				px[ch[c]] = toByte(v*scale + offset)
			}
		}
	}
}
