// Package temporal keeps stylized video from flickering: each frame the net
// paints is blended with the previous result carried onto it along the
// optical flow of the input (Ruder et al. 2016's idea, run as a filter after
// a per-frame net):
//
//	O'_t = S_t + k·m·(warp(O'_{t−1}) − S_t)
//
// where S_t is the net's output, warp pulls the previous result along the
// backward flow (bicubic, replicated borders), m is the validity mask of
// flow.Mask blurred at σ 1.5 (occlusions and motion boundaries get the new
// frame), and k is the blend: a (Config.Blend) where the picture moves by
// a pixel or more per frame, more on still pixels, where nothing can
// ghost (StillBlend). A cut (fewer than MinValid of the pixels valid, or
// the valid ones differing in brightness from the frame before carried
// along the flow by more than cutLevels on average: a cut between flat
// pictures, a flash) or a
// Reset starts afresh, so nothing ghosts across it.
//
// Two steps follow the blend, so that it steadies the strokes without
// blurring them or dragging moving things behind. Blending two paintings
// whose strokes do not line up softens the detail, so the detail (what a
// Gaussian of σ 1 takes away) is scaled back up toward the local energy
// S_t's detail has (measured over a σ 4 window; the gain's excess over 1
// is taken 1.5 times, since scaling a Gaussian high-pass does not raise the
// next high-pass as much, and capped at 2). And the blend may move the
// moving pixels (flow ≥ 0.5 px of the frames shown, see Config.Scale)
// from S_t by at most Budget levels on average in each frame: when a frame
// would deviate more, every moving pixel's correction is shrunk by the same
// number of levels λ, the least that fits (a soft threshold: small
// corrections, which remove little flicker for what they cost, go first;
// large ones keep most of theirs). The result is what is carried to the
// next frame. Config.Plain turns both steps off and blends with a
// everywhere, as versions before 2026-12 did.
//
// The flow depends only on the input, so it runs beside the model: Input
// only turns the frame grey and hands the flow to the Stabilizer's own
// goroutine, which computes it while the caller runs the net; Output waits
// for that frame's flow, then warps and blends. A live loop that prepares,
// infers and finishes one frame at a time thus waits for the flow only
// when it takes longer than the inference. A Stabilizer has one state per
// slot of the stylizer it serves: Input(slot) and Output(slot) are called
// in frame order, Input on one goroutine and Output on one (maybe
// another), and a slot is handed from Input to Output by the caller, as
// the pipeline's slots are. The per-pixel steps run in bands of rows, on a
// pool of goroutines (Config.Workers) started with the Stabilizer; the
// bands are fixed, so the result does not depend on how many run. Nothing
// is allocated per frame. Close must not run while Input or Output does.
package temporal

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/flow"
)

// Defaults.
const (
	// DefaultBlend is a: how much of the carried-over frame is kept where
	// the flow is valid and the picture moves.
	DefaultBlend = 0.8
	// DefaultBudget is the most the blend may move the moving pixels from
	// the net's frame, in levels (0..255) on average per frame.
	DefaultBudget = 2.8
	// DefaultMinValid is the valid fraction below which a frame is taken
	// as a cut.
	DefaultMinValid = 0.3
	// cutLevels: a frame whose valid pixels differ from the frame before,
	// carried along the flow, by more than this many grey levels on
	// average is taken as a cut too. The flow check cannot see a cut
	// between flat pictures (red to blue, black to white: the flow is a
	// perfect zero), nor a flash, and blending across one smears it for
	// half a second; moving footage differs by a few levels.
	cutLevels = 16
	// DefaultPreset is the DIS preset the stabiliser uses, at finest
	// scale 1: fast judged as well as medium (E_warp −65 % vs −68 % on
	// average, the worst clip −46 % either way, texture and deviation
	// alike) for about 10–30 % less CPU (BENCHMARKS.md).
	DefaultPreset = flow.PresetFast
	// maskSigma blurs the validity mask, so that the blend fades in and
	// out over a few pixels instead of at a hard edge.
	maskSigma = 1.5
	// Pixels whose flow is under stillBelow px get the still blend, those
	// at movingFrom px or more get a, with a smooth step between (shown
	// pixels, see Config.Scale).
	stillBelow, movingFrom = 0.25, 1.0
	// movingAt is where the budget counts a pixel as moving; budgetFrom
	// and budgetFull ramp its scaling in.
	movingAt, budgetFrom, budgetFull = 0.5, 0.25, 0.75
	// detailSigma splits a picture into its base and its detail,
	// energySigma is the window over which detail energy is compared,
	// gainBoost scales the gain's excess over 1, and maxGain caps it.
	detailSigma, energySigma, gainBoost, maxGain = 1.0, 4.0, 1.5, 2.0
	// The budget's λ is found on a histogram of the corrections' sizes:
	// binsPerLevel bins per level up to histLevels levels, the rest in the
	// last bin.
	binsPerLevel, histLevels = 16, 64
)

