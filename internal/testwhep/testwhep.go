// Package testwhep is a minimal WHEP viewer for tests: a receive-only pion
// PeerConnection on loopback that counts the RTP packets it gets. It is
// imported by tests only.
package testwhep

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// Viewer is one WHEP session.
type Viewer struct {
	pc       *webrtc.PeerConnection
	base     string
	location string
	packets  atomic.Int64
	arrived  chan struct{} // a packet came (one pending signal at most)
}

// Watch opens a WHEP session on the server at base (http://host:port) and
// reads what it sends; the test fails if the server refuses it.
func Watch(t testing.TB, base string) *Viewer {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &Viewer{pc: pc, base: base, arrived: make(chan struct{}, 1)}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			v.packets.Add(1)
			select {
			case v.arrived <- struct{}{}:
			default:
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("ICE gathering did not complete")
	}
	res, err := http.Post(base+"/whep", "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil || res.StatusCode != http.StatusCreated {
		pc.Close()
		t.Fatalf("WHEP: %v %v", res, err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	v.location = res.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		pc.Close()
		t.Fatal(err)
	}
	return v
}

// Packets is the count of RTP packets received so far.
func (v *Viewer) Packets() int64 { return v.packets.Load() }

// WaitPackets waits until n packets have come or timeout has passed, and
// returns the count.
func (v *Viewer) WaitPackets(n int64, timeout time.Duration) int64 {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for v.Packets() < n {
		select {
		case <-v.arrived:
		case <-deadline.C:
			return v.Packets()
		}
	}
	return v.Packets()
}

// Close ends the session (DELETE) and the PeerConnection.
func (v *Viewer) Close() {
	if v.location != "" {
		req, _ := http.NewRequest(http.MethodDelete, v.base+v.location, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
	v.pc.Close()
}
