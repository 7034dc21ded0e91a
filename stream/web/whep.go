package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// session is one WHEP viewer. It is pending from the offer until its
// PeerConnection connects (ICE and DTLS), and a viewer after. Pending
// sessions have their own cap (MaxPending) and reap time (ReapAfter), so
// that offers that never connect cannot take the viewers' places.
//
// pc and connected belong to Server.mu. Whoever removes the session from
// Server.sessions (under the lock) ends it: closes done and the
// PeerConnection, once.
type session struct {
	id        string
	created   time.Time
	pc        *webrtc.PeerConnection // nil until open has made it
	connected bool
	up        chan struct{} // closed when it connects
	done      chan struct{} // closed when it ends
}

// whepPost answers a WHEP offer: 201 Created, the SDP answer (after ICE
// gathering: no trickle), and the session's Location.
func (s *Server) whepPost(w http.ResponseWriter, r *http.Request) {
	if !hasMediaType(r, "application/sdp") {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, ok := readBody(w, r, maxSDP)
	if !ok {
		return
	}
	if !strings.HasPrefix(strings.TrimSpace(string(offer)), "v=0") {
		http.Error(w, "the body is not an SDP offer", http.StatusBadRequest)
		return
	}
	ss, msg := s.reserve()
	if ss == nil {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	answer, err := s.open(ss, string(offer))
	if err != nil {
		if !s.drop(ss.id) { // ended meanwhile: closed or pushed out
			http.Error(w, "the session ended before it was answered: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "bad offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/"+ss.id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// reserve makes a pending session, or says why there is no room. When
// every pending place is taken, the oldest pending session gives its
// place up: junk offers cannot keep a real viewer out, only push each
// other out (a real viewer connects within a second on a LAN).
func (s *Server) reserve() (*session, string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, "the server is closing"
	}
	viewers, pending, oldest := s.countLocked()
	if viewers >= s.cfg.MaxViewers {
		s.mu.Unlock()
		return nil, fmt.Sprintf("the viewer limit (%d) is reached", s.cfg.MaxViewers)
	}
	var evicted *session
	if pending >= s.cfg.MaxPending && oldest != nil {
		evicted = oldest
		delete(s.sessions, oldest.id)
	}
	ss := &session{id: newID(), created: time.Now(), up: make(chan struct{}), done: make(chan struct{})}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	if evicted != nil {
		s.end(evicted)
		s.cfg.Log.Debug(fmt.Sprintf("viewer %s pushed out by a newer offer (%d pending at most)", evicted.id[:6], s.cfg.MaxPending))
	}
	return ss, ""
}

// countLocked counts viewers and pending sessions and finds the oldest
// pending one.
func (s *Server) countLocked() (viewers, pending int, oldest *session) {
	for _, ss := range s.sessions {
		if ss.connected {
			viewers++
			continue
		}
		pending++
		if oldest == nil || ss.created.Before(oldest.created) {
			oldest = ss
		}
	}
	return viewers, pending, oldest
}

// attach gives a session its PeerConnection, unless the session has
// ended meanwhile (Close, pushed out): then the caller closes pc.
func (s *Server) attach(ss *session, pc *webrtc.PeerConnection) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.id] != ss {
		return false
	}
	ss.pc = pc
	return true
}

// open makes the PeerConnection for one viewer and returns the answer.
func (s *Server) open(ss *session, offer string) (answer string, err error) {
	defer func() { // pion can panic on odd SDP: a bad request, not a crash
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed SDP (%v)", p)
		}
	}()
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}
	parsed, err := desc.Unmarshal()
	if err != nil {
		return "", err
	}
	// No data channel: then pion never starts SCTP, and DTLS carries only
	// its handshake (see SECURITY.md on pion/dtls v2's GCM nonces).
	video := false
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media == "application" {
			return "", errDataChannel
		}
		if _, lite := m.Attribute("ice-lite"); lite {
			return "", errICELite
		}
		// A video section that can receive: not rejected (port 0 without
		// bundle-only, which Firefox's and GStreamer's max-bundle offers
		// give every section after the first), not sendonly or inactive.
		// An audio-only offer was answered 201, a viewer that could never
		// get a picture.
		_, bundleOnly := m.Attribute("bundle-only")
		if m.MediaName.Media == "video" && (m.MediaName.Port.Value != 0 || bundleOnly) {
			_, sendOnly := m.Attribute("sendonly")
			_, inactive := m.Attribute("inactive")
			video = video || !sendOnly && !inactive
		}
	}
	if !video {
		return "", errNoVideo
	}
	if _, lite := parsed.Attribute("ice-lite"); lite {
		return "", errICELite
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	if !s.attach(ss, pc) {
		pc.Close()
		return "", errPushedOut
	}
	fail := func(err error) (string, error) {
		pc.Close()
		return "", err
	}
	sender, err := pc.AddTrack(s.track)
	if err != nil {
		return fail(err)
	}
	go s.readRTCP(sender)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.connected(ss)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			if s.drop(ss.id) {
				s.cfg.Log.Info(fmt.Sprintf("viewer %s left (%d watching)", ss.id[:6], s.Viewers()))
			}
		}
	})
	if err := pc.SetRemoteDescription(desc); err != nil {
		return fail(err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(err)
	}
	gatherTimeout := time.NewTimer(10 * time.Second)
	defer gatherTimeout.Stop()
	select {
	case <-gathered:
	case <-ss.done:
		return "", errPushedOut // ended by Close or a newer offer: pc is closed
	case <-gatherTimeout.C:
		return fail(errors.New("ICE gathering did not complete"))
	}
	go s.reap(ss)
	return pc.LocalDescription().SDP, nil
}

