// Package web serves the stylized video to browsers over WebRTC: a preview
// page with style controls, an overlay page for OBS, a WHEP endpoint, and
// a small JSON API. One VP8 encoder feeds one shared track that fans out to
// every viewer.
//
// Every request passes a Host check (DNS rebinding) and the token check
// when there is a token; the API and WHEP refuse cross-site requests, and
// no page may be framed. Connections, requests and sessions that never
// connect are bounded. SECURITY.md at the repository root has the model.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
)

//go:embed assets
var assets embed.FS

// State is what the page shows and the API returns.
type State struct {
	Styles []string `json:"styles"`
	// Precisions are the styles' precisions, in the same order: "fp32",
	// or "int8" for a quantized model.
	Precisions []string `json:"precisions"`
	Style      int      `json:"style"`
	Strength   float64  `json:"strength"`
	Paused     bool     `json:"paused"`
	// KeepColors is colour preservation: the style's luminance with the
	// source's colours.
	KeepColors bool    `json:"keep_colors"`
	FPS        float64 `json:"fps"`
	LatencyMS  int64   `json:"latency_ms"`
	Viewers    int     `json:"viewers"`
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
	SetKeepColors(ctx context.Context, on bool) (State, error)
}

// Config sets up a Server. Zero fields take the defaults given.
type Config struct {
	// Addr is where to listen (default 127.0.0.1:8080).
	Addr string
	// Token, if set, must come with every request: Authorization: Bearer
	// (the scheme in any case), or ?token= for OBS; with both, either one
	// being right is enough. At least MinTokenLen characters of A-Z a-z
	// 0-9 - . _ ~. Required off loopback: NewServer makes one up (32 hex
	// digits) if it is empty then.
	Token string
	// AllowedHosts are more names (or name:port) the server answers to,
	// for a name in /etc/hosts or a port forward. Besides them: the listen
	// host, localhost, 127.0.0.1 and [::1], on the server's port. Any other
	// Host header gets 421 (DNS rebinding). On 0.0.0.0 or [::] any Host is
	// accepted: the token guards the server there.
	AllowedHosts []string
	// MaxViewers caps the connected WebRTC sessions (default 16).
	MaxViewers int
	// MaxPending caps the sessions that have had an answer but are not
	// connected yet (default 8); a new offer over it pushes out the
	// oldest one.
	MaxPending int
	// ReapAfter closes sessions that have not connected this long after
	// their answer (default 10 s).
	ReapAfter time.Duration
	// ReadHeaderTimeout (default 5 s), ReadTimeout (the whole request,
	// body included; default 10 s), WriteTimeout (from the end of the
	// request's header to the end of the answer, which waits for ICE
	// gathering or a style switch; default 30 s) and IdleTimeout (a
	// kept-alive connection between requests; default 60 s) bound what a
	// slow or idle client can hold.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConns (default 256) and MaxConnsPerAddr (from one remote IP
	// address, or from one other user's programs on this machine, whatever
	// their addresses; default 32) cap the open TCP connections; one over
	// a cap is closed at once.
	MaxConns, MaxConnsPerAddr int
	Control                   Control
	Log                       *slog.Logger
}

// MinTokenLen is the shortest token NewServer accepts.
const MinTokenLen = 16

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
	keyframe *keyframes // asks the encoder for a keyframe, at a bounded rate
	loopback bool
	hosts    *hostGuard

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool

	srv *http.Server
	ln  *connLimiter
}

