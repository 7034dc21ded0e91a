package models

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vidstyle/vidstyle/internal/onnxgraph"
)

// ErrNotJohnson means a model is not a Johnson-style transform net that
// vidstyle knows how to quantize.
var ErrNotJohnson = errors.New("cannot quantize")

// Precision metadata: MetaPrecision is "int8" in a quantized model (a
// model without it is float32); MetaQuantizedFrom is the sha256 of the
// float model it was made from; MetaCalibration says on what.
const (
	MetaPrecision     = "vidstyle.precision"
	MetaQuantizedFrom = "vidstyle.quantized_from_sha256"
	MetaQuantizedName = "vidstyle.quantized_from"
	MetaCalibration   = "vidstyle.calibration"
	MetaQuantizer     = "vidstyle.quantizer"
)

// QuantizerVersion names the recipe recorded in MetaQuantizer.
const QuantizerVersion = "vidstyle-qdq-3: sub-pixel last and up-sampling convs, cross-layer equalization, per-channel symmetric int8 weights, per-tensor uint8 activations at the 99.99th percentile, residual-block convs in int8 (first, strided, transposed and last conv in float)"

// Precision returns a model's precision: "int8" when vidstyle quantized
// it, else "fp32".
func (g *Graph) Precision() string {
	if p, ok := g.MetadataValue(MetaPrecision); ok && p != "" {
		return p
	}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" || n.OpType == "QLinearConv" || n.OpType == "ConvInteger" {
			return "int8"
		}
	}
	return "fp32"
}

// CalibImage is one calibration input: [1,3,H,W] float32 RGB 0..255
// (the Johnson convention).
type CalibImage struct {
	Width, Height int
	Pixels        []float32
}

// Evaluator runs a float32 model on calibration images; package models
// holds no cgo, so the caller brings ONNX Runtime (stylize.Runner).
type Evaluator interface {
	// Open loads model so that Run returns the named outputs.
	Open(model []byte, outputs []string) (Evaluation, error)
}

// Evaluation is one loaded model of an Evaluator.
type Evaluation interface {
	Run(img CalibImage) ([][]float32, error)
	Close() error
}

// QuantizeOptions says how to quantize.
type QuantizeOptions struct {
	// Images are the calibration frames (at least one).
	Images []CalibImage
	// Source describes them, for the metadata ("12 frames of x.mp4").
	Source string
	// Name is the float model's name, for the metadata.
	Name string
	// Percentile is the share of values a range covers (default 0.9999,
	// measured best of 99.98 … 99.999 on five styles: BENCHMARKS.md).
	Percentile float64
	// MaxScale bounds the equalization factors (default 32).
	MaxScale float64
	// EqualizeOnly stops after the equalization: a float32 model that
	// computes the same function (for tests).
	EqualizeOnly bool
}

// QuantizeReport says what Quantize did.
type QuantizeReport struct {
	Quantized  int // convolutions run in int8
	Float      []string
	Equalized  int // convolutions whose output channels were rescaled
	InputScale int // convolutions whose input channels were rescaled
}

