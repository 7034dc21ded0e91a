package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// fakeControl records what the API asked.
type fakeControl struct {
	mu    sync.Mutex
	state State
}

func (f *fakeControl) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}
func (f *fakeControl) SetStyle(_ context.Context, i int) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Style = i
	return f.state, nil
}
func (f *fakeControl) SetStrength(_ context.Context, v float64) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Strength = v
	return f.state, nil
}
func (f *fakeControl) SetPaused(_ context.Context, p bool) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Paused = p
	return f.state, nil
}
func (f *fakeControl) SetKeepColors(_ context.Context, on bool) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.KeepColors = on
	return f.state, nil
}

// testServer runs a server fed with 30 fps synthetic frames.
func testServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	bc, err := NewBroadcaster(0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Control == nil {
		cfg.Control = &fakeControl{state: State{Styles: []string{"toon", "pencil"}, Strength: 1}}
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	srv, err := NewServer(cfg, bc.Track(), bc.RequestKeyframe)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); srv.Serve() }()
	go func() { defer wg.Done(); bc.Run(ctx) }()
	pool := pipeline.NewPool(func() *gocv.Mat { m := gocv.NewMatWithSize(180, 320, gocv.MatTypeCV8UC3); return &m }, func(m *gocv.Mat) { m.Close() })
	go func() { // 30 fps for as long as the test runs
		defer wg.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ref := pool.Get()
			ref.V.SetTo(gocv.NewScalar(float64(i%255), 128, 64, 0))
			bc.Send(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Captured: time.Now()}, Image: ref})
		}
	}()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		wg.Wait()
		bc.Close()
		pool.Close()
	})
	return srv, strings.TrimSuffix(strings.SplitN(url, "?", 2)[0], "/")
}

// viewer is a pion client that receives the video over WHEP.
type viewer struct {
	pc        *webrtc.PeerConnection
	location  string
	keyframes atomic.Int32
	frames    atomic.Int32
	ssrc      atomic.Uint32
	got       chan struct{}
}

func offer(t testing.TB) (*webrtc.PeerConnection, string) {
	t.Helper()
	api, err := newAPI(true)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, pc.LocalDescription().SDP
}

func post(t testing.TB, url, contentType, token string, body io.Reader) *http.Response {
	t.Helper()
	return do(t, http.MethodPost, url, body, func(req *http.Request) {
		req.Header.Set("Content-Type", contentType)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	})
}

// do sends a request that edit may change (headers, Host) first.
func do(t testing.TB, method, url string, body io.Reader, edit func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read and close at once: the connection goes back to the client's
	// pool instead of counting against the server's per-address cap.
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	return res
}

// bearer sets the token as a Bearer header ("" leaves none).
func bearer(token string) func(*http.Request) {
	return func(req *http.Request) {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
}

func connect(t testing.TB, base, token string) *viewer {
	t.Helper()
	return connectWith(t, base, bearer(token))
}

// connectWith is connect with the WHEP POST as edit makes it.
func connectWith(t testing.TB, base string, edit func(*http.Request)) *viewer {
	t.Helper()
	pc, sdp := offer(t)
	v := &viewer{pc: pc, got: make(chan struct{}, 1)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.ssrc.Store(uint32(tr.SSRC()))
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if len(p.Payload) < 5 || p.Payload[0]&0x10 == 0 { // S: first packet of a frame
				continue
			}
			v.frames.Add(1)
			if p.Payload[0]&0x80 == 0 || p.Payload[1]&0x80 == 0 {
				continue // no PictureID: the bug this project avoids
			}
			if p.Payload[4]&0x01 == 0 { // VP8 P bit clear: a keyframe
				v.keyframes.Add(1)
				select {
				case v.got <- struct{}{}:
				default:
				}
			}
		}
	})
	res := do(t, http.MethodPost, base+"/whep", strings.NewReader(sdp), func(req *http.Request) {
		req.Header.Set("Content-Type", "application/sdp")
		edit(req)
	})
	if res.StatusCode != http.StatusCreated || res.Header.Get("Content-Type") != "application/sdp" || !strings.HasPrefix(res.Header.Get("Location"), "/whep/") {
		t.Fatalf("WHEP POST: %s %v", res.Status, res.Header)
	}
	answer, _ := io.ReadAll(res.Body)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	v.location = res.Header.Get("Location")
	t.Cleanup(func() { pc.Close() })
	return v
}

