// Package eval measures how much a stylized video flickers against its
// source: the temporal warping error of Lai et al. 2018 ("Learning Blind
// Video Temporal Consistency") with the occlusion and motion-boundary masks
// of Ruder et al. 2016 ("Artistic style transfer for videos").
//
// For each pair of frames t−1, t the optical flow of the grey input is
// computed both ways (Farneback, gocv's; deliberately not the DIS flow the
// stabiliser uses, so that a stabiliser is not judged by its own flow). The
// output at t−1 is warped onto t along the backward flow (bilinear), and the
// pixels that leave the frame, fail the forward–backward check
// |F+G̃|² > 0.01(|F|²+|G̃|²)+0.5, or sit on motion boundaries
// |∇F|² > 0.01|F|²+0.002 are dropped. E_warp is the mean over frame pairs
// of the per-channel mean squared difference (RGB in 0..1) over the pixels
// kept. The same measure on the input is the floor: what real motion,
// noise and the flow's own mistakes cost before any style.
package eval

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/flow"
)

// ErrFrame means the frames given do not fit (size, type, empty).
var ErrFrame = errors.New("eval: frame")

// Config tunes an Evaluator.
type Config struct {
	// NoFlow measures with zero flow: the plain difference of consecutive
	// frames. The self-test uses it to show what the flow removes.
	NoFlow bool
}

// Result is what an evaluation measured. Levels are 0..255 per channel.
type Result struct {
	// Frames is the frames compared; Pairs the consecutive pairs.
	Frames int `json:"frames"`
	Pairs  int `json:"pairs"`
	Width  int `json:"width"`
	Height int `json:"height"`
	// EWarp is the output's warping error; Floor the input's.
	EWarp float64 `json:"e_warp"`
	Floor float64 `json:"e_warp_floor"`
	// Valid is the mean fraction of pixels the masks keep.
	Valid float64 `json:"valid_fraction"`
	// StaticFlicker is the mean |O_t − O_{t−1}| in levels over the pixels
	// whose flow is under 0.5 px; StaticFlickerInput the same on the input.
	StaticFlicker      float64 `json:"static_flicker"`
	StaticFlickerInput float64 `json:"static_flicker_input"`
	// Texture is the output's mean Laplacian energy (grey, 0..255 levels).
	Texture float64 `json:"texture"`
	// Structure is the mean correlation, frame by frame, of the edges
	// (grey gradient magnitude at about 96 px wide) of the input and the
	// output, over the frames where both have edges (not a black intro or
	// a fade's end; 1 when none has): a style repaints the tones but keeps
	// the edges, so an output made from this input measures well above an
	// unrelated video (RelatedStructure is the bar).
	Structure float64 `json:"structure"`

	// With a reference output (e.g. the same style without
	// stabilisation):
	HasRef bool `json:"has_ref"`
	// RefEWarp, RefStaticFlicker and RefTexture are the reference's.
	RefEWarp         float64 `json:"ref_e_warp,omitempty"`
	RefStaticFlicker float64 `json:"ref_static_flicker,omitempty"`
	RefTexture       float64 `json:"ref_texture,omitempty"`
	// Reduction is 1 − EWarp/RefEWarp (0.6: 60 % less warping error).
	Reduction float64 `json:"reduction,omitempty"`
	// TextureKept is Texture/RefTexture.
	TextureKept float64 `json:"texture_kept,omitempty"`
	// Deviation is the mean |O_t − R_t| in levels; DeviationMoving the
	// same over pixels whose flow is 0.5 px or more.
	Deviation       float64 `json:"deviation,omitempty"`
	DeviationMoving float64 `json:"deviation_moving,omitempty"`
}

// Frame is one time step: the source, the output to judge and, optionally,
// a reference output. All of one size, BGR (CV_8UC3).
type Frame struct {
	In, Out gocv.Mat
	Ref     *gocv.Mat
}