// NewServer prepares a server for track; keyframe is called when a viewer
// asks for one (a new viewer, a PLI or FIR).
func NewServer(cfg Config, track *webrtc.TrackLocalStaticRTP, keyframe func()) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	orDefault(&cfg.MaxViewers, 16)
	orDefault(&cfg.MaxPending, 8)
	orDefault(&cfg.ReapAfter, 10*time.Second)
	orDefault(&cfg.ReadHeaderTimeout, 5*time.Second)
	orDefault(&cfg.ReadTimeout, 10*time.Second)
	orDefault(&cfg.WriteTimeout, 30*time.Second)
	orDefault(&cfg.IdleTimeout, 60*time.Second)
	orDefault(&cfg.MaxConns, 256)
	orDefault(&cfg.MaxConnsPerAddr, 32)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(cfg.Addr) // Check parsed it
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && cfg.Token == "" {
		b := make([]byte, 16)
		rand.Read(b)
		cfg.Token = hex.EncodeToString(b)
	}
	hosts, err := newHostGuard(host, cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	hosts.setPort(port)
	s := &Server{cfg: cfg, track: track, keyframe: &keyframes{ask: keyframe, every: keyframeEvery}, loopback: loopback, hosts: hosts, sessions: map[string]*session{}}
	s.api, err = newAPI(loopback)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Check reports what NewServer would refuse in the address, the token and
// the allowed hosts, without listening or making anything: a command line
// can tell a wrong option before it loads models. An empty Addr is the
// default.
func (cfg Config) Check() error {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %s: %w", addr, err)
	}
	n, perr := strconv.Atoi(port)
	switch {
	case perr == nil && (n < 0 || n > 65535):
		return fmt.Errorf("listen address %s: %w", addr, fmt.Errorf("port %d: use 0 to 65535", n))
	case perr != nil && port != "":
		if _, err := net.LookupPort("tcp", port); err != nil { // a service name ("http") is a port
			return fmt.Errorf("listen address %s: %w", addr, fmt.Errorf("port %q: use 0 to 65535", port))
		}
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() && !localAddress(ip) {
		return fmt.Errorf("listen address %s: %w", addr, fmt.Errorf("%s is not an address of this machine", host))
	}
	if err := checkToken(cfg.Token); err != nil {
		return err
	}
	_, err = newHostGuard(host, cfg.AllowedHosts)
	return err
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// checkToken refuses a token that is short or holds characters a URL
// would need escaped ("" is no token).
func checkToken(t string) error {
	if t == "" {
		return nil
	}
	if len(t) < MinTokenLen {
		return fmt.Errorf("%w: %d characters, at least %d needed", ErrTokenTooShort, len(t), MinTokenLen)
	}
	for _, c := range t {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return fmt.Errorf("%w (found %q)", ErrTokenChars, c)
		}
	}
	return nil
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
	ln, err := net.Listen(listenNetwork(s.cfg.Addr), s.cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("web preview: %w", err)
	}
	if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		s.hosts.setPort(port)
	}
	if s.cfg.Token == "" {
		// No token (loopback only): other users' programs are kept out by
		// their uid; a token is the credential otherwise.
		ln = newSameUser(ln, s.cfg.Log)
	}
	s.ln = newConnLimiter(ln, s.cfg.MaxConns, s.cfg.MaxConnsPerAddr, s.cfg.Token != "", s.cfg.Log)
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
	}
	shown := ln.Addr().String()
	tcp, _ := ln.Addr().(*net.TCPAddr)
	if tcp != nil && tcp.IP.IsUnspecified() {
		// "http://[::]:8080/" opens nowhere: this machine's own URL, and
		// the addresses other machines can use, on a line of its own.
		shown = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	query := ""
	if s.cfg.Token != "" {
		query = "?token=" + neturl.QueryEscape(s.cfg.Token)
	}
	if !s.loopback {
		s.cfg.Log.Warn(fmt.Sprintf("web preview: listening on %s, beyond this machine: whoever can reach it and has the token can watch and control the stream%s",
			ln.Addr(), networkURLs(tcp, query)))
	}
	return "http://" + shown + "/" + query, nil
}

// listenNetwork is the network to listen on at addr: IPv4 alone for an
// IPv4 address, 0.0.0.0 included (Go would otherwise take it for every
// interface in both families and report "[::]"), else "tcp" (an IPv6
// address, "[::]" on both families as the system sets it, a name).
func listenNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp"
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && !strings.Contains(host, ":") {
		return "tcp4"
	}
	return "tcp"
}