func waitKeyframe(t *testing.T, v *viewer, what string) {
	t.Helper()
	select {
	case <-v.got:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no keyframe within 10 s (%d frames)", what, v.frames.Load())
	}
}

func TestWHEPViewerGetsKeyframesAndCanLeave(t *testing.T) {
	srv, base := testServer(t, Config{})
	v := connect(t, base, "")
	waitKeyframe(t, v, "on joining")
	for range 200 { // frames keep coming (bounded wait)
		if v.frames.Load() > 15 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v.frames.Load() <= 15 {
		t.Fatalf("only %d frames", v.frames.Load())
	}
	before := v.keyframes.Load()
	if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc.Load()}}); err != nil {
		t.Fatal(err)
	}
	waitKeyframe(t, v, "after a PLI")
	if v.keyframes.Load() <= before {
		t.Fatalf("no new keyframe after the PLI")
	}
	if srv.Viewers() != 1 {
		t.Fatalf("%d viewers", srv.Viewers())
	}
	req, _ := http.NewRequest(http.MethodDelete, base+v.location, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	res.Body.Close()
	if srv.Viewers() != 0 {
		t.Fatalf("%d viewers after DELETE", srv.Viewers())
	}
	res, _ = http.DefaultClient.Do(req)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %s", res.Status)
	}
	res.Body.Close()
}

const testToken = "s3cret-s3cret-s3cret"

func TestBadRequests(t *testing.T) {
	_, base := testServer(t, Config{Addr: "127.0.0.1:0", Token: testToken, MaxViewers: 1})
	_, sdp := offer(t)
	cases := []struct {
		name, ctype, token string
		body               io.Reader
		want               int
	}{
		{"no token", "application/sdp", "", strings.NewReader(sdp), http.StatusUnauthorized},
		{"wrong token", "application/sdp", "guess", strings.NewReader(sdp), http.StatusUnauthorized},
		{"not SDP", "application/sdp", testToken, strings.NewReader("hello"), http.StatusBadRequest},
		{"malformed SDP", "application/sdp", testToken, strings.NewReader("v=0\r\nm=video x y\r\na=????\r\n"), http.StatusBadRequest},
		{"10 MB", "application/sdp", testToken, bytes.NewReader(bytes.Repeat([]byte("v"), 10<<20)), http.StatusRequestEntityTooLarge},
		{"wrong type", "text/plain", testToken, strings.NewReader(sdp), http.StatusUnsupportedMediaType},
		{"type with a suffix", "application/sdpx", testToken, strings.NewReader(sdp), http.StatusUnsupportedMediaType},
		{"type with a parameter", "application/sdp; charset=utf-8", testToken, strings.NewReader(sdp), http.StatusCreated},
	}
	for _, c := range cases {
		if res := post(t, base+"/whep", c.ctype, c.token, c.body); res.StatusCode != c.want {
			t.Errorf("%s: %s, want %d", c.name, res.Status, c.want)
		}
	}
	// The API and pages need the token too; ?token= works for OBS.
	for path, want := range map[string]int{"/api/state": 401, "/overlay": 401, "/overlay?token=" + testToken: 200, "/api/state?token=" + testToken: 200} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, res.Status, want)
		}
	}
}

// TestViewerCap: with MaxViewers connected, a new offer gets 503.
func TestViewerCap(t *testing.T) {
	srv, base := testServer(t, Config{MaxViewers: 1})
	waitKeyframe(t, connect(t, base, ""), "the one viewer")
	_, sdp := offer(t)
	if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(sdp)); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an offer over the viewer cap: %s, want 503", res.Status)
	}
	if n := srv.Viewers(); n != 1 {
		t.Errorf("%d viewers, want 1", n)
	}
}