// Evaluator accumulates the measures frame by frame. It owns its Mats;
// Close frees them.
type Evaluator struct {
	cfg  Config
	w, h int
	n    int // frames added

	greyPrev, greyCur gocv.Mat // CV_8UC1
	fwd, bwd          gocv.Mat // CV_32FC2: t−1→t and t→t−1
	maps, fwdWarped   gocv.Mat // CV_32FC2
	noMap             gocv.Mat
	warped            gocv.Mat // CV_8UC3
	lap, greyOut      gocv.Mat
	small, dx, dy     gocv.Mat // for the edge correlation
	edges             [2]gocv.Mat
	valid             []float32
	prev              [3]gocv.Mat // in, out, ref at t−1

	sum struct {
		eOut, eIn, eRef, valid             float64
		static, staticIn, staticRef        float64
		tex, texRef, dev, devMoving        float64
		structure                          float64
		structured                         int // frames where both have edges
		staticPairs, devPairs, movingPairs int
	}
}

// New makes an Evaluator.
func New(cfg Config) *Evaluator {
	e := &Evaluator{cfg: cfg, noMap: gocv.NewMat()}
	for _, m := range []*gocv.Mat{&e.greyPrev, &e.greyCur, &e.fwd, &e.bwd, &e.maps, &e.fwdWarped, &e.warped, &e.lap, &e.greyOut, &e.prev[0], &e.prev[1], &e.prev[2], &e.small, &e.dx, &e.dy, &e.edges[0], &e.edges[1]} {
		*m = gocv.NewMat()
	}
	return e
}

// Close frees the Evaluator's Mats.
func (e *Evaluator) Close() error {
	for _, m := range []*gocv.Mat{&e.greyPrev, &e.greyCur, &e.fwd, &e.bwd, &e.maps, &e.fwdWarped, &e.noMap, &e.warped, &e.lap, &e.greyOut, &e.prev[0], &e.prev[1], &e.prev[2], &e.small, &e.dx, &e.dy, &e.edges[0], &e.edges[1]} {
		if m.Ptr() != nil {
			m.Close()
		}
	}
	return nil
}

// Add takes the next frame.
func (e *Evaluator) Add(f Frame) error {
	if f.In.Empty() || f.Out.Empty() || f.In.Type() != gocv.MatTypeCV8UC3 || f.Out.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("%w: input and output must be BGR frames", ErrFrame)
	}
	if e.n == 0 {
		e.w, e.h = f.Out.Cols(), f.Out.Rows()
		e.valid = make([]float32, e.w*e.h)
	}
	hasRef := f.Ref != nil
	if e.n > 0 && hasRef != (e.prev[2].Cols() > 0) {
		return fmt.Errorf("%w: a reference for some frames only", ErrFrame)
	}
	for _, m := range []*gocv.Mat{&f.In, &f.Out, f.Ref} {
		if m != nil && (m.Cols() != e.w || m.Rows() != e.h || m.Type() != gocv.MatTypeCV8UC3) {
			return fmt.Errorf("%w: a %dx%d frame where %dx%d BGR was expected", ErrFrame, m.Cols(), m.Rows(), e.w, e.h)
		}
		if m != nil && !m.IsContinuous() {
			// The measures read the pixels as one run of bytes.
			return fmt.Errorf("%w: a frame not stored in one run (a region of a wider Mat): copy it first", ErrFrame)
		}
	}
	gocv.CvtColor(f.In, &e.greyCur, gocv.ColorBGRToGray)
	gocv.CvtColor(f.Out, &e.greyOut, gocv.ColorBGRToGray)
	gocv.Laplacian(e.greyOut, &e.lap, gocv.MatTypeCV32F, 1, 1, 0, gocv.BorderReplicate)
	e.sum.tex += energy(e.lap)
	e.edgesOf(e.greyCur, &e.edges[0])
	e.edgesOf(e.greyOut, &e.edges[1])
	if r, ok := correlation(e.edges[0], e.edges[1]); ok {
		e.sum.structure += r
		e.sum.structured++
	}
	if hasRef {
		gocv.CvtColor(*f.Ref, &e.greyOut, gocv.ColorBGRToGray)
		gocv.Laplacian(e.greyOut, &e.lap, gocv.MatTypeCV32F, 1, 1, 0, gocv.BorderReplicate)
		e.sum.texRef += energy(e.lap)
	}
	if e.n > 0 {
		if err := e.pair(f); err != nil {
			return err
		}
	}
	f.In.CopyTo(&e.prev[0])
	f.Out.CopyTo(&e.prev[1])
	if hasRef {
		f.Ref.CopyTo(&e.prev[2])
	}
	e.greyPrev, e.greyCur = e.greyCur, e.greyPrev
	e.n++
	return nil
}

