// Package web serves the stylized video to browsers over WebRTC: a preview
// page with style controls, an overlay page for OBS, a WHEP endpoint, and
// a small JSON API. One VP8 encoder feeds one shared track that fans out to
// every viewer.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

//go:embed assets
var assets embed.FS

// State is what the page shows and the API returns.
type State struct {
	Styles    []string `json:"styles"`
	Style     int      `json:"style"`
	Strength  float64  `json:"strength"`
	Paused    bool     `json:"paused"`
	FPS       float64  `json:"fps"`
	LatencyMS int64    `json:"latency_ms"`
	Viewers   int      `json:"viewers"`
	// Notice is what the source is going through ("camera lost -
	// retrying", "end of input"), empty while frames flow.
	Notice string `json:"notice,omitempty"`
}

// Control is the running pipeline as the web page sees it. The live
// engine implements it with the same commands its hot keys send. Each
// setter returns once the command has taken effect (a style switch: once
// the new style is the one frames are painted with) and answers with the
// state after it, which the API sends back.
type Control interface {
	State() State
	SetStyle(ctx context.Context, i int) (State, error)
	SetStrength(ctx context.Context, v float64) (State, error)
	SetPaused(ctx context.Context, p bool) (State, error)
}

// Config sets up a Server.
type Config struct {
	// Addr is where to listen (default 127.0.0.1:8080).
	Addr string
	// Token, if set, must come with every request (Authorization: Bearer,
	// or ?token= for OBS). Required off loopback; Listen makes one up if
	// it is empty then.
	Token string
	// MaxViewers caps the WebRTC sessions (default 16).
	MaxViewers int
	// ReapAfter closes sessions that never connect (default 30 s).
	ReapAfter time.Duration
	Control   Control
	Log       *slog.Logger
}

// Limits on request bodies.
const (
	maxSDP  = 64 << 10
	maxJSON = 4 << 10
)

// Server is the HTTP side: pages, WHEP, API.
type Server struct {
	cfg      Config
	api      *webrtc.API
	track    *webrtc.TrackLocalStaticRTP
	keyframe func() // asks the encoder for a keyframe
	loopback bool

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool

	srv *http.Server
	ln  net.Listener
}

type session struct {
	id        string
	pc        *webrtc.PeerConnection
	connected chan struct{}
	once      sync.Once
}

// NewServer prepares a server for track; keyframe is called when a viewer
// asks for one (a new viewer, a PLI or FIR).
func NewServer(cfg Config, track *webrtc.TrackLocalStaticRTP, keyframe func()) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.MaxViewers <= 0 {
		cfg.MaxViewers = 16
	}
	if cfg.ReapAfter <= 0 {
		cfg.ReapAfter = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("-listen %s: %w", cfg.Addr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && cfg.Token == "" {
		b := make([]byte, 16)
		rand.Read(b)
		cfg.Token = hex.EncodeToString(b)
	}
	s := &Server{cfg: cfg, track: track, keyframe: keyframe, loopback: loopback, sessions: map[string]*session{}}
	s.api, err = newAPI(loopback)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newAPI builds pion's API: VP8 only, default interceptors (NACK, RTCP
// reports); on loopback, ICE is kept to the loopback interface.
func newAPI(loopback bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if loopback {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetIncludeLoopbackCandidate(true)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Token is the access token ("" when none is needed).
func (s *Server) Token() string { return s.cfg.Token }

// Listen binds the address; Serve runs until Close.
func (s *Server) Listen() (string, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("web preview: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/"
	if s.cfg.Token != "" {
		url += "?token=" + s.cfg.Token
	}
	return url, nil
}

// Serve answers requests until Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the HTTP server and ends every session.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	sessions := s.sessions
	s.sessions = map[string]*session{}
	s.mu.Unlock()
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(ctx)
	}
	for _, ss := range sessions {
		ss.pc.Close()
	}
}

// Viewers counts the open sessions.
func (s *Server) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Handler routes the pages, WHEP and the API, behind the token check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			data, err := fs.ReadFile(static, name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(data)
		}
	}
	mux.HandleFunc("GET /{$}", page("index.html"))
	mux.HandleFunc("GET /overlay", page("overlay.html"))
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	mux.HandleFunc("POST /whep", s.whepPost)
	mux.HandleFunc("DELETE /whep/{id}", s.whepDelete)
	mux.HandleFunc("PATCH /whep/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "trickle ICE is not supported: send the offer with all candidates", http.StatusMethodNotAllowed)
	})
	mux.HandleFunc("GET /api/state", s.apiState)
	mux.HandleFunc("POST /api/style", s.apiStyle)
	mux.HandleFunc("POST /api/strength", s.apiStrength)
	mux.HandleFunc("POST /api/pause", s.apiPause)
	return s.auth(mux)
}

