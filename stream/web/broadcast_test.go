package web

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// fakeBinding is one viewer as the shared track sees it: it records the
// packets written to it, and fails every write from failFrom on (0: never),
// as a viewer that is leaving does.
type fakeBinding struct {
	id       string
	ssrc     webrtc.SSRC
	failFrom int

	mu      sync.Mutex
	writes  int
	seqs    []uint16
	markers int
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}}
}
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (f *fakeBinding) SSRC() webrtc.SSRC                                      { return f.ssrc }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return f }
func (f *fakeBinding) ID() string                                             { return f.id }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }

func (f *fakeBinding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.failFrom > 0 && f.writes >= f.failFrom {
		return 0, io.ErrClosedPipe
	}
	f.seqs = append(f.seqs, h.SequenceNumber)
	if h.Marker {
		f.markers++
	}
	return len(payload), nil
}

func (f *fakeBinding) Write(b []byte) (int, error) { return len(b), nil }

// TestOneViewersWriteErrorKeepsTheFrameForOthers: a viewer whose writes
// fail from its second packet on, bound between two others: those two
// still get every packet of every frame, in sequence, to the marker.
// (Before, the rest of the frame was dropped for everyone.)
func TestOneViewersWriteErrorKeepsTheFrameForOthers(t *testing.T) {
	bc, err := NewBroadcaster(0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	good1, leaving, good2 := &fakeBinding{id: "a", ssrc: 1}, &fakeBinding{id: "b", ssrc: 2, failFrom: 2}, &fakeBinding{id: "c", ssrc: 3}
	for _, b := range []*fakeBinding{good1, leaving, good2} {
		if _, err := bc.Track().Bind(b); err != nil {
			t.Fatal(err)
		}
	}
	pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3); return &m }, func(m *gocv.Mat) { m.Close() })
	defer pool.Close()
	const frames = 3
	start := time.Now()
	for i := range frames {
		ref := pool.Get()
		gocv.RandU(ref.V, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0)) // noise: a keyframe of several packets
		bc.RequestKeyframe()
		err := bc.send(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Captured: start.Add(time.Duration(i) * time.Second / 30)}, Image: ref})
		ref.Release()
		if !errors.Is(err, ErrRTPWrite) {
			t.Fatalf("frame %d: %v, want ErrRTPWrite", i, err)
		}
	}
	for _, b := range []*fakeBinding{good1, good2} {
		if b.markers != frames {
			t.Errorf("viewer %s: %d frames ended (marker), want %d", b.id, b.markers, frames)
		}
		if len(b.seqs) != leaving.writes || len(b.seqs) < 3*frames {
			t.Errorf("viewer %s: %d packets, want the %d written (3 or more a frame)", b.id, len(b.seqs), leaving.writes)
		}
		for i := 1; i < len(b.seqs); i++ {
			if b.seqs[i] != b.seqs[i-1]+1 {
				t.Fatalf("viewer %s: packet %d has sequence %d after %d: a gap", b.id, i, b.seqs[i], b.seqs[i-1])
			}
		}
	}
	t.Logf("%d packets in %d frames to each healthy viewer; the leaving one failed %d", len(good1.seqs), frames, leaving.writes-1)
}