// pair measures frames t−1 (kept) and t (f).
func (e *Evaluator) pair(f Frame) error {
	w, h := e.w, e.h
	if e.cfg.NoFlow {
		for _, m := range []*gocv.Mat{&e.fwd, &e.bwd} {
			if m.Cols() != w || m.Rows() != h {
				m.Close()
				*m = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), h, w, gocv.MatTypeCV32FC2)
			}
		}
	} else {
		// Farneback: 3 levels of halving, 15 px windows, 3 iterations,
		// degree-5 polynomials (σ 1.2): OpenCV's suggested settings.
		gocv.CalcOpticalFlowFarneback(e.greyPrev, e.greyCur, &e.fwd, 0.5, 3, 15, 3, 5, 1.2, 0)
		gocv.CalcOpticalFlowFarneback(e.greyCur, e.greyPrev, &e.bwd, 0.5, 3, 15, 3, 5, 1.2, 0)
	}
	if e.maps.Cols() != w || e.maps.Rows() != h {
		e.maps.Close()
		e.maps = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	}
	b, err := e.bwd.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	mp, _ := e.maps.DataPtrFloat32()
	flow.Sources(mp, b, w, h)
	gocv.Remap(e.fwd, &e.fwdWarped, &e.maps, &e.noMap, gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	ft, _ := e.fwdWarped.DataPtrFloat32()
	kept := flow.Mask(e.valid, b, ft, w, h)
	e.sum.valid += float64(kept) / float64(w*h)
	moving := func(i int) bool { return b[2*i]*b[2*i]+b[2*i+1]*b[2*i+1] >= 0.25 }

	e.sum.eIn += e.warpError(f.In, e.prev[0])
	e.sum.eOut += e.warpError(f.Out, e.prev[1])
	sIn, okIn := staticDiff(f.In, e.prev[0], moving)
	sOut, _ := staticDiff(f.Out, e.prev[1], moving)
	if okIn {
		e.sum.staticIn += sIn
		e.sum.static += sOut
		e.sum.staticPairs++
	}
	if f.Ref != nil {
		e.sum.eRef += e.warpError(*f.Ref, e.prev[2])
		if okIn {
			s, _ := staticDiff(*f.Ref, e.prev[2], moving)
			e.sum.staticRef += s
		}
		all, _ := meanAbsDiff(f.Out, *f.Ref, func(int) bool { return true })
		e.sum.dev += all
		e.sum.devPairs++
		if mv, ok := meanAbsDiff(f.Out, *f.Ref, moving); ok {
			e.sum.devMoving += mv
			e.sum.movingPairs++
		}
	}
	return nil
}