// TestSessionsThatNeverConnectAreReaped: an offer whose peer never
// answers ICE is closed after ReapAfter; over MaxPending, a new offer
// pushes out the oldest, so the count stays at the cap.
func TestSessionsThatNeverConnectAreReaped(t *testing.T) {
	const n = 100
	srv, base := testServer(t, Config{ReapAfter: 3 * time.Second, MaxPending: n})
	_, sdp := offer(t) // one offer, posted 101 times, never answered
	for i := range n + 1 {
		if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(sdp)); res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %d: %s", i, res.Status)
		}
	}
	if p, v := srv.Pending(), srv.Viewers(); p != n || v != 0 {
		t.Fatalf("%d pending and %d viewers, want %d and 0 before the reaping", p, v, n)
	}
	until := time.Now().Add(15 * time.Second)
	for srv.Pending() > 0 && time.Now().Before(until) {
		time.Sleep(50 * time.Millisecond) // polling a count, bounded
	}
	if n := srv.Pending(); n != 0 {
		t.Fatalf("%d sessions left after the reap time", n)
	}
}

// casesAPI drives TestAPI and seeds FuzzAPI.
var casesAPI = []struct {
	path, body string
	want       int
}{
	{"/api/style", `{"index":1}`, 200},
	{"/api/style", `{"index":0,"name":"pencil"}`, 400}, // the index was taken, the name ignored
	{"/api/style", `{"index":1,"name":"nope"}`, 400},
	{"/api/style", `{"index":1,"name":"pencil"}`, 200},
	{"/api/style", `{"name":"toon"}`, 200},
	{"/api/style", `{"name":"nope"}`, 400},
	{"/api/style", `{"index":-5}`, 400},
	{"/api/style", `{"index":99999999999999999999}`, 400},
	{"/api/strength", `{"value":0.5}`, 200},
	{"/api/strength", `{"value":2}`, 400},
	{"/api/strength", `{}`, 400},
	{"/api/pause", `{"paused":true}`, 200},
	{"/api/pause", "{\"paused\":true}\n ", 200},
	{"/api/pause", `{"paused":1}`, 400},
	{"/api/pause", `{"paused":true,"extra":1}`, 400},
	{"/api/pause", `not json`, 400},
	{"/api/pause", `[`, 400},
	{"/api/pause", `{"paused":false}{"paused":true}`, 400}, // data after the value
	{"/api/pause", `{"paused":false} x`, 400},
}

func TestAPI(t *testing.T) {
	ctl := &fakeControl{state: State{Styles: []string{"toon", "pencil"}, Strength: 1}}
	_, base := testServer(t, Config{Control: ctl})
	for _, c := range casesAPI {
		if res := post(t, base+c.path, "application/json", "", strings.NewReader(c.body)); res.StatusCode != c.want {
			t.Errorf("%s %s: %s, want %d", c.path, c.body, res.Status, c.want)
		}
	}
	if st := ctl.State(); st.Style != 0 || st.Strength != 0.5 || !st.Paused {
		t.Errorf("state %+v", st)
	}
}

