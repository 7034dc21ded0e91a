// Package temporal keeps stylized video from flickering: each frame the net
// paints is blended with the previous result carried onto it along the
// optical flow of the input (Ruder et al. 2016's idea, run as a filter after
// a per-frame net):
//
//	O'_t = S_t + a·m·(warp(O'_{t−1}) − S_t)
//
// where S_t is the net's output, warp pulls the previous result along the
// backward flow (bicubic, replicated borders), m is the validity mask of
// flow.Mask blurred at σ 1.5 (occlusions and motion boundaries get the new
// frame), and a is the blend. A cut (fewer than MinValid of the pixels
// valid) or a Reset starts afresh, so nothing ghosts across it.
//
// The flow depends only on the input, so it is computed in Input, beside
// the model (the pipeline prepares frame t+1 while frame t is inferred);
// Output only warps and blends. A Stabilizer has one state per slot of the
// stylizer it serves: Input(slot) and Output(slot) are called in frame
// order, Input on one goroutine and Output on one (maybe another), and a
// slot is handed from Input to Output by the caller, as the pipeline's
// slots are. Nothing is allocated per frame.
package temporal

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
	"sync/atomic"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/flow"
)

// Defaults.
const (
	// DefaultBlend is a: how much of the carried-over frame is kept where
	// the flow is valid.
	DefaultBlend = 0.6
	// DefaultMinValid is the valid fraction below which a frame is taken
	// as a cut.
	DefaultMinValid = 0.3
	// DefaultPreset is the DIS preset the stabiliser uses, at finest
	// scale 1: fast judged as well as medium (E_warp −65 % vs −68 % on
	// average, the worst clip −46 % either way, texture and deviation
	// alike) for about 10–30 % less CPU (BENCHMARKS.md).
	DefaultPreset = flow.PresetFast
	// maskSigma blurs the validity mask, so that the blend fades in and
	// out over a few pixels instead of at a hard edge.
	maskSigma = 1.5
)

// ErrFrame means a frame does not fit the Stabilizer (size, type).
var ErrFrame = errors.New("temporal: frame")

// ErrClosed means the Stabilizer was used after Close.
var ErrClosed = errors.New("temporal: closed")

// Config sets up a Stabilizer.
type Config struct {
	// Width and Height are the frames' size (the processing size).
	Width, Height int
	// Slots is the number of frames that can be between Input and Output
	// at once (the stylizer's slots).
	Slots int
	// Blend is a, in (0, 1); 0 means DefaultBlend.
	Blend float64
	// MinValid is the cut threshold; 0 means DefaultMinValid.
	MinValid float64
	// Preset is the DIS preset (0: DefaultPreset), always at finest scale
	// 1: coarser flow leaves trails on moving people.
	Preset flow.Preset
}

// Stabilizer is the temporal filter for one stream of frames.
type Stabilizer struct {
	cfg  Config
	dis  *flow.DIS
	w, h int

	// Input's state.
	grey        [2]gocv.Mat // the previous and the current frame, grey
	cur         int
	hasPrev     bool
	fwd, bwd    gocv.Mat // flow t−1→t and t→t−1, CV_32FC2
	fwdWarped   gocv.Mat // fwd pulled along bwd
	valid       gocv.Mat // CV_32F 0/1
	noMap       gocv.Mat
	slots       []slot
	resetAsked  atomic.Bool
	cuts, fresh atomic.Int64

	// Output's state.
	prevOut gocv.Mat // O'_{t−1}
	hasOut  bool
	warped  gocv.Mat

	closeMu sync.Mutex
	closed  bool
}

// slot is what Input hands to Output for one frame.
type slot struct {
	maps  gocv.Mat // CV_32FC2: where each pixel comes from in t−1
	mask  gocv.Mat // CV_32F: a·blurred validity
	carry bool     // false: start afresh with this frame
	valid float64  // the valid fraction
}

// New makes a Stabilizer with its flow (DIS at finest scale 1:
// half-resolution or ultrafast flow leaves trails).
func New(cfg Config) (*Stabilizer, error) {
	if cfg.Width < 2 || cfg.Height < 2 || cfg.Slots < 1 {
		return nil, fmt.Errorf("%w: %dx%d frames, %d slots", ErrFrame, cfg.Width, cfg.Height, cfg.Slots)
	}
	if cfg.Blend == 0 {
		cfg.Blend = DefaultBlend
	}
	if !(cfg.Blend > 0 && cfg.Blend < 1) {
		return nil, fmt.Errorf("temporal: blend %v: want a number between 0 and 1", cfg.Blend)
	}
	if cfg.MinValid == 0 {
		cfg.MinValid = DefaultMinValid
	}
	if cfg.Preset == 0 {
		cfg.Preset = DefaultPreset
	}
	dis, err := flow.NewDIS(cfg.Preset, 1)
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	s := &Stabilizer{cfg: cfg, dis: dis, w: w, h: h, slots: make([]slot, cfg.Slots)}
	for i := range s.grey {
		s.grey[i] = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	}
	s.fwd = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.bwd = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.fwdWarped = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.valid = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
	s.noMap = gocv.NewMat()
	s.prevOut = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	s.warped = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	for i := range s.slots {
		s.slots[i].maps = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
		s.slots[i].mask = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
	}
	return s, nil
}