// warpError warps prev onto cur along the backward flow and returns the
// per-channel mean squared difference over the valid pixels, in 0..1.
func (e *Evaluator) warpError(cur, prev gocv.Mat) float64 {
	gocv.Remap(prev, &e.warped, &e.maps, &e.noMap, gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	a, _ := cur.DataPtrUint8()
	p, _ := e.warped.DataPtrUint8()
	var sum float64
	n := 0
	for i, ok := range e.valid {
		if ok == 0 {
			continue
		}
		for c := range 3 {
			d := float64(a[3*i+c]) - float64(p[3*i+c])
			sum += d * d
		}
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / (3 * float64(n) * 255 * 255)
}

// staticDiff is the mean |cur − prev| in levels over the pixels that do
// not move; false when none is static.
func staticDiff(cur, prev gocv.Mat, moving func(int) bool) (float64, bool) {
	return meanAbsDiff(cur, prev, func(i int) bool { return !moving(i) })
}

// meanAbsDiff is the mean |a − b| in levels over the pixels where keep
// holds; false when it holds nowhere.
func meanAbsDiff(a, b gocv.Mat, keep func(int) bool) (float64, bool) {
	x, _ := a.DataPtrUint8()
	y, _ := b.DataPtrUint8()
	var sum float64
	n := 0
	for i := range len(x) / 3 {
		if !keep(i) {
			continue
		}
		for c := range 3 {
			sum += math.Abs(float64(x[3*i+c]) - float64(y[3*i+c]))
		}
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / (3 * float64(n)), true
}

// edgesOf is grey's gradient magnitude at about 96 px wide (CV_32F): the
// outlines of things, not the brush strokes a style adds at full size.
func (e *Evaluator) edgesOf(grey gocv.Mat, dst *gocv.Mat) {
	w := min(96, grey.Cols())
	h := max(1, (grey.Rows()*w+grey.Cols()/2)/grey.Cols())
	gocv.Resize(grey, &e.small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	gocv.Sobel(e.small, &e.dx, gocv.MatTypeCV32F, 1, 0, 3, 1, 0, gocv.BorderReplicate)
	gocv.Sobel(e.small, &e.dy, gocv.MatTypeCV32F, 0, 1, 3, 1, 0, gocv.BorderReplicate)
	gocv.Magnitude(e.dx, e.dy, dst)
}

// correlation is Pearson's r of two CV_32F Mats of one size; false when
// either is flat.
func correlation(a, b gocv.Mat) (float64, bool) {
	x, _ := a.DataPtrFloat32()
	y, _ := b.DataPtrFloat32()
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		p, q := float64(x[i]), float64(y[i])
		sx, sy, sxx, syy, sxy = sx+p, sy+q, sxx+p*p, syy+q*q, sxy+p*q
	}
	n := float64(len(x))
	vx, vy := sxx-sx*sx/n, syy-sy*sy/n
	if vx <= 1e-6*n || vy <= 1e-6*n {
		return 0, false
	}
	return (sxy - sx*sy/n) / math.Sqrt(vx*vy), true
}

// energy is the mean square of a CV_32F Mat.
func energy(m gocv.Mat) float64 {
	v, _ := m.DataPtrFloat32()
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s / float64(max(len(v), 1))
}

// Result is what was measured so far.
func (e *Evaluator) Result() Result {
	r := Result{Frames: e.n, Pairs: max(e.n-1, 0), Width: e.w, Height: e.h, HasRef: e.prev[2].Cols() > 0}
	if e.n > 0 {
		r.Texture = e.sum.tex / float64(e.n)
		r.Structure = 1
		if e.sum.structured > 0 {
			r.Structure = e.sum.structure / float64(e.sum.structured)
		}
		if r.HasRef {
			r.RefTexture = e.sum.texRef / float64(e.n)
			if r.RefTexture > 0 {
				r.TextureKept = r.Texture / r.RefTexture
			}
		}
	}
	if p := float64(r.Pairs); p > 0 {
		r.EWarp, r.Floor, r.Valid = e.sum.eOut/p, e.sum.eIn/p, e.sum.valid/p
		if r.HasRef {
			r.RefEWarp = e.sum.eRef / p
			if r.RefEWarp > 0 {
				r.Reduction = 1 - r.EWarp/r.RefEWarp
			}
		}
	}
	if n := float64(e.sum.staticPairs); n > 0 {
		r.StaticFlicker, r.StaticFlickerInput = e.sum.static/n, e.sum.staticIn/n
		r.RefStaticFlicker = e.sum.staticRef / n
	}
	if n := float64(e.sum.devPairs); n > 0 {
		r.Deviation = e.sum.dev / n
	}
	if n := float64(e.sum.movingPairs); n > 0 {
		r.DeviationMoving = e.sum.devMoving / n
	}
	return r
}