// Quantize rewrites a float32 Johnson-style transform net into an
// equalized QDQ model (QuantizeLinear/DequantizeLinear around each
// convolution of the residual blocks, which ONNX Runtime fuses into
// integer convolutions; see johnsonPlan for what stays float). First the
// exact rewrites: the last conv computed two by two pixels
// (SubpixelLastConv) and the transposed convs as convs and DepthToSpace
// (SubpixelConvTranspose), then cross-layer equalization, which is
// exact in float32: each conv's output channels before an
// InstanceNormalization are centred and scaled by factors ≥ 1 (the
// normalization undoes both, up to its epsilon), and an IN → ReLU → conv
// chain has its IN scale and shift of channel c multiplied by s_c and the
// next conv's input-channel-c weights divided by it (ReLU is positively
// homogeneous), so that one per-tensor activation scale fits every
// channel. The ranges come from running the float graph with its
// intermediate values as outputs on opts.Images, at opts.Percentile.
// Weights are per-output-channel symmetric int8, biases int32 at the
// product of the scales, activations per-tensor uint8. A graph that does
// not follow the Johnson conventions is refused with ErrNotJohnson and the
// reason.
func Quantize(data []byte, ev Evaluator, opts QuantizeOptions) ([]byte, QuantizeReport, error) {
	var rep QuantizeReport
	if opts.Percentile == 0 {
		opts.Percentile = 0.9999
	}
	if opts.MaxScale == 0 {
		opts.MaxScale = 32
	}
	if len(opts.Images) == 0 {
		return nil, rep, fmt.Errorf("%w: no calibration frames", ErrNotJohnson)
	}
	padded, err := quantizable(data)
	if err != nil {
		return nil, rep, err
	}
	m, err := readEdit(padded)
	if err != nil {
		return nil, rep, err
	}
	plan, err := m.johnsonPlan()
	if err != nil {
		return nil, rep, err
	}
	// Calibrate: every conv's input and output, per channel.
	var names []string
	seen := map[string]bool{}
	for _, c := range plan.convs {
		for _, v := range []string{c.in, c.out} {
			if !seen[v] {
				seen[v] = true
				names = append(names, v)
			}
		}
	}
	stats, err := m.calibrate(ev, names, opts)
	if err != nil {
		return nil, rep, err
	}
	// Equalize.
	inScale := map[string][]float64{} // tensor → channel factors it was multiplied by
	for _, c := range plan.convs {
		if c.norm < 0 {
			continue
		}
		st := stats[c.out]
		w := m.inits[c.weight]
		cout := int(w.Dims[0])
		a := make([]float64, cout)
		mid := make([]float64, cout)
		var r float64
		for o := range cout {
			mid[o] = (st.lo[o] + st.hi[o]) / 2
			r = max(r, (st.hi[o]-st.lo[o])/2)
		}
		for o := range cout {
			ro := (st.hi[o] - st.lo[o]) / 2
			a[o] = 1
			if ro > 0 {
				a[o] = min(opts.MaxScale, max(1, r/ro))
			}
		}
		m.scaleConvOut(c, a, mid)
		for o := range cout {
			st.lo[o] = a[o] * (st.lo[o] - mid[o])
			st.hi[o] = a[o] * (st.hi[o] - mid[o])
		}
		rep.Equalized++
	}
	for _, e := range plan.chains {
		st := stats[e.next.in]
		cin := len(st.hi)
		var r float64
		for _, h := range st.hi {
			r = max(r, h)
		}
		s := make([]float64, cin)
		for c := range cin {
			s[c] = 1
			if st.hi[c] > 0 {
				s[c] = min(opts.MaxScale, max(1, r/st.hi[c]))
			}
			st.lo[c] *= s[c]
			st.hi[c] *= s[c]
		}
		m.scaleNorm(e.norm, s)
		m.divideConvIn(e.next, s)
		inScale[e.next.in] = s
		rep.InputScale++
	}
	if opts.EqualizeOnly {
		m.meta = append(m.meta, KV{MetaQuantizer, "equalized only (float32)"})
		m.addRewrite(padded, "equalized")
		return m.encode(), rep, nil
	}
	// Quantize.
	quantized := 0
	for _, c := range plan.convs {
		if !c.quantize {
			rep.Float = append(rep.Float, c.out)
			continue
		}
		if err := m.qdqConv(c, stats[c.in], stats[c.out]); err != nil {
			return nil, rep, err
		}
		quantized++
	}
	rep.Quantized = quantized
	if quantized == 0 {
		return nil, rep, fmt.Errorf("%w: no convolution to quantize", ErrNotJohnson)
	}
	sum := sha256.Sum256(data)
	from := opts.Name
	m.dropMeta(MetaPrecision)
	m.meta = append(m.meta,
		KV{MetaPrecision, "int8"},
		KV{MetaQuantizedName, from},
		KV{MetaQuantizedFrom, hex.EncodeToString(sum[:])},
		KV{MetaCalibration, fmt.Sprintf("%d frames (%s), ranges at the %s percentile", len(opts.Images), opts.Source, strconv.FormatFloat(100*opts.Percentile, 'g', 8, 64))},
		KV{MetaQuantizer, QuantizerVersion})
	m.addRewrite(padded, "equalized,qdq-int8")
	return m.encode(), rep, nil
}

