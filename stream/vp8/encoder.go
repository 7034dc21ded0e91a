// Package vp8 encodes frames to VP8 with libvpx, tuned for real-time
// preview (one thread, CBR, no lag, cpu-used −6, real-time deadline: each
// frame comes out as soon as it goes in, and colour conversion plus
// encoding take about 4 ms of one core at 640×360; see BENCHMARKS.md), and
// splits them into RTP payloads.
package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct {
	vpx_codec_ctx_t codec;
	int w, h;
} vs_enc;

static int vs_open(vs_enc* e, int w, int h, int kbps) {
	vpx_codec_enc_cfg_t cfg;
	if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0)) return -1;
	cfg.g_w = w;
	cfg.g_h = h;
	cfg.g_timebase.num = 1;
	cfg.g_timebase.den = 90000;
	cfg.rc_end_usage = VPX_CBR;
	cfg.rc_target_bitrate = kbps;
	cfg.g_lag_in_frames = 0;
	cfg.g_threads = 1;
	cfg.kf_mode = VPX_KF_AUTO;
	cfg.kf_max_dist = 300;
	cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	cfg.rc_min_quantizer = 4;
	cfg.rc_max_quantizer = 56;
	if (vpx_codec_enc_init(&e->codec, vpx_codec_vp8_cx(), &cfg, 0)) return -2;
	vpx_codec_control(&e->codec, VP8E_SET_CPUUSED, -6);
	vpx_codec_control(&e->codec, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
	e->w = w;
	e->h = h;
	return 0;
}

// vs_encode encodes one I420 frame and copies the compressed frame into
// out. It returns the byte count, or a negative number on error.
static int vs_encode(vs_enc* e, unsigned char* i420, long long pts, unsigned long dur, int force_kf,
                     unsigned char* out, int cap, int* key) {
	vpx_image_t img;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, e->w, e->h, 1, i420)) return -3;
	if (vpx_codec_encode(&e->codec, &img, pts, dur, force_kf ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME)) return -1;
	int n = 0;
	*key = 0;
	vpx_codec_iter_t it = NULL;
	const vpx_codec_cx_pkt_t* p;
	while ((p = vpx_codec_get_cx_data(&e->codec, &it)) != NULL) {
		if (p->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		if (n + (int)p->data.frame.sz > cap) return -2;
		memcpy(out + n, p->data.frame.buf, p->data.frame.sz);
		n += (int)p->data.frame.sz;
		if (p->data.frame.flags & VPX_FRAME_IS_KEY) *key = 1;
	}
	return n;
}

static const char* vs_error(vs_enc* e) { return vpx_codec_error_detail(&e->codec) ? vpx_codec_error_detail(&e->codec) : vpx_codec_error(&e->codec); }

static void vs_close(vs_enc* e) { vpx_codec_destroy(&e->codec); }
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// ErrClosed means the encoder was used after Close.
var ErrClosed = errors.New("vp8: encoder closed")

// Encoder is a libvpx VP8 encoder. It is safe for use by one goroutine at
// a time; Close may be called from any.
type Encoder struct {
	mu     sync.Mutex
	enc    *C.vs_enc
	w, h   int
	out    []byte
	closed bool
}

// NewEncoder makes an encoder for w×h frames (both even) at about kbps.
func NewEncoder(w, h, kbps int) (*Encoder, error) {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("vp8: size %dx%d must be positive and even", w, h)
	}
	e := &Encoder{enc: (*C.vs_enc)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vs_enc{})))), w: w, h: h, out: make([]byte, w*h*2+4096)}
	if rc := C.vs_open(e.enc, C.int(w), C.int(h), C.int(kbps)); rc != 0 {
		C.free(unsafe.Pointer(e.enc))
		return nil, fmt.Errorf("vp8: cannot open the encoder (%d)", int(rc))
	}
	return e, nil
}

// Encode compresses one I420 frame (w×h luma, then the two quarter-size
// chroma planes) with presentation time pts in 1/90000 s. The returned
// slice is valid until the next call.
func (e *Encoder) Encode(i420 []byte, pts int64, forceKey bool) (frame []byte, key bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, ErrClosed
	}
	if len(i420) < e.w*e.h*3/2 {
		return nil, false, fmt.Errorf("vp8: %d bytes is not a %dx%d I420 frame", len(i420), e.w, e.h)
	}
	var k C.int
	force := C.int(0)
	if forceKey {
		force = 1
	}
	n := C.vs_encode(e.enc, (*C.uchar)(unsafe.Pointer(&i420[0])), C.longlong(pts), 3000, force,
		(*C.uchar)(unsafe.Pointer(&e.out[0])), C.int(len(e.out)), &k)
	if n < 0 {
		return nil, false, fmt.Errorf("vp8: encode: %s", C.GoString(C.vs_error(e.enc)))
	}
	return e.out[:n], k != 0, nil
}

// Close frees the encoder. It is idempotent.
func (e *Encoder) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	C.vs_close(e.enc)
	C.free(unsafe.Pointer(e.enc))
}