// networkURLs lists, for a server listening on every interface, up to
// three URLs other machines can open it at (" (from the network:
// http://192.168.1.5:8080/?token=…)"), or "" when it listens on one
// address or the machine has no other.
func networkURLs(tcp *net.TCPAddr, query string) string {
	if tcp == nil || !tcp.IP.IsUnspecified() {
		return ""
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	var urls []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() || !n.IP.IsGlobalUnicast() || (n.IP.To4() == nil && tcp.IP.To4() != nil) {
			continue
		}
		if len(urls) == 3 {
			break
		}
		urls = append(urls, "http://"+net.JoinHostPort(n.IP.String(), strconv.Itoa(tcp.Port))+"/"+query)
	}
	if len(urls) == 0 {
		return ""
	}
	return " (from the network: " + strings.Join(urls, ", ") + ")"
}

// Serve answers requests until Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the HTTP server and ends every session, those still being
// set up included.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	sessions := s.sessions
	s.sessions = map[string]*session{}
	var pcs []*webrtc.PeerConnection
	for _, ss := range sessions {
		close(ss.done)
		if ss.pc != nil { // nil: open has not made it yet, and will find the session gone
			pcs = append(pcs, ss.pc)
		}
	}
	s.mu.Unlock()
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(ctx)
	}
	for _, pc := range pcs {
		pc.Close()
	}
}

// Viewers counts the connected sessions.
func (s *Server) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _, _ := s.countLocked()
	return n
}

// Pending counts the sessions not connected yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, n, _ := s.countLocked()
	return n
}

// Handler routes the pages, WHEP and the API, behind the Host check and
// the token check; the API and WHEP refuse cross-site requests.
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
	// The pages' script, and nothing else of the files (no listing, no
	// second copy of the pages without the token).
	mux.HandleFunc("GET /assets/whep.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "whep.js")
	})
	mux.HandleFunc("POST /whep", notCrossSite(s.whepPost))
	mux.HandleFunc("DELETE /whep/{id}", notCrossSite(s.whepDelete))
	mux.HandleFunc("PATCH /whep/{id}", notCrossSite(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "trickle ICE is not supported: send the offer with all candidates", http.StatusMethodNotAllowed)
	}))
	mux.HandleFunc("GET /api/state", notCrossSite(s.apiState))
	mux.HandleFunc("POST /api/style", notCrossSite(s.apiStyle))
	mux.HandleFunc("POST /api/strength", notCrossSite(s.apiStrength))
	mux.HandleFunc("POST /api/pause", notCrossSite(s.apiPause))
	mux.HandleFunc("POST /api/colors", notCrossSite(s.apiColors))
	return s.guard(s.auth(mux))
}

// auth checks the token, when there is one. The request may carry it in
// Authorization (scheme "Bearer" in any case, RFC 6750) and in ?token=;
// it passes when either is right, so a stale header cannot lock out a
// page opened with the right link. Both are compared in constant time,
// as SHA-256 digests (so that not even the token's length shows). The
// pages' script, /assets/whep.js (the same in every copy of vidstyle),
// needs no token: the pages load it with a plain <script src>, which
// carries none.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.Token))
	same := func(got string) int {
		h := sha256.Sum256([]byte(got))
		return subtle.ConstantTimeCompare(h[:], want[:])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/assets/whep.js" {
			next.ServeHTTP(w, r)
			return
		}
		ok := 0
		if q, found := r.URL.Query()["token"]; found && len(q) > 0 {
			ok |= same(q[0])
		}
		if scheme, cred, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
			ok |= same(strings.TrimSpace(cred))
		}
		if ok != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vidstyle"`)
			refuse(w, "a valid token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// localAddress reports whether ip is one of this machine's interface
// addresses (what a listener can bind).
func localAddress(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: let Listen say
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