// quantizable is the model Quantize works on: upgraded to opset 13
// (an ErrOpset refusal is ErrNotJohnson), its last conv and transposed
// convs in their exact sub-pixel forms.
func quantizable(data []byte) ([]byte, error) {
	upgraded, _, err := UpgradeOpset(data)
	if errors.Is(err, ErrOpset) {
		err = fmt.Errorf("%w: %w", ErrNotJohnson, err)
	}
	if err != nil {
		return nil, err
	}
	out, _, err := SubpixelLastConv(upgraded)
	if err != nil {
		return nil, err
	}
	out, _, err = SubpixelConvTranspose(out)
	return out, err
}

// convPlan is one convolution of a Johnson net.
type convPlan struct {
	node            *editNode
	in, out, weight string
	bias            string // "" when none
	transpose       bool
	norm            int // index of the InstanceNormalization reading its output, or -1
	quantize        bool
}

// chainPlan is an IN → ReLU (→ Pad/Resize …) → conv chain.
type chainPlan struct {
	norm *editNode
	next *convPlan
}

type johnsonPlan struct {
	convs  []*convPlan
	chains []chainPlan
}

// johnsonPlan checks that the graph is a Johnson-style net and finds what
// to equalize and quantize.
func (m *editModel) johnsonPlan() (*johnsonPlan, error) {
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("%w: not a Johnson-style transform net: %s", ErrNotJohnson, fmt.Sprintf(format, a...))
	}
	if m.opset < 13 {
		return nil, fmt.Errorf("%w: opset %d: per-channel quantization needs opset 13 or newer (export the model again at opset 13)", ErrNotJohnson, m.opset)
	}
	p := &johnsonPlan{}
	norms := 0
	for _, n := range m.nodes {
		switch {
		case n.Domain != "" && n.Domain != "ai.onnx":
			return nil, refuse("operator %s of domain %q", n.OpType, n.Domain)
		case n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" || n.OpType == "QLinearConv" || n.OpType == "ConvInteger":
			return nil, fmt.Errorf("%w: already quantized (%s)", ErrNotJohnson, n.OpType)
		case n.OpType == "InstanceNormalization":
			norms++
		case n.OpType != "Conv" && n.OpType != "ConvTranspose":
			continue
		}
		if n.OpType != "Conv" && n.OpType != "ConvTranspose" {
			continue
		}
		if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
			return nil, refuse("%s %s has %d inputs", n.OpType, n.Outputs, len(n.Inputs))
		}
		w, ok := m.inits[n.Inputs[1]]
		if !ok || !w.isConvWeight() {
			return nil, refuse("%s %s has no float32 4-D weight initializer", n.OpType, n.Outputs[0])
		}
		if g := n.parsed["group"].Int; g > 1 {
			return nil, refuse("%s %s is a grouped convolution", n.OpType, n.Outputs[0])
		}
		if len(m.consumers(n.Inputs[1])) != 1 {
			return nil, refuse("the weight of %s is shared", n.Outputs[0])
		}
		c := &convPlan{node: n, in: n.Inputs[0], out: n.Outputs[0], weight: n.Inputs[1], transpose: n.OpType == "ConvTranspose", norm: -1}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			b, ok := m.inits[n.Inputs[2]]
			if !ok || b.DataType != onnxgraph.TensorFloat || len(m.consumers(n.Inputs[2])) != 1 {
				return nil, refuse("%s %s has a bias that is not its own float32 initializer", n.OpType, n.Outputs[0])
			}
			c.bias = n.Inputs[2]
		}
		if cs := m.consumers(c.out); len(cs) == 1 && !m.isGraphOutput(c.out) {
			if nn := m.nodes[cs[0]]; nn.OpType == "InstanceNormalization" && nn.Inputs[0] == c.out && !c.transpose {
				if _, ok := m.inits[nn.Inputs[1]]; ok {
					c.norm = cs[0]
				}
			}
		}
		p.convs = append(p.convs, c)
	}
	if len(p.convs) < 6 || norms < 4 {
		return nil, refuse("%d convolutions and %d instance normalizations (a Johnson net has about 16 and 15)", len(p.convs), norms)
	}
	// What stays float: the first conv (it sees the pixels), the last (it
	// makes them), the up-sampling convs (transposed ones, or the sub-pixel
	// convs SubpixelConvTranspose made of them, which feed DepthToSpace:
	// quantized, wave fell to 28.5 dB) and the strided convs of the
	// encoder. Those run on the frame's own contrast, before the residual
	// blocks: in a smooth or low-contrast frame their activations use a
	// few of the 256 levels a range calibrated on sharper frames gives,
	// and the error they add is what the net amplifies into re-placed
	// strokes on flat areas (BENCHMARKS.md: quantizing them cost 4 to 5 dB
	// on video frames at 640x360 for 7 % of the work).
	first, last := p.convs[0], p.convs[len(p.convs)-1]
	for _, c := range p.convs {
		strided := slices.ContainsFunc(c.node.parsed["strides"].Ints, func(s int64) bool { return s > 1 })
		cs := m.consumers(c.out)
		up := c.transpose || len(cs) == 1 && m.nodes[cs[0]].OpType == "DepthToSpace"
		c.quantize = !up && !strided && c != first && c != last
	}
	// IN → ReLU → (Pad, Resize, Upsample)* → conv chains.
	for _, c := range p.convs {
		if c == first {
			continue
		}
		x, ok := c.in, true
		for ok {
			pi := m.producer(x)
			if pi < 0 || len(m.consumers(x)) != 1 || m.isGraphOutput(x) {
				ok = false
				break
			}
			pn := m.nodes[pi]
			switch pn.OpType {
			case "Pad", "Resize", "Upsample":
				if pn.OpType == "Pad" && pn.parsed["mode"].String == "constant" && len(pn.Inputs) > 2 && pn.Inputs[2] != "" {
					ok = false // a non-zero constant is not homogeneous
				}
				x = pn.Inputs[0]
				continue
			case "Relu":
				ni := m.producer(pn.Inputs[0])
				if ni < 0 || len(m.consumers(pn.Inputs[0])) != 1 || m.nodes[ni].OpType != "InstanceNormalization" {
					ok = false
					break
				}
				norm := m.nodes[ni]
				if len(norm.Inputs) < 3 || m.inits[norm.Inputs[1]] == nil || m.inits[norm.Inputs[2]] == nil ||
					len(m.consumers(norm.Inputs[1])) != 1 || len(m.consumers(norm.Inputs[2])) != 1 {
					ok = false
					break
				}
				p.chains = append(p.chains, chainPlan{norm: norm, next: c})
			}
			break
		}
	}
	return p, nil
}

