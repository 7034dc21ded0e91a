package vidstyle

import (
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// keepAlpha runs a stylizer of BGR frames on BGRA ones (a video with
// transparency, capture.OpenOptions.Alpha): Prepare gives the stylizer the
// colour and keeps the alpha with the slot, and Finish puts that alpha
// beside the stylized colour, so the style paints the picture and the
// transparency stays the source's. A frame of three channels passes as it
// is. Each slot's Mats are made once (same size every frame).
type keepAlpha struct {
	pipeline.Stylizer[*gocv.Mat]
	bgr, alpha, out []gocv.Mat // by slot
	has             []bool     // the slot's frame had an alpha
}

func newKeepAlpha(s pipeline.Stylizer[*gocv.Mat]) *keepAlpha {
	n := s.Slots()
	k := &keepAlpha{Stylizer: s, has: make([]bool, n)}
	for _, m := range []*[]gocv.Mat{&k.bgr, &k.alpha, &k.out} {
		*m = make([]gocv.Mat, n)
		for i := range *m {
			(*m)[i] = gocv.NewMat()
		}
	}
	return k
}

// Prepare is the pipeline.Stylizer method.
func (k *keepAlpha) Prepare(slot int, src *gocv.Mat) error {
	if k.has[slot] = src.Channels() == 4; !k.has[slot] {
		return k.Stylizer.Prepare(slot, src)
	}
	gocv.CvtColor(*src, &k.bgr[slot], gocv.ColorBGRAToBGR)
	gocv.ExtractChannel(*src, &k.alpha[slot], 3)
	return k.Stylizer.Prepare(slot, &k.bgr[slot])
}

// Finish is the pipeline.Stylizer method.
func (k *keepAlpha) Finish(slot int, dst *gocv.Mat) error {
	if !k.has[slot] {
		return k.Stylizer.Finish(slot, dst)
	}
	if err := k.Stylizer.Finish(slot, &k.out[slot]); err != nil {
		return err
	}
	// The stylizer writes the frame's own size (stylize.Stylizer.Finish),
	// so the alpha fits as it is.
	gocv.CvtColor(k.out[slot], dst, gocv.ColorBGRToBGRA)
	gocv.InsertChannel(k.alpha[slot], dst, 3)
	return nil
}

// Close frees the slots' Mats (not the stylizer's).
func (k *keepAlpha) Close() {
	for _, ms := range [][]gocv.Mat{k.bgr, k.alpha, k.out} {
		for i := range ms {
			ms[i].Close()
		}
	}
}