// StillBlend is the blend on still pixels that goes with a on moving
// ones: halfway from a to 1 (a 0.8: 0.9).
func StillBlend(a float64) float64 { return (1 + a) / 2 }

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
	// Budget is the most the blend may move the moving pixels from the
	// net's frame, in levels on average per frame; 0 means DefaultBudget.
	Budget float64
	// Scale is how many pixels of the frames shown one pixel of the
	// processing size spans (2 when 640×360 is processed at 320×180); 0
	// means 1. What counts as still or moving is motion in shown pixels:
	// a viewer sees a picture move by its own pixels.
	Scale float64
	// Plain blends with a everywhere and nothing more: no still blend, no
	// detail restore, no budget (for comparing).
	Plain bool
	// Inline computes the flow inside Input, on the caller's goroutine,
	// instead of beside the caller's inference: for measuring what the
	// overlap gains.
	Inline bool
	// Workers is how many goroutines share the per-pixel steps of a
	// frame (in bands of rows; the flow itself is OpenCV's, parallel by
	// itself): 0 means half the CPUs Go may use, at least one (the other
	// half is the net's, the decoder's and the encoder's); 1 runs each
	// step on the goroutine that calls for it (Output's, the flow's). The
	// frames come out the same to the bit whatever the number (bandRows).
	// A CPU that also runs the net is better left at 1: the stylizer
	// asks for more only when the net runs on a GPU.
	Workers int
}

// Stabilizer is the temporal filter for one stream of frames.
type Stabilizer struct {
	cfg  Config
	dis  *flow.DIS
	w, h int
	// pool runs the bands of the per-pixel steps; nb is their number.
	pool *pool
	nb   int

	// Input's state.
	grey        [2]gocv.Mat // the previous and the current frame, grey
	cur         int
	seq         int64 // input frames taken
	hasPrev     bool
	busy        bool // a flow was handed to the worker and idle not yet taken
	slots       []slot
	resetAsked  atomic.Bool
	cuts, fresh atomic.Int64

	// The flow's state, owned by the worker goroutine (or by Input when
	// Inline) while it computes slot's flow.
	fwd, bwd   gocv.Mat // flow t−1→t and t→t−1, CV_32FC2
	fwdWarped  gocv.Mat // fwd pulled along bwd
	greyWarped gocv.Mat // the previous grey frame pulled along bwd
	valid      gocv.Mat // CV_32F 0/1
	noMap      gocv.Mat
	jobs       chan int      // slots whose flow the worker is to compute
	idle       chan struct{} // the worker is done with the grey frames
	stopped    chan struct{} // closed when the worker has returned
	// onFlow, if set (tests), is called by the worker before and after
	// each flow computation, and by Output before it waits for one.
	onFlow func(ev FlowEvent, slot int)
	// fj is the flow being computed, for the band functions; flowWG waits
	// for its bands.
	fj struct {
		sl          *slot
		b, maps, ft []float32
		v, m        []float32
		cur, wp     []byte  // this grey frame and the previous one carried onto it
		kept        []int   // per band
		diff        []int64 // per band: Σ|cur − wp| over the valid pixels
	}
	flowWG                      sync.WaitGroup
	sourcesFn, maskFn, weightFn func(int)

	// Output's state.
	prevOut  gocv.Mat // O'_{t−1}
	outSeq   int64    // the input frame prevOut was made from (Input's count; 0: none)
	warped   gocv.Mat
	outNoMap gocv.Mat
	// The refined blend's work (not Plain): the net's frame and the blend
	// in float (CV_32FC3), their bases (σ detailSigma), and their detail
	// energies per pixel (CV_32F).
	styledF, blended, baseS, baseB gocv.Mat
	energyS, energyB               gocv.Mat
	// The budget's histogram: the sum and count of the corrections' sizes
	// per bin, over the frame and per band.
	histSum []float64
	histN   []int
	bandSum [][]float64
	bandN   [][]int
	bandDev []float64
	// rj is the blend being refined, for the band functions; outWG waits
	// for its bands.
	rj struct {
		sl                *slot
		out, carried      []byte
		ostride, cstride  int
		sf, bf, m, ls, lb []float32
		es, eb            []float32
		lambda            float32
	}
	outWG                              sync.WaitGroup
	blendFn, energyFn, gainFn, finalFn func(int)

	closeMu sync.Mutex
	closed  bool
}