// chanStats is the percentile range of each channel of a tensor.
type chanStats struct{ lo, hi []float64 }

// topK keeps the k largest values seen.
type topK struct {
	k    int
	vals []float32 // ascending
}

func (t *topK) add(v float32) {
	if len(t.vals) < t.k {
		i, _ := slices.BinarySearch(t.vals, v)
		t.vals = slices.Insert(t.vals, i, v)
		return
	}
	if v <= t.vals[0] {
		return
	}
	i, _ := slices.BinarySearch(t.vals, v)
	copy(t.vals[:i-1], t.vals[1:i])
	t.vals[i-1] = v
}

// calibrate runs the model with names as outputs on every image and
// returns each channel's range at the percentile: the k-th largest and
// smallest values, k the share of values above the percentile (of all
// the images' values: they may differ in size).
func (m *editModel) calibrate(ev Evaluator, names []string, opts QuantizeOptions) (map[string]*chanStats, error) {
	for _, n := range names {
		if !m.isGraphOutput(n) {
			m.extraOut = append(m.extraOut, n)
		}
	}
	calib := m.encode()
	m.extraOut = nil
	run, err := ev.Open(calib, names)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	defer run.Close()
	var pixels float64
	for _, img := range opts.Images {
		pixels += float64(img.Width * img.Height)
	}
	his := map[string][]*topK{}
	los := map[string][]*topK{}
	for i, img := range opts.Images {
		outs, err := run.Run(img)
		if err != nil {
			return nil, fmt.Errorf("calibration frame %d: %w", i+1, err)
		}
		for j, name := range names {
			v := outs[j]
			ch := m.channels(name)
			if ch <= 0 || len(v)%ch != 0 {
				return nil, fmt.Errorf("calibration: %s has %d values, not a multiple of %d channels", name, len(v), ch)
			}
			per := len(v) / ch
			if his[name] == nil {
				// The values a channel has over all images: this one's
				// count, times the images' pixels over this one's.
				total := float64(per) * pixels / float64(img.Width*img.Height)
				k := int(math.Ceil(total * (1 - opts.Percentile)))
				k = min(max(k, 1), 4096)
				for range ch {
					his[name] = append(his[name], &topK{k: k})
					los[name] = append(los[name], &topK{k: k})
				}
			}
			for c := range ch {
				hi, lo := his[name][c], los[name][c]
				for _, x := range v[c*per : (c+1)*per] {
					hi.add(x)
					lo.add(-x)
				}
			}
		}
	}
	out := map[string]*chanStats{}
	for _, name := range names {
		st := &chanStats{}
		for c := range his[name] {
			st.hi = append(st.hi, float64(his[name][c].vals[0]))
			st.lo = append(st.lo, -float64(los[name][c].vals[0]))
		}
		out[name] = st
	}
	return out, nil
}

