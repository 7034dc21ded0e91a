package testmedia

import (
	"image"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

// Noise is a w×h picture of channels (1 or 3) 8-bit channels, each value
// drawn uniformly from 0..max-1 by r.
//
// Tests use it instead of OpenCV's RandU: OpenCV keeps one generator per OS
// thread, each starting from the same state, so two "different" noises made
// on two threads (a goroutine moves between threads freely) can come out
// the same, and a test that needs them to differ fails now and then.
func Noise(tb testing.TB, w, h, channels, max int, r *rand.Rand) gocv.Mat {
	tb.Helper()
	typ := gocv.MatTypeCV8UC3
	if channels == 1 {
		typ = gocv.MatTypeCV8UC1
	}
	px := make([]byte, w*h*channels)
	for i := range px {
		px[i] = byte(r.IntN(max))
	}
	m, err := gocv.NewMatFromBytes(h, w, typ, px)
	if err != nil {
		tb.Fatalf("noise %dx%d: %v", w, h, err)
	}
	return m
}

// Texture is a smooth random picture of w×h with channels (1 or 3)
// channels: noise from a generator seeded by seed, blurred at σ 2 and
// stretched to 0..255. Equal seeds give equal pictures.
func Texture(tb testing.TB, w, h, channels int, seed uint64) gocv.Mat {
	tb.Helper()
	noise := Noise(tb, w, h, channels, 256, rand.New(rand.NewPCG(seed, 3)))
	defer noise.Close()
	out := gocv.NewMat()
	gocv.GaussianBlur(noise, &out, image.Pt(0, 0), 2, 2, gocv.BorderReflect101)
	gocv.Normalize(out, &out, 0, 255, gocv.NormMinMax)
	return out
}