// TestViewersInWaves: 60 viewers join and leave in waves below the cap;
// the server's sessions and goroutines go back to where they were.
func TestViewersInWaves(t *testing.T) {
	srv, base := testServer(t, Config{MaxViewers: 16})
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	heapBefore := heap()
	for wave := range 6 { // 6 waves × 10 viewers
		var vs []*viewer
		for range 10 {
			vs = append(vs, connect(t, base, ""))
		}
		for _, v := range vs {
			waitKeyframe(t, v, "wave viewer")
		}
		for _, v := range vs {
			req, _ := http.NewRequest(http.MethodDelete, base+v.location, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			v.pc.Close()
		}
		if n := srv.Viewers(); n != 0 {
			t.Fatalf("wave %d: %d viewers left", wave, n)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+5 {
		t.Errorf("goroutines: %d before the waves, %d after", baseline, n)
	}
	if after := heap(); after > heapBefore+16<<20 {
		t.Errorf("heap in use: %d MB before the waves, %d MB after", heapBefore>>20, after>>20)
	}
}

// TestOffLoopbackNeedsAToken: listening beyond loopback with no token
// makes a random one, and every request without it gets 401.
func TestOffLoopbackNeedsAToken(t *testing.T) {
	srv, base := testServer(t, Config{Addr: "0.0.0.0:0"})
	token := srv.Token()
	if len(token) != 32 {
		t.Fatalf("token %q: want 32 random hex digits", token)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	local := "http://127.0.0.1:" + u.Port()
	_, sdp := offer(t)
	wrong := token[:31] + "0" // the token but for its last digit
	if token[31] == '0' {
		wrong = token[:31] + "1"
	}
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/state", "", http.StatusUnauthorized},
		{"GET", "/api/state", "guess", http.StatusUnauthorized},
		{"GET", "/", "", http.StatusUnauthorized},
		{"POST", "/whep", "", http.StatusUnauthorized},
		{"POST", "/whep", wrong, http.StatusUnauthorized},
		{"GET", "/api/state", token, http.StatusOK},
	} {
		var body io.Reader
		if c.method == "POST" {
			body = strings.NewReader(sdp)
		}
		req, _ := http.NewRequest(c.method, local+c.path, body)
		req.Header.Set("Content-Type", "application/sdp")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s %s with token %q: %s, want %d", c.method, c.path, c.token, res.Status, c.want)
		}
	}
}

// TestListenURLs: on every interface the URL printed is one this machine
// opens (not "http://[::]:port/"), and one warning says the stream is
// reachable beyond it; on loopback there is no warning.
func TestListenURLs(t *testing.T) {
	for _, c := range []struct {
		addr, prefix string
		warn         bool
		said         string // the address the warning names
	}{
		{"0.0.0.0:0", "http://127.0.0.1:", true, "0.0.0.0:"},
		{"[::]:0", "http://127.0.0.1:", true, "[::]:"},
		{"127.0.0.1:0", "http://127.0.0.1:", false, ""},
	} {
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
		bc, err := NewBroadcaster(0, log)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := NewServer(Config{Addr: c.addr, Log: log, Control: &fakeControl{}}, bc.Track(), bc.RequestKeyframe)
		if err != nil {
			t.Fatal(err)
		}
		u, err := srv.Listen()
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		srv.ln.Close()
		bc.Close()
		if !strings.HasPrefix(u, c.prefix) || c.warn != strings.Contains(u, "?token="+srv.Token()) {
			t.Errorf("%s: URL %s", c.addr, u)
		}
		if got := strings.Contains(logged.String(), "beyond this machine"); got != c.warn {
			t.Errorf("%s: warning %v, want %v: %q", c.addr, got, c.warn, logged.String())
		}
		if c.said != "" && !strings.Contains(logged.String(), "listening on "+c.said) {
			t.Errorf("%s: the warning does not name the address asked for (%s): %q", c.addr, c.said, logged.String())
		}
	}
}

// TestListenOnIPv4AloneForAnIPv4Address: -listen 0.0.0.0:port is every
// IPv4 interface, as the user wrote, not IPv6 too: a connection over ::1
// is refused, one over 127.0.0.1 answered; [::]:port keeps both.
func TestListenOnIPv4AloneForAnIPv4Address(t *testing.T) {
	for _, c := range []struct {
		addr string
		six  bool
	}{{"0.0.0.0:0", false}, {"[::]:0", true}} {
		bc, err := NewBroadcaster(0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := NewServer(Config{Addr: c.addr, Log: slog.New(slog.DiscardHandler), Control: &fakeControl{}}, bc.Track(), bc.RequestKeyframe)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Listen(); err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		_, port, _ := net.SplitHostPort(srv.ln.Addr().String())
		four, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Errorf("%s: 127.0.0.1 refused: %v", c.addr, err)
		} else {
			four.Close()
		}
		six, err := net.Dial("tcp", "[::1]:"+port)
		if err == nil {
			six.Close()
		}
		if c.addr == "0.0.0.0:0" && err == nil {
			t.Errorf("%s: answered over IPv6 (::1)", c.addr)
		}
		if c.six && err != nil && ipv6Loopback() {
			t.Errorf("%s: ::1 refused: %v", c.addr, err)
		}
		srv.ln.Close()
		bc.Close()
	}
}

// ipv6Loopback says whether this network namespace has ::1.
func ipv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