// reap ends a session that has not connected ReapAfter after its answer.
func (s *Server) reap(ss *session) {
	t := time.NewTimer(s.cfg.ReapAfter)
	defer t.Stop()
	select {
	case <-ss.up:
	case <-ss.done:
	case <-t.C:
		if s.drop(ss.id) {
			s.cfg.Log.Debug("viewer " + ss.id[:6] + " never connected: closed")
		}
	}
}

// connected turns a pending session into a viewer, unless the viewer cap
// was reached while it was connecting.
func (s *Server) connected(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.id] != ss || ss.connected {
		s.mu.Unlock()
		return
	}
	if viewers, _, _ := s.countLocked(); viewers >= s.cfg.MaxViewers {
		delete(s.sessions, ss.id)
		s.mu.Unlock()
		s.end(ss)
		s.cfg.Log.Info(fmt.Sprintf("viewer %s connected over the viewer limit (%d): closed", ss.id[:6], s.cfg.MaxViewers))
		return
	}
	ss.connected = true
	close(ss.up)
	s.mu.Unlock()
	s.keyframe.request()
	s.cfg.Log.Info(fmt.Sprintf("viewer %s connected (%d watching)", ss.id[:6], s.Viewers()))
}

// readRTCP reads a viewer's RTCP (needed for NACK) and turns PLI and FIR
// into keyframe requests. It ends when the sender is closed.
func (s *Server) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.keyframe.request()
			}
		}
	}
}

// drop ends a session; it reports whether it was still open.
func (s *Server) drop(id string) bool {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	delete(s.sessions, id)
	s.mu.Unlock()
	if ok {
		s.end(ss)
	}
	return ok
}

// end closes a session just removed from s.sessions by the caller. The
// PeerConnection's Close waits for pion's goroutines: not under the lock,
// and not on the caller's time. A session with no PeerConnection yet is
// left to open, which finds it gone in attach.
func (s *Server) end(ss *session) {
	close(ss.done)
	s.mu.Lock()
	pc := ss.pc
	s.mu.Unlock()
	if pc != nil {
		go pc.Close()
	}
}

func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	if !s.drop(r.PathValue("id")) {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}