// Blend is the a in use.
func (s *Stabilizer) Blend() float64 { return s.cfg.Blend }

// Reset makes the next frame given to Input start afresh (a seek, a loop,
// a style switch). It may be called from any goroutine.
func (s *Stabilizer) Reset() { s.resetAsked.Store(true) }

// Cuts is how many frames were taken as scene cuts; Fresh how many started
// afresh for any reason (the first frame, a Reset, a cut).
func (s *Stabilizer) Cuts() int64 { return s.cuts.Load() }

// Fresh: see Cuts.
func (s *Stabilizer) Fresh() int64 { return s.fresh.Load() }

// Input takes the next input frame (BGR, the configured size) for slot i:
// it computes the flow to the frame before and the blend mask.
func (s *Stabilizer) Input(i int, frame gocv.Mat) error {
	if frame.Type() != gocv.MatTypeCV8UC3 || frame.Cols() != s.w || frame.Rows() != s.h {
		return fmt.Errorf("%w: a %dx%d type %v frame where %dx%d BGR was expected", ErrFrame, frame.Cols(), frame.Rows(), frame.Type(), s.w, s.h)
	}
	sl := &s.slots[i]
	prev, cur := s.grey[s.cur^1], &s.grey[s.cur]
	gocv.CvtColor(frame, cur, gocv.ColorBGRToGray)
	if s.resetAsked.Swap(false) {
		s.hasPrev = false
	}
	sl.carry = s.hasPrev
	s.hasPrev, s.cur = true, s.cur^1
	if !sl.carry {
		s.fresh.Add(1)
		return nil
	}
	if err := s.dis.Calc(*cur, prev, &s.bwd); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	if err := s.dis.Calc(prev, *cur, &s.fwd); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	b, _ := s.bwd.DataPtrFloat32()
	maps, _ := sl.maps.DataPtrFloat32()
	flow.Sources(maps, b, s.w, s.h)
	gocv.Remap(s.fwd, &s.fwdWarped, &sl.maps, &s.noMap, gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	ft, _ := s.fwdWarped.DataPtrFloat32()
	v, _ := s.valid.DataPtrFloat32()
	sl.valid = float64(flow.Mask(v, b, ft, s.w, s.h)) / float64(s.w*s.h)
	if sl.valid < s.cfg.MinValid {
		sl.carry = false
		s.cuts.Add(1)
		s.fresh.Add(1)
		return nil
	}
	gocv.GaussianBlur(s.valid, &sl.mask, image.Pt(0, 0), maskSigma, maskSigma, gocv.BorderReplicate)
	m, _ := sl.mask.DataPtrFloat32()
	a := float32(s.cfg.Blend)
	for j := range m {
		m[j] *= a
	}
	return nil
}

// Output blends styled, the net's output for slot i's frame (BGR, the
// configured size), in place with the previous result carried along the
// flow, and keeps the result for the next frame.
func (s *Stabilizer) Output(i int, styled *gocv.Mat) error {
	if styled.Type() != gocv.MatTypeCV8UC3 || styled.Cols() != s.w || styled.Rows() != s.h {
		return fmt.Errorf("%w: a %dx%d type %v frame where %dx%d BGR was expected", ErrFrame, styled.Cols(), styled.Rows(), styled.Type(), s.w, s.h)
	}
	sl := &s.slots[i]
	if sl.carry && s.hasOut {
		gocv.Remap(s.prevOut, &s.warped, &sl.maps, &s.noMap, gocv.InterpolationCubic, gocv.BorderReplicate, color.RGBA{})
		out, err := styled.DataPtrUint8()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFrame, err)
		}
		wp, _ := s.warped.DataPtrUint8()
		m, _ := sl.mask.DataPtrFloat32()
		Blend(out, wp, m, s.w, s.h, int(styled.Step()), int(s.warped.Step()))
	}
	styled.CopyTo(&s.prevOut)
	s.hasOut = true
	return nil
}

// Blend sets out = out + m·(carried − out) per pixel (BGR rows of stride
// bytes; m one weight per pixel), rounding to the nearest level.
func Blend(out, carried []byte, m []float32, w, h, outStride, carriedStride int) {
	for y := range h {
		o := out[y*outStride : y*outStride+3*w]
		c := carried[y*carriedStride : y*carriedStride+3*w]
		mr := m[y*w : y*w+w]
		for x, k := range mr {
			if k == 0 {
				continue
			}
			for ch := 3 * x; ch < 3*x+3; ch++ {
				v := float32(o[ch]) + k*(float32(c[ch])-float32(o[ch])) + 0.5
				o[ch] = byte(v) // 0 ≤ v < 256: a blend of two levels
			}
		}
	}
}

// Close frees the flow and the Mats. It is idempotent.
func (s *Stabilizer) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.dis.Close()
	for _, m := range []*gocv.Mat{&s.grey[0], &s.grey[1], &s.fwd, &s.bwd, &s.fwdWarped, &s.valid, &s.noMap, &s.prevOut, &s.warped} {
		m.Close()
	}
	for i := range s.slots {
		s.slots[i].maps.Close()
		s.slots[i].mask.Close()
	}
	return nil
}