// slot is what Input hands to Output for one frame. Input sets carry
// and, when it carries, hands the slot to the worker, which fills the
// rest and signals done; Output takes done before it reads any of it.
type slot struct {
	maps  gocv.Mat  // CV_32FC2: where each pixel comes from in t−1
	mask  gocv.Mat  // CV_32F: the blend k times the blurred validity
	mag   []float32 // |flow| per pixel, in shown px (Config.Scale)
	carry bool      // false: start afresh with this frame
	valid float64   // the valid fraction
	err   error     // the flow's failure
	prev  int       // the index of the previous frame's grey in grey
	seq   int64     // which input frame this is (1, 2, …)
	// pending: Input has given this slot a frame that Output has not
	// taken yet; done then has, or will get, one signal for it.
	pending bool
	done    chan struct{}
}

// FlowEvent is a point in a flow's life, for tests that check what runs
// beside what.
type FlowEvent int

// The events. FlowStart and FlowDone come from the goroutine that
// computes the flow (Input's with Inline); OutputWaits comes from Output
// when that frame's flow is not done yet and it has to wait for it.
const (
	FlowStart FlowEvent = iota
	FlowDone
	OutputWaits
)

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
	if cfg.Budget == 0 {
		cfg.Budget = DefaultBudget
	}
	if !(cfg.Budget > 0) || math.IsInf(cfg.Budget, 0) {
		return nil, fmt.Errorf("temporal: budget %v: want a number of levels above 0", cfg.Budget)
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if !(cfg.Scale > 0) || math.IsInf(cfg.Scale, 0) {
		return nil, fmt.Errorf("temporal: scale %v: want a number above 0", cfg.Scale)
	}
	if cfg.MinValid == 0 {
		cfg.MinValid = DefaultMinValid
	}
	if cfg.Preset == 0 {
		cfg.Preset = DefaultPreset
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("temporal: %d workers", cfg.Workers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	dis, err := flow.NewDIS(cfg.Preset, 1)
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	s := &Stabilizer{cfg: cfg, dis: dis, w: w, h: h, slots: make([]slot, cfg.Slots),
		pool: newPool(cfg.Workers), nb: bandsOf(h),
		jobs: make(chan int, 1), idle: make(chan struct{}, 1), stopped: make(chan struct{})}
	s.fj.kept, s.fj.diff = make([]int, s.nb), make([]int64, s.nb)
	s.sourcesFn, s.maskFn, s.weightFn = s.sourcesBand, s.maskBand, s.weightBand
	s.blendFn, s.energyFn, s.gainFn, s.finalFn = s.blendBand, s.energyBand, s.gainBand, s.finalBand
	for i := range s.grey {
		s.grey[i] = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	}
	s.fwd = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.bwd = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.fwdWarped = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
	s.greyWarped = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	s.valid = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
	s.noMap = gocv.NewMat()
	s.outNoMap = gocv.NewMat()
	s.prevOut = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	s.warped = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	work := func(typ gocv.MatType) gocv.Mat { // the refined blend's; empty when Plain
		if cfg.Plain {
			return gocv.NewMat()
		}
		return gocv.NewMatWithSize(h, w, typ)
	}
	s.styledF, s.blended = work(gocv.MatTypeCV32FC3), work(gocv.MatTypeCV32FC3)
	s.baseS, s.baseB = work(gocv.MatTypeCV32FC3), work(gocv.MatTypeCV32FC3)
	s.energyS, s.energyB = work(gocv.MatTypeCV32F), work(gocv.MatTypeCV32F)
	if !cfg.Plain {
		s.histSum = make([]float64, binsPerLevel*histLevels)
		s.histN = make([]int, binsPerLevel*histLevels)
		s.bandSum, s.bandN, s.bandDev = make([][]float64, s.nb), make([][]int, s.nb), make([]float64, s.nb)
		for b := range s.nb {
			s.bandSum[b] = make([]float64, binsPerLevel*histLevels)
			s.bandN[b] = make([]int, binsPerLevel*histLevels)
		}
	}
	for i := range s.slots {
		s.slots[i].maps = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
		s.slots[i].mask = gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
		s.slots[i].mag = make([]float32, w*h)
		s.slots[i].done = make(chan struct{}, 1)
	}
	go s.worker()
	return s, nil
}

// worker computes the flows Input hands over, one at a time, until Close.
func (s *Stabilizer) worker() {
	defer close(s.stopped)
	for i := range s.jobs {
		s.event(FlowStart, i)
		s.flow(i)
		s.event(FlowDone, i)
		// Neither send blocks: done is empty while its slot is pending
		// and idle while a flow is being computed.
		s.slots[i].done <- struct{}{}
		s.idle <- struct{}{}
	}
}

func (s *Stabilizer) event(ev FlowEvent, i int) {
	if s.onFlow != nil {
		s.onFlow(ev, i)
	}
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
// it keeps the frame in grey and starts the flow to the frame before and
// the blend mask, which Output(i) waits for. frame is not kept.
func (s *Stabilizer) Input(i int, frame gocv.Mat) error {
	if frame.Type() != gocv.MatTypeCV8UC3 || frame.Cols() != s.w || frame.Rows() != s.h {
		return fmt.Errorf("%w: a %dx%d type %v frame where %dx%d BGR was expected", ErrFrame, frame.Cols(), frame.Rows(), frame.Type(), s.w, s.h)
	}
	if i < 0 || i >= len(s.slots) {
		return fmt.Errorf("%w: slot %d of %d", ErrFrame, i, len(s.slots))
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.busy { // the worker still reads the grey frames of the flow before
		<-s.idle
		s.busy = false
	}
	sl := &s.slots[i]
	if sl.pending { // a frame whose Output never came (its Prepare failed)
		<-sl.done
	}
	s.seq++
	sl.pending, sl.err, sl.prev, sl.seq = true, nil, s.cur^1, s.seq
	gocv.CvtColor(frame, &s.grey[s.cur], gocv.ColorBGRToGray)
	if s.resetAsked.Swap(false) {
		s.hasPrev = false
	}
	sl.carry = s.hasPrev
	s.hasPrev, s.cur = true, s.cur^1
	switch {
	case !sl.carry:
		s.fresh.Add(1)
		sl.done <- struct{}{}
	case s.cfg.Inline:
		s.event(FlowStart, i)
		s.flow(i)
		s.event(FlowDone, i)
		sl.done <- struct{}{}
	default:
		s.busy = true
		s.jobs <- i
	}
	return nil
}

// flow computes slot i's flow (from the grey frame before to slot i's),
// source map and mask, or starts it afresh at a cut.
func (s *Stabilizer) flow(i int) {
	sl := &s.slots[i]
	j := &s.fj
	j.sl = sl
	// One flow after the other: OpenCV runs one parallel region at a
	// time in a process, so a second DIS beside the first would run on
	// one thread while the first has all the others.
	prev, cur := s.grey[sl.prev], s.grey[sl.prev^1]
	if err := s.dis.Calc(cur, prev, &s.bwd); err != nil {
		sl.err = fmt.Errorf("temporal: %w", err)
		return
	}
	if err := s.dis.Calc(prev, cur, &s.fwd); err != nil {
		sl.err = fmt.Errorf("temporal: %w", err)
		return
	}
	j.b, _ = s.bwd.DataPtrFloat32()
	j.maps, _ = sl.maps.DataPtrFloat32()
	s.pool.run(&s.flowWG, s.nb, s.sourcesFn)
	gocv.Remap(s.fwd, &s.fwdWarped, &sl.maps, &s.noMap, gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	gocv.Remap(prev, &s.greyWarped, &sl.maps, &s.noMap, gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	j.ft, _ = s.fwdWarped.DataPtrFloat32()
	j.v, _ = s.valid.DataPtrFloat32()
	j.cur, _ = cur.DataPtrUint8()
	j.wp, _ = s.greyWarped.DataPtrUint8()
	s.pool.run(&s.flowWG, s.nb, s.maskFn)
	kept, diff := 0, int64(0)
	for b := range s.nb {
		kept += j.kept[b]
		diff += j.diff[b]
	}
	sl.valid = float64(kept) / float64(s.w*s.h)
	if sl.valid < s.cfg.MinValid || float64(diff) > cutLevels*float64(kept) {
		sl.carry = false
		s.cuts.Add(1)
		s.fresh.Add(1)
		return
	}
	gocv.GaussianBlur(s.valid, &sl.mask, image.Pt(0, 0), maskSigma, maskSigma, gocv.BorderReplicate)
	j.m, _ = sl.mask.DataPtrFloat32()
	s.pool.run(&s.flowWG, s.nb, s.weightFn)
}

func (s *Stabilizer) sourcesBand(b int) {
	y0, y1 := rowsOf(b, s.h)
	flow.SourcesRows(s.fj.maps, s.fj.b, s.w, y0, y1)
}

func (s *Stabilizer) maskBand(b int) {
	y0, y1 := rowsOf(b, s.h)
	j := &s.fj
	j.kept[b] = flow.MaskRows(j.v, j.b, j.ft, s.w, s.h, y0, y1)
	var d int64
	v, cur, wp := j.v[y0*s.w:y1*s.w], j.cur[y0*s.w:y1*s.w], j.wp[y0*s.w:y1*s.w]
	for i, ok := range v {
		if ok != 0 {
			d += int64(max(cur[i], wp[i]) - min(cur[i], wp[i]))
		}
	}
	j.diff[b] = d
}

// weightBand turns band b of the blurred mask into the blend weights: a
// everywhere when Plain, else from the still blend to a with the motion.
func (s *Stabilizer) weightBand(b int) {
	y0, y1 := rowsOf(b, s.h)
	j := &s.fj
	m, bw, mag := j.m[y0*s.w:y1*s.w], j.b[2*y0*s.w:2*y1*s.w], j.sl.mag[y0*s.w:y1*s.w]
	a := float32(s.cfg.Blend)
	if s.cfg.Plain {
		for i := range m {
			m[i] *= a
		}
		return
	}
	still, scale := float32(StillBlend(s.cfg.Blend)), float32(s.cfg.Scale)
	for i := range m {
		bx, by := bw[2*i], bw[2*i+1]
		mg := scale * float32(math.Sqrt(float64(bx*bx+by*by)))
		mag[i] = mg
		x := min(max((mg-stillBelow)/(movingFrom-stillBelow), 0), 1)
		m[i] *= still + (a-still)*x*x*(3-2*x)
	}
}

// Output blends styled, the net's output for slot i's frame (BGR, the
// configured size), in place with the previous result carried along the
// flow, and keeps the result for the next frame. It waits for the flow
// Input(i) started.
func (s *Stabilizer) Output(i int, styled *gocv.Mat) error {
	if s.closed {
		return ErrClosed
	}
	if styled.Type() != gocv.MatTypeCV8UC3 || styled.Cols() != s.w || styled.Rows() != s.h {
		return fmt.Errorf("%w: a %dx%d type %v frame where %dx%d BGR was expected", ErrFrame, styled.Cols(), styled.Rows(), styled.Type(), s.w, s.h)
	}
	if i < 0 || i >= len(s.slots) {
		return fmt.Errorf("%w: slot %d of %d", ErrFrame, i, len(s.slots))
	}
	sl := &s.slots[i]
	if !sl.pending {
		return fmt.Errorf("%w: slot %d was given no input frame", ErrFrame, i)
	}
	select {
	case <-sl.done:
	default:
		s.event(OutputWaits, i)
		<-sl.done
	}
	sl.pending = false
	if sl.err != nil {
		s.outSeq = 0
		return sl.err
	}
	// The flow leads from the input frame before this one: carry only
	// the output of that frame (not an older one, when that frame's
	// Output never came).
	switch {
	case !sl.carry || s.outSeq == 0:
	case s.outSeq != sl.seq-1:
		s.fresh.Add(1)
	default:
		gocv.Remap(s.prevOut, &s.warped, &sl.maps, &s.outNoMap, gocv.InterpolationCubic, gocv.BorderReplicate, color.RGBA{})
		out, err := styled.DataPtrUint8()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFrame, err)
		}
		wp, _ := s.warped.DataPtrUint8()
		m, _ := sl.mask.DataPtrFloat32()
		if s.cfg.Plain {
			Blend(out, wp, m, s.w, s.h, int(styled.Step()), int(s.warped.Step()))
		} else {
			s.refine(sl, styled, out, wp)
		}
	}
	styled.CopyTo(&s.prevOut)
	s.outSeq = sl.seq
	return nil
}

// refine blends carried (the warped previous result) into out, the net's
// frame, restores the detail the blend softened and keeps the moving
// pixels within the budget (see the package doc).
func (s *Stabilizer) refine(sl *slot, styled *gocv.Mat, out, carried []byte) {
	r := &s.rj
	r.sl, r.out, r.carried = sl, out, carried
	r.ostride, r.cstride = int(styled.Step()), int(s.warped.Step())
	styled.ConvertTo(&s.styledF, gocv.MatTypeCV32FC3)
	r.sf, _ = s.styledF.DataPtrFloat32()
	r.bf, _ = s.blended.DataPtrFloat32()
	r.m, _ = sl.mask.DataPtrFloat32()
	s.pool.run(&s.outWG, s.nb, s.blendFn)
	gocv.GaussianBlur(s.styledF, &s.baseS, image.Pt(0, 0), detailSigma, detailSigma, gocv.BorderReplicate)
	gocv.GaussianBlur(s.blended, &s.baseB, image.Pt(0, 0), detailSigma, detailSigma, gocv.BorderReplicate)
	r.ls, _ = s.baseS.DataPtrFloat32()
	r.lb, _ = s.baseB.DataPtrFloat32()
	r.es, _ = s.energyS.DataPtrFloat32()
	r.eb, _ = s.energyB.DataPtrFloat32()
	s.pool.run(&s.outWG, s.nb, s.energyFn)
	gocv.GaussianBlur(s.energyS, &s.energyS, image.Pt(0, 0), energySigma, energySigma, gocv.BorderReplicate)
	gocv.GaussianBlur(s.energyB, &s.energyB, image.Pt(0, 0), energySigma, energySigma, gocv.BorderReplicate)
	// The detail back up, and the sizes of the moving pixels'
	// corrections into the histogram: per band, then added up in band
	// order.
	s.pool.run(&s.outWG, s.nb, s.gainFn)
	clear(s.histSum)
	clear(s.histN)
	var dev float64
	for b := range s.nb {
		for k, v := range s.bandSum[b] {
			s.histSum[k] += v
		}
		for k, v := range s.bandN[b] {
			s.histN[k] += v
		}
		dev += s.bandDev[b]
	}
	r.lambda = float32(shrinkFor(s.histSum, s.histN, dev, s.cfg.Budget))
	s.pool.run(&s.outWG, s.nb, s.finalFn)
}

// blendBand blends band b: the carried frame into the net's, by the mask.
func (s *Stabilizer) blendBand(b int) {
	r := &s.rj
	y0, y1 := rowsOf(b, s.h)
	w := s.w
	for y := y0; y < y1; y++ {
		c := r.carried[y*r.cstride : y*r.cstride+3*w]
		for x := range w {
			k := r.m[y*w+x]
			for ch := 3 * x; ch < 3*x+3; ch++ {
				i := 3*y*w + ch
				r.bf[i] = r.sf[i] + k*(float32(c[ch])-r.sf[i])
			}
		}
	}
}

// energyBand is band b's detail energy per pixel, of the net's frame and
// of the blend.
func (s *Stabilizer) energyBand(b int) {
	r := &s.rj
	y0, y1 := rowsOf(b, s.h)
	for j := y0 * s.w; j < y1*s.w; j++ {
		var e1, e2 float32
		for i := 3 * j; i < 3*j+3; i++ {
			d1, d2 := r.sf[i]-r.ls[i], r.bf[i]-r.lb[i]
			e1 += d1 * d1
			e2 += d2 * d2
		}
		r.es[j], r.eb[j] = e1, e2
	}
}

// gainBand restores band b's detail and histograms its moving pixels'
// corrections into the band's own bins.
func (s *Stabilizer) gainBand(b int) {
	r := &s.rj
	y0, y1 := rowsOf(b, s.h)
	sum, n := s.bandSum[b], s.bandN[b]
	clear(sum)
	clear(n)
	var dev float64
	last := len(n) - 1
	for j := y0 * s.w; j < y1*s.w; j++ {
		g := float32(math.Sqrt(float64((r.es[j] + 3e-3) / (r.eb[j] + 3e-3))))
		g = min(max(1+gainBoost*(g-1), 1), maxGain)
		moving := r.sl.mag[j] >= movingAt
		for i := 3 * j; i < 3*j+3; i++ {
			r.bf[i] = r.lb[i] + g*(r.bf[i]-r.lb[i])
			if !moving {
				continue
			}
			d := r.bf[i] - r.sf[i]
			if d < 0 {
				d = -d
			}
			k := min(int(d*binsPerLevel), last)
			sum[k] += float64(d)
			n[k]++
			dev += float64(d)
		}
	}
	s.bandDev[b] = dev
}

// finalBand writes band b of the result: the net's frame plus each
// correction shrunk by λ where the picture moves.
func (s *Stabilizer) finalBand(b int) {
	r := &s.rj
	y0, y1 := rowsOf(b, s.h)
	w, lambda := s.w, r.lambda
	for y := y0; y < y1; y++ {
		o := r.out[y*r.ostride : y*r.ostride+3*w]
		for x := range w {
			l := float32(0)
			if lambda > 0 {
				l = lambda * min(max((r.sl.mag[y*w+x]-budgetFrom)/(budgetFull-budgetFrom), 0), 1)
			}
			for ch := 3 * x; ch < 3*x+3; ch++ {
				i := 3*y*w + ch
				d := r.bf[i] - r.sf[i]
				switch {
				case d > l:
					d -= l
				case d < -l:
					d += l
				default:
					d = 0
				}
				v := r.sf[i] + d + 0.5
				o[ch] = byte(min(max(v, 0), 255))
			}
		}
	}
}

// shrinkFor returns the λ ≥ 0 that brings the mean of max(0, v − λ) over
// the values v histogrammed in sum and n (bin b holding the values from
// b/binsPerLevel levels, the last bin all above) down to budget; total is
// their sum. It is 0 when their mean already fits. Values are taken as
// lying at their bin's lower edge, so λ is within one bin of the exact one.
func shrinkFor(sum []float64, n []int, total, budget float64) float64 {
	count := 0
	for _, c := range n {
		count += c
	}
	if count == 0 || total <= budget*float64(count) {
		return 0
	}
	want := budget * float64(count)
	var above float64 // the sum of the values in the bins above b
	nAbove := 0
	for b := len(n) - 1; b >= 0; b-- {
		lo := float64(b) / binsPerLevel
		if nAbove > 0 {
			// λ with only the bins above b over it.
			if l := (above - want) / float64(nAbove); l >= lo {
				if b+2 == len(n) { // the last bin, above it, holds its values' true sum
					return l
				}
				return min(l, float64(b+1)/binsPerLevel)
			}
		}
		above += sum[b]
		nAbove += n[b]
	}
	return max((above-want)/float64(nAbove), 0)
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
	close(s.jobs)
	<-s.stopped // the worker has finished the flow it had
	s.pool.close()
	s.dis.Close()
	for _, m := range []*gocv.Mat{&s.grey[0], &s.grey[1], &s.fwd, &s.bwd, &s.fwdWarped, &s.greyWarped, &s.valid, &s.noMap, &s.outNoMap, &s.prevOut, &s.warped, &s.styledF, &s.blended, &s.baseS, &s.baseB, &s.energyS, &s.energyB} {
		m.Close()
	}
	for i := range s.slots {
		s.slots[i].maps.Close()
		s.slots[i].mask.Close()
	}
	return nil
}