// channels is the channel count of a conv's input or output, from the
// weights of the conv that reads or writes it.
func (m *editModel) channels(name string) int {
	for _, n := range m.nodes {
		if (n.OpType != "Conv" && n.OpType != "ConvTranspose") || len(n.Inputs) < 2 {
			continue
		}
		w := m.inits[n.Inputs[1]]
		if w == nil {
			continue
		}
		in, out := int(w.Dims[1]), int(w.Dims[0])
		if n.OpType == "ConvTranspose" {
			in, out = int(w.Dims[0]), int(w.Dims[1])
		}
		switch name {
		case n.Inputs[0]:
			return in
		case n.Outputs[0]:
			return out
		}
	}
	return 0
}

// scaleConvOut makes conv c compute a_o·(y_o − mid_o) on output channel o:
// weights and bias times a_o, bias minus a_o·mid_o (a bias is added when
// there is none).
func (m *editModel) scaleConvOut(c *convPlan, a, mid []float64) {
	w := m.inits[c.weight]
	wv := w.Floats()
	per := len(wv) / len(a)
	for o := range a {
		for i := o * per; i < (o+1)*per; i++ {
			wv[i] = float32(float64(wv[i]) * a[o])
		}
	}
	w.SetFloats(wv)
	b := make([]float32, len(a))
	if c.bias != "" {
		b = m.inits[c.bias].Floats()
	}
	for o := range a {
		b[o] = float32(a[o] * (float64(b[o]) - mid[o]))
	}
	if c.bias == "" {
		c.bias = m.addFloats(c.out+"_bias", []int64{int64(len(a))}, b)
		c.node.Inputs = append(c.node.Inputs[:2], c.bias)
		return
	}
	m.inits[c.bias].SetFloats(b)
}

// scaleNorm multiplies an InstanceNormalization's scale and shift of
// channel c by s_c.
func (m *editModel) scaleNorm(n *editNode, s []float64) {
	for _, name := range n.Inputs[1:3] {
		t := m.inits[name]
		v := t.Floats()
		for c := range v {
			v[c] = float32(float64(v[c]) * s[c])
		}
		t.SetFloats(v)
	}
}

// divideConvIn divides conv c's input-channel weights by s.
func (m *editModel) divideConvIn(c *convPlan, s []float64) {
	w := m.inits[c.weight]
	wv := w.Floats()
	d := w.Dims
	k := int(d[2] * d[3])
	for o := range int(d[0]) {
		for i := range int(d[1]) {
			ch := i // Conv: [out, in, kh, kw]
			if c.transpose {
				ch = o // ConvTranspose: [in, out, kh, kw]
			}
			base := (o*int(d[1]) + i) * k
			for j := base; j < base+k; j++ {
				wv[j] = float32(float64(wv[j]) / s[ch])
			}
		}
	}
	w.SetFloats(wv)
}

// uint8Params are the scale and zero point that map [lo, hi] (widened to
// hold 0) onto 0..255.
func uint8Params(lo, hi float64) (float32, uint8) {
	lo, hi = min(lo, 0), max(hi, 0)
	if hi-lo < 1e-8 {
		hi = lo + 1e-8
	}
	scale := (hi - lo) / 255
	zp := math.Round(-lo / scale)
	return float32(scale), uint8(min(255, max(0, zp)))
}

