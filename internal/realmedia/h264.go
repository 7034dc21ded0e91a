package realmedia

import (
	"bytes"
	"errors"
)

// stripH264Timing rewrites every sequence parameter set of an Annex B
// H.264 stream so that its VUI says nothing about timing
// (timing_info_present_flag = 0), as streams from many cameras and
// broadcast encoders do. x264 always writes the timing it was given; no
// ffmpeg option removes it.
func stripH264Timing(stream []byte) ([]byte, error) {
	var out bytes.Buffer
	nals := splitAnnexB(stream)
	if len(nals) == 0 {
		return nil, errors.New("no NAL units")
	}
	seen := false
	for _, nal := range nals {
		out.Write([]byte{0, 0, 0, 1})
		if len(nal) > 0 && nal[0]&0x1f == 7 {
			rbsp, err := spsWithoutTiming(unescape(nal[1:]))
			if err != nil {
				return nil, err
			}
			out.WriteByte(nal[0])
			out.Write(escape(rbsp))
			seen = true
			continue
		}
		out.Write(nal)
	}
	if !seen {
		return nil, errors.New("no sequence parameter set")
	}
	return out.Bytes(), nil
}

// splitAnnexB splits a byte stream at its 00 00 01 start codes (the
// zero before a four-byte start code is dropped with it).
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				nals = append(nals, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start <= len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// unescape removes emulation-prevention bytes (00 00 03 → 00 00).
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// escape inserts emulation-prevention bytes where needed.
func escape(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// bitReader reads an RBSP most significant bit first.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.err = errors.New("sequence parameter set ends early")
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 && r.err == nil {
		zeros++
		if zeros > 31 {
			r.err = errors.New("bad exp-Golomb code")
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

// spsWithoutTiming reads an SPS RBSP (after the NAL header byte) up to the
// VUI's timing_info_present_flag and, when it is set, writes the same bits
// with the flag cleared and the 65 bits of timing left out.
func spsWithoutTiming(rbsp []byte) ([]byte, error) {
	r := &bitReader{b: rbsp}
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		if r.ue() == 3 { // chroma_format_idc
			r.u(1)
		}
		r.ue()
		r.ue()
		r.u(1)
		if r.u(1) == 1 {
			return nil, errors.New("SPS with scaling matrices: not handled")
		}
	}
	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue()
	case 1:
		return nil, errors.New("SPS with pic_order_cnt_type 1: not handled")
	}
	r.ue()
	r.u(1)
	r.ue()
	r.ue()
	if r.u(1) == 0 { // frame_mbs_only_flag
		r.u(1)
	}
	r.u(1)
	if r.u(1) == 1 { // frame_cropping_flag
		r.ue()
		r.ue()
		r.ue()
		r.ue()
	}
	if r.u(1) == 0 { // vui_parameters_present_flag
		return rbsp, r.err
	}
	if r.u(1) == 1 { // aspect_ratio_info_present_flag
		if r.u(8) == 255 {
			r.u(32)
		}
	}
	if r.u(1) == 1 { // overscan_info_present_flag
		r.u(1)
	}
	if r.u(1) == 1 { // video_signal_type_present_flag
		r.u(4)
		if r.u(1) == 1 {
			r.u(24)
		}
	}
	if r.u(1) == 1 { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	flag := r.pos
	if r.u(1) == 0 || r.err != nil {
		return rbsp, r.err
	}
	// The stop bit: the last set bit of the RBSP.
	last := 8*len(rbsp) - 1
	for last >= 0 && rbsp[last/8]>>(7-last%8)&1 == 0 {
		last--
	}
	if last <= flag+65 {
		return nil, errors.New("sequence parameter set ends inside its timing")
	}
	w := &bitWriter{}
	for i := range flag {
		w.bit(rbsp[i/8] >> (7 - i%8) & 1)
	}
	w.bit(0)
	for i := flag + 66; i <= last; i++ {
		w.bit(rbsp[i/8] >> (7 - i%8) & 1)
	}
	return w.bytes(), nil
}

// bitWriter collects bits most significant first.
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) bit(v byte) {
	if w.n%8 == 0 {
		w.b = append(w.b, 0)
	}
	w.b[len(w.b)-1] |= (v & 1) << (7 - w.n%8)
	w.n++
}

// bytes is what was written, zero-padded to a whole byte.
func (w *bitWriter) bytes() []byte { return w.b }
