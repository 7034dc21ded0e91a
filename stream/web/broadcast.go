package web

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream/vp8"
)

// Broadcaster encodes each new frame once, to VP8, and writes it to one
// shared track that every viewer's PeerConnection reads. Frames arrive
// newest-wins: a slow encoder skips frames instead of queueing them, and
// writing to the track never waits on a viewer (RTP over UDP).
type Broadcaster struct {
	track  *webrtc.TrackLocalStaticRTP
	frames *pipeline.Latest[*gocv.Mat]
	kbps   int
	log    *slog.Logger

	wantKey atomic.Bool
	// kick wakes Run for a keyframe request: with no new frame coming
	// (the input ended, or paused), the last one is sent again as one, so
	// that a viewer who joins then sees the picture.
	kick    chan struct{}
	encoded atomic.Int64
	encNs   atomic.Int64

	// Owned by Run.
	enc     *vp8.Encoder
	i420    gocv.Mat
	last    gocv.Mat // a copy of the last frame sent
	hasLast bool
	pkt     rtp.Packetizer
	tsBase  uint32
	start   time.Time
	lastTS  uint32
	// Log rate: at most one line a second.
	lastWarn time.Time
	failed   int
	mu       sync.Mutex
	closed   bool
}

// NewBroadcaster makes the track; kbps 0 picks a bitrate from the frame size.
func NewBroadcaster(kbps int, log *slog.Logger) (*Broadcaster, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "vidstyle")
	if err != nil {
		return nil, err
	}
	return &Broadcaster{
		track: track, frames: pipeline.NewLatest[*gocv.Mat](), kbps: kbps, log: log, kick: make(chan struct{}, 1),
		i420: gocv.NewMat(), last: gocv.NewMat(), pkt: rtp.NewPacketizer(1200, 96, rand.Uint32(), &vp8.Payloader{}, rtp.NewRandomSequencer(), 90000),
		tsBase: rand.Uint32(),
	}, nil
}

// Track is the shared track to add to each PeerConnection.
func (b *Broadcaster) Track() *webrtc.TrackLocalStaticRTP { return b.track }

// RequestKeyframe makes the next frame a keyframe (a viewer joined, or
// sent a PLI or FIR); when no new frame is waiting, the last one is sent
// again, as a keyframe, at once.
func (b *Broadcaster) RequestKeyframe() {
	b.wantKey.Store(true)
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Send offers a frame; it takes over the frame's reference.
func (b *Broadcaster) Send(f pipeline.Frame[*gocv.Mat]) { b.frames.Put(f) }

// Stats reports frames encoded and the mean encode time (BGR→I420 + VP8).
func (b *Broadcaster) Stats() (int64, time.Duration) {
	n := b.encoded.Load()
	if n == 0 {
		return 0, 0
	}
	return n, time.Duration(b.encNs.Load() / n)
}

// Run encodes and sends until ctx is done.
func (b *Broadcaster) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.frames.Ready():
		case <-b.kick:
		}
		f, ok := b.frames.TryTake()
		if !ok {
			if b.hasLast && b.wantKey.Load() {
				// Nothing new (ended, paused, a slow model): the last
				// picture again, so that a viewer who just joined has one.
				again := pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Captured: time.Now()}, Image: &pipeline.Ref[*gocv.Mat]{V: &b.last}}
				if err := b.send(again); err != nil {
					b.warn(err)
				}
			}
			continue
		}
		err := b.send(f)
		if err == nil || errors.Is(err, ErrRTPWrite) {
			f.Image.V.CopyTo(&b.last)
			b.hasLast = true
		}
		if err != nil {
			b.warn(err)
		}
		f.Image.Release()
	}
}

// warn logs a send error, at most one line a second with the count of
// those it held back. A viewer's write failing is routine (one is
// leaving): debug level.
func (b *Broadcaster) warn(err error) {
	b.failed++
	if time.Since(b.lastWarn) < time.Second {
		return
	}
	level := slog.LevelWarn
	if errors.Is(err, ErrRTPWrite) {
		level = slog.LevelDebug
	}
	msg := "web preview: " + err.Error()
	if b.failed > 1 {
		msg += fmt.Sprintf(" (%d frames with errors since the last line)", b.failed)
	}
	b.log.Log(context.Background(), level, msg)
	b.failed, b.lastWarn = 0, time.Now()
}

func (b *Broadcaster) send(f pipeline.Frame[*gocv.Mat]) error {
	t0 := time.Now()
	src := *f.Image.V
	w, h := src.Cols()&^1, src.Rows()&^1 // VP8 4:2:0 wants even sizes
	if b.enc == nil {
		kbps := b.kbps
		if kbps == 0 {
			kbps = max(300, w*h*30/12500) // ≈ 0.08 bit per pixel at 30 fps
		}
		enc, err := vp8.NewEncoder(w, h, kbps)
		if err != nil {
			return err
		}
		b.enc, b.start = enc, f.Captured
		b.log.Debug(fmt.Sprintf("web preview: VP8 %dx%d at %d kbit/s", w, h, kbps))
	}
	if w != src.Cols() || h != src.Rows() {
		even := src.Region(image.Rect(0, 0, w, h))
		gocv.CvtColor(even, &b.i420, gocv.ColorBGRToYUVI420)
		even.Close()
	} else {
		gocv.CvtColor(src, &b.i420, gocv.ColorBGRToYUVI420)
	}
	data, err := b.i420.DataPtrUint8()
	if err != nil {
		return err
	}
	// The RTP time comes from the capture time: no repeated frames, true
	// pacing when the model is slower than the camera.
	at := f.Captured
	if at.IsZero() {
		at = time.Now()
	}
	ts := b.tsBase + uint32(at.Sub(b.start).Seconds()*90000)
	if int32(ts-b.lastTS) <= 0 && b.encoded.Load() > 0 {
		ts = b.lastTS + 1
	}
	b.lastTS = ts
	frame, _, err := b.enc.Encode(data, int64(ts-b.tsBase), b.wantKey.Swap(false))
	if err != nil {
		return err
	}
	// The track writes each packet to every viewer and reports any
	// viewer's failure (one leaving, as a rule) after the others have
	// it: the frame goes on for them, to its last packet.
	var writeErr error
	if len(frame) > 0 {
		for _, p := range b.pkt.Packetize(frame, 0) {
			p.Timestamp = ts
			if err := b.track.WriteRTP(p); err != nil && writeErr == nil {
				writeErr = fmt.Errorf("%w: %w", ErrRTPWrite, err)
			}
		}
	}
	b.encoded.Add(1)
	b.encNs.Add(int64(time.Since(t0)))
	return writeErr
}

// Close frees the encoder; call it after Run has returned.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.frames.Close()
	if b.enc != nil {
		b.enc.Close()
	}
	b.i420.Close()
	b.last.Close()
}