// qdqConv puts conv c between QuantizeLinear/DequantizeLinear pairs: on
// its input and output (per-tensor uint8) and its weights (per-channel
// symmetric int8) and bias (int32 at input scale × weight scale).
func (m *editModel) qdqConv(c *convPlan, in, out *chanStats) error {
	idx := slices.Index(m.nodes, c.node)
	if idx < 0 {
		return fmt.Errorf("quantize: %s is not in the graph", c.out)
	}
	lo, hi := slices.Min(in.lo), slices.Max(in.hi)
	sx, zx := uint8Params(lo, hi)
	lo, hi = slices.Min(out.lo), slices.Max(out.hi)
	sy, zy := uint8Params(lo, hi)

	w := m.inits[c.weight]
	wv := w.Floats()
	cout := int(w.Dims[0])
	per := len(wv) / cout
	ws := make([]float32, cout)
	wq := make([]byte, len(wv))
	for o := range cout {
		var mx float64
		for _, x := range wv[o*per : (o+1)*per] {
			mx = max(mx, math.Abs(float64(x)))
		}
		if mx == 0 {
			mx = 1
		}
		ws[o] = float32(mx / 127)
		for i := o * per; i < (o+1)*per; i++ {
			q := math.Round(float64(wv[i]) / float64(ws[o]))
			wq[i] = byte(int8(min(127, max(-127, q))))
		}
	}
	base := c.out
	wqName := m.addInit(base+"_wq", tensorInt8, w.Dims, wq)
	wsName := m.addFloats(base+"_ws", []int64{int64(cout)}, ws)
	wzName := m.addInit(base+"_wz", tensorInt8, []int64{int64(cout)}, make([]byte, cout))
	wdq := m.fresh(base + "_w")
	nodes := []*editNode{newNode("DequantizeLinear", "", []string{wqName, wsName, wzName}, []string{wdq}, onnxgraph.IntAttr("axis", 0))}

	sxName := m.addFloats(base+"_xs", nil, []float32{sx})
	zxName := m.addInit(base+"_xz", tensorUint8, nil, []byte{zx})
	xq, xdq := m.fresh(base+"_xq"), m.fresh(base+"_xdq")
	nodes = append(nodes,
		newNode("QuantizeLinear", "", []string{c.in, sxName, zxName}, []string{xq}),
		newNode("DequantizeLinear", "", []string{xq, sxName, zxName}, []string{xdq}))
	inputs := []string{xdq, wdq}
	if c.bias != "" {
		bv := m.inits[c.bias].Floats()
		bq := make([]byte, 4*cout)
		bs := make([]float32, cout)
		for o := range cout {
			bs[o] = sx * ws[o]
			q := math.Round(float64(bv[o]) / float64(bs[o]))
			binary.LittleEndian.PutUint32(bq[4*o:], uint32(int32(min(math.MaxInt32, max(-math.MaxInt32, q)))))
		}
		bqName := m.addInit(base+"_bq", tensorInt32, []int64{int64(cout)}, bq)
		bsName := m.addFloats(base+"_bs", []int64{int64(cout)}, bs)
		bzName := m.addInit(base+"_bz", tensorInt32, []int64{int64(cout)}, make([]byte, 4*cout))
		bdq := m.fresh(base + "_b")
		nodes = append(nodes, newNode("DequantizeLinear", "", []string{bqName, bsName, bzName}, []string{bdq}, onnxgraph.IntAttr("axis", 0)))
		inputs = append(inputs, bdq)
	}
	conv := m.fresh(base + "_f")
	c.node.Inputs = inputs
	c.node.Outputs = []string{conv}
	syName := m.addFloats(base+"_ys", nil, []float32{sy})
	zyName := m.addInit(base+"_yz", tensorUint8, nil, []byte{zy})
	yq := m.fresh(base + "_yq")
	after := []*editNode{
		newNode("QuantizeLinear", "", []string{conv, syName, zyName}, []string{yq}),
		newNode("DequantizeLinear", "", []string{yq, syName, zyName}, []string{c.out}),
	}
	for i, n := range nodes {
		m.insert(idx+i, n)
	}
	idx += len(nodes)
	for i, n := range after {
		m.insert(idx+1+i, n)
	}
	return nil
}

// QuantizedName is the name a quantized sibling of a stored model gets.
func QuantizedName(name string) string { return name + ".int8" }

// IsQuantizedName reports whether a stored name is a quantized sibling's.
func IsQuantizedName(name string) bool { return strings.HasSuffix(name, ".int8") }