// auth checks the token, when there is one.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte(s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = h
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vidstyle"`)
			http.Error(w, "a valid token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a limited body; too large → 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body over %d bytes", limit), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
		}
		return nil, false
	}
	return body, true
}

// whepPost answers a WHEP offer: 201 Created, the SDP answer (after ICE
// gathering: no trickle), and the session's Location.
func (s *Server) whepPost(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
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
	s.mu.Lock()
	if s.closed || len(s.sessions) >= s.cfg.MaxViewers {
		s.mu.Unlock()
		http.Error(w, fmt.Sprintf("the viewer limit (%d) is reached", s.cfg.MaxViewers), http.StatusServiceUnavailable)
		return
	}
	id := newID()
	ss := &session{id: id, connected: make(chan struct{})}
	s.sessions[id] = ss // reserves the place
	s.mu.Unlock()

	answer, err := s.open(ss, string(offer))
	if err != nil {
		s.drop(id)
		http.Error(w, "bad offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/"+id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// open makes the PeerConnection for one viewer and returns the answer.
func (s *Server) open(ss *session, offer string) (answer string, err error) {
	defer func() { // pion can panic on odd SDP: a bad request, not a crash
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed SDP (%v)", p)
		}
	}()
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	ss.pc = pc
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
			ss.once.Do(func() { close(ss.connected) })
			s.keyframe()
			s.cfg.Log.Info(fmt.Sprintf("viewer %s connected (%d watching)", ss.id[:6], s.Viewers()))
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			if s.drop(ss.id) {
				s.cfg.Log.Info(fmt.Sprintf("viewer %s left (%d watching)", ss.id[:6], s.Viewers()))
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
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
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return fail(errors.New("ICE gathering did not complete"))
	}
	// A session that never connects is reaped.
	go func() {
		select {
		case <-ss.connected:
		case <-time.After(s.cfg.ReapAfter):
			if s.drop(ss.id) {
				s.cfg.Log.Debug("viewer " + ss.id[:6] + " never connected: closed")
			}
		}
	}()
	return pc.LocalDescription().SDP, nil
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
				s.keyframe()
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
	if ok && ss.pc != nil {
		go ss.pc.Close() // Close waits for pion's goroutines: not under the lock
	}
	return ok
}

func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	if !s.drop(r.PathValue("id")) {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) apiState(w http.ResponseWriter, r *http.Request) {
	s.writeState(w, s.cfg.Control.State())
}

func (s *Server) writeState(w http.ResponseWriter, st State) {
	st.Viewers = s.Viewers()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(st)
}

// decode reads a small JSON body strictly.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r, maxJSON)
	if !ok {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// reply sends the state a command answered with, or its error.
func (s *Server) reply(w http.ResponseWriter, st State, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.writeState(w, st)
}

func (s *Server) apiStyle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Index *int   `json:"index"`
		Name  string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	i := -1
	if req.Index != nil {
		i = *req.Index
	} else {
		for j, name := range s.cfg.Control.State().Styles {
			if name == req.Name {
				i = j
			}
		}
	}
	if i < 0 {
		http.Error(w, "give an existing style's index or name", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetStyle(r.Context(), i)
	s.reply(w, st, err)
}

func (s *Server) apiStrength(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value *float64 `json:"value"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Value == nil || *req.Value < 0 || *req.Value > 1 {
		http.Error(w, "value must be 0 to 1", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetStrength(r.Context(), *req.Value)
	s.reply(w, st, err)
}

func (s *Server) apiPause(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Paused *bool `json:"paused"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Paused == nil {
		http.Error(w, "give paused: true or false", http.StatusBadRequest)
		return
	}
	st, err := s.cfg.Control.SetPaused(r.Context(), *req.Paused)
	s.reply(w, st, err)
}
