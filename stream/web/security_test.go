package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
	"golang.org/x/sys/unix"
)

// The tests of SECURITY.md's findings: each failed before its fix.

// portOf is base's port.
func portOf(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// withHost sends the request to the server but names host in it.
func withHost(host string, then func(*http.Request)) func(*http.Request) {
	return func(req *http.Request) {
		req.Host = host
		if then != nil {
			then(req)
		}
	}
}

// TestHostHeader (DNS rebinding): only names of this server are served,
// on every path, WHEP included; any other Host gets 421.
func TestHostHeader(t *testing.T) {
	srv, base := testServer(t, Config{AllowedHosts: []string{"Vidstyle.LAN", "proxy.example:9443", "[fd00::7]"}})
	port := portOf(t, base)
	paths := []struct{ method, path, ctype string }{
		{"GET", "/", ""}, {"GET", "/overlay", ""}, {"GET", "/assets/whep.js", ""}, {"GET", "/api/state", ""},
		{"POST", "/api/pause", "application/json"}, {"POST", "/api/colors", "application/json"}, {"POST", "/whep", "application/sdp"}, {"DELETE", "/whep/x", ""},
	}
	for _, c := range []struct {
		host    string
		allowed bool
	}{
		{"127.0.0.1:" + port, true},
		{"localhost:" + port, true},
		{"LOCALHOST:" + port, true},
		{"[::1]:" + port, true},
		{"vidstyle.lan:" + port, true},
		{"proxy.example:9443", true}, // its own port
		{"[fd00::7]:" + port, true},
		{"evil.example:" + port, false}, // a rebinding page
		{"evil.example", false},
		{"127.0.0.1", false}, // port 80
		{"localhost:1", false},
		{"proxy.example:" + port, false},
		{"vidstyle.lan.evil.example:" + port, false},
		{"localhost.:" + port, false},
		{"[localhost]:" + port, false}, // brackets hold IPv6 addresses only
		{"[127.0.0.1]:" + port, false},
	} {
		for _, p := range paths {
			var body io.Reader
			if p.method == "POST" {
				body = strings.NewReader("{}")
			}
			res := do(t, p.method, base+p.path, body, withHost(c.host, func(req *http.Request) {
				if p.ctype != "" {
					req.Header.Set("Content-Type", p.ctype)
				}
			}))
			refused := res.StatusCode == http.StatusMisdirectedRequest
			if refused == c.allowed {
				t.Errorf("Host %q, %s %s: %s", c.host, p.method, p.path, res.Status)
			}
			if refused && !res.Close {
				t.Errorf("Host %q, %s %s: refused, but the connection is kept alive (it holds a place other clients need)", c.host, p.method, p.path)
			}
		}
	}
	if srv.hosts.allows("") { // an HTTP/1.0 request without Host
		t.Error("an empty Host is allowed")
	}
}

// TestHostHeaderOnAnUnspecifiedAddress: on 0.0.0.0 any Host is served,
// with the token that is always required there.
func TestHostHeaderOnAnUnspecifiedAddress(t *testing.T) {
	srv, base := testServer(t, Config{Addr: "0.0.0.0:0"})
	local := "http://127.0.0.1:" + portOf(t, base)
	for _, host := range []string{"evil.example", "mypc.lan:" + portOf(t, base), "192.0.2.7"} {
		if res := do(t, "GET", local+"/api/state", nil, withHost(host, bearer(srv.Token()))); res.StatusCode != http.StatusOK {
			t.Errorf("Host %q with the token: %s", host, res.Status)
		}
		if res := do(t, "GET", local+"/api/state", nil, withHost(host, nil)); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Host %q without the token: %s", host, res.Status)
		}
	}
}

func TestAllowedHostsAreChecked(t *testing.T) {
	for _, h := range []string{"", "http://x.example", "x.example/", "a b", ":80", "x.example:"} {
		cfg := Config{Addr: "127.0.0.1:0", AllowedHosts: []string{h}}
		if _, err := NewServer(cfg, nil, func() {}); !errors.Is(err, ErrAllowedHost) {
			t.Errorf("AllowedHosts %q: %v, want ErrAllowedHost", h, err)
		}
		if err := cfg.Check(); !errors.Is(err, ErrAllowedHost) {
			t.Errorf("AllowedHosts %q: Check says %v, want ErrAllowedHost", h, err)
		}
	}
}

// TestCrossSiteRequests: the API wants application/json and one JSON
// value; the API and WHEP refuse another site's requests (Origin, or
// Sec-Fetch-Site other than same-origin/none).
func TestCrossSiteRequests(t *testing.T) {
	ctl := &fakeControl{state: State{Styles: []string{"toon", "pencil"}, Strength: 1}}
	_, base := testServer(t, Config{Control: ctl})
	own := base // http://127.0.0.1:port
	_, sdp := offer(t)
	type hdrs map[string]string
	for _, c := range []struct {
		name, method, path, body string
		h                        hdrs
		want                     int
	}{
		{"no Content-Type", "POST", "/api/pause", `{"paused":true}`, hdrs{}, 415},
		{"text/plain (a form)", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "text/plain"}, 415},
		{"form encoded", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"JSON with charset", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "application/json; charset=utf-8"}, 200},
		{"trailing value", "POST", "/api/pause", `{"paused":false}{"paused":false}`, hdrs{"Content-Type": "application/json"}, 400},
		{"trailing junk", "POST", "/api/pause", `{"paused":false}junk`, hdrs{"Content-Type": "application/json"}, 400},
		{"other Origin", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"Origin null", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"Origin on another port", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"}, 403},
		{"Origin localhost for 127.0.0.1", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": "http://localhost:" + portOf(t, base)}, 403},
		{"cross-site", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403},
		{"cross-site GET", "GET", "/api/state", "", hdrs{"Sec-Fetch-Site": "cross-site"}, 403},
		// Frames are refused outright (a page's frames held the
		// browser's connections to vidstyle, six a site).
		{"cross-site iframe", "GET", "/", "", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, 403},
		{"same-site iframe of the overlay", "GET", "/overlay", "", hdrs{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, 403},
		{"cross-site embed", "GET", "/assets/whep.js", "", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "embed"}, 403},
		{"cross-site object", "GET", "/", "", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "object"}, 403},
		{"cross-site link followed", "GET", "/", "", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
		{"own Origin with a query", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": own + "?x"}, 403},
		{"own Origin with a fragment", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": own + "#x"}, 403},
		{"own Origin with a path", "POST", "/api/pause", `{"paused":false}`, hdrs{"Content-Type": "application/json", "Origin": own + "/x"}, 403},
		{"own Origin", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "application/json", "Origin": own}, 200},
		{"same-origin", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", "Origin": own}, 200},
		{"none (address bar)", "POST", "/api/pause", `{"paused":true}`, hdrs{"Content-Type": "application/json", "Sec-Fetch-Site": "none"}, 200},
		{"colours text/plain (a form)", "POST", "/api/colors", `{"keep":true}`, hdrs{"Content-Type": "text/plain"}, 415},
		{"colours other Origin", "POST", "/api/colors", `{"keep":true}`, hdrs{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"colours cross-site", "POST", "/api/colors", `{"keep":true}`, hdrs{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"colours unknown field", "POST", "/api/colors", `{"keep":true,"x":1}`, hdrs{"Content-Type": "application/json"}, 400},
		{"colours no value", "POST", "/api/colors", `{}`, hdrs{"Content-Type": "application/json"}, 400},
		{"colours own Origin", "POST", "/api/colors", `{"keep":true}`, hdrs{"Content-Type": "application/json", "Origin": own}, 200},
		{"colours both, differing", "POST", "/api/colors", `{"keep":false,"keep_colors":true}`, hdrs{"Content-Type": "application/json"}, 400},
		{"colours as the state names them", "POST", "/api/colors", `{"keep_colors":false}`, hdrs{"Content-Type": "application/json"}, 200},
		{"WHEP cross-site", "POST", "/whep", sdp, hdrs{"Content-Type": "application/sdp", "Sec-Fetch-Site": "cross-site"}, 403},
		{"WHEP other Origin", "POST", "/whep", sdp, hdrs{"Content-Type": "application/sdp", "Origin": "http://evil.example"}, 403},
		{"WHEP DELETE cross-site", "DELETE", "/whep/x", "", hdrs{"Sec-Fetch-Site": "cross-site"}, 403},
		{"WHEP text/plain", "POST", "/whep", sdp, hdrs{"Content-Type": "text/plain"}, 415},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		res := do(t, c.method, base+c.path, body, func(req *http.Request) {
			for k, v := range c.h {
				req.Header.Set(k, v)
			}
		})
		if res.StatusCode != c.want {
			t.Errorf("%s: %s, want %d", c.name, res.Status, c.want)
		}
		if res.StatusCode == http.StatusForbidden && !res.Close {
			t.Errorf("%s: refused, but the connection is kept alive", c.name)
		}
		if c.h["Sec-Fetch-Site"] == "cross-site" && !res.Close {
			t.Errorf("%s: %s, and the connection another site's page opened is kept alive", c.name, res.Status)
		}
	}
	if st := ctl.State(); !st.Paused || st.KeepColors {
		t.Errorf("a refused request got through, or the last accepted one did not (want paused, colours not kept): %+v", st)
	}
	// No page can be framed, and none sends the token on as a Referer.
	for _, path := range []string{"/", "/overlay", "/api/state"} {
		res := do(t, "GET", base+path, nil, nil)
		for k, v := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := res.Header.Get(k); got != v {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
			}
		}
	}
}

// TestOverlayForOBS: OBS opens the overlay as a top-level page (no
// Origin, or its own on the WHEP POST): it is served and plays; a frame
// on another site is refused.
func TestOverlayForOBS(t *testing.T) {
	srv, base := testServer(t, Config{Token: testToken})
	if res := do(t, "GET", base+"/overlay?token="+testToken, nil, nil); res.StatusCode != 200 {
		t.Fatalf("overlay: %s", res.Status)
	}
	noOrigin := connectWith(t, base, func(req *http.Request) { req.URL.RawQuery = "token=" + testToken })
	ownOrigin := connectWith(t, base, func(req *http.Request) {
		req.URL.RawQuery = "token=" + testToken
		req.Header.Set("Origin", base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	})
	waitKeyframe(t, noOrigin, "overlay without Origin")
	waitKeyframe(t, ownOrigin, "overlay with its own Origin")
	_, sdp := offer(t)
	framed := do(t, "POST", base+"/whep?token="+testToken, strings.NewReader(sdp), func(req *http.Request) {
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Origin", "https://streamer-tools.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	})
	if framed.StatusCode != http.StatusForbidden {
		t.Errorf("WHEP from an overlay framed by another site: %s, want 403", framed.Status)
	}
	if n := srv.Viewers(); n != 2 {
		t.Errorf("%d viewers, want 2", n)
	}
}

// junk opens n connections from the loopback address from, each with half
// a request header, and returns them (closed at the test's end).
func junk(t *testing.T, base, from string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	var cs []net.Conn
	for i := range n {
		c, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatalf("junk connection %d from %s: %v", i, from, err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
		cs = append(cs, c)
	}
	return cs
}

// closedByServer reports whether the server has closed c within d (EOF
// or reset, after any answer it sent), as against c being held open.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // an answer (400, 408): read on to the close
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// closedAll is closedByServer for each of cs, all at once.
func closedAll(cs []net.Conn, d time.Duration) []bool {
	closed := make([]bool, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { closed[i] = closedByServer(c, d) })
	}
	wg.Wait()
	return closed
}

// TestJunkConnectionsDoNotStarveViewers: one address holding idle,
// half-sent connections gets its connections over MaxConnsPerAddr closed
// at once, and an authorised viewer and API call from another address
// are served meanwhile. Over MaxConns in all, connections are closed too.
func TestJunkConnectionsDoNotStarveViewers(t *testing.T) {
	const perAddr, over, total = 8, 4, 20
	_, base := testServer(t, Config{Token: testToken, MaxConnsPerAddr: perAddr, MaxConns: total, ReadHeaderTimeout: 30 * time.Second})
	cs := junk(t, base, "127.0.0.2", perAddr+over)
	for i, closed := range closedAll(cs, time.Second) {
		if want := i >= perAddr; closed != want {
			t.Errorf("junk connection %d of %d from one address: closed %v, want %v", i+1, len(cs), closed, want)
		}
	}
	v := connect(t, base, testToken) // from 127.0.0.1
	waitKeyframe(t, v, "a viewer beside the junk")
	if res := do(t, "GET", base+"/api/state", nil, bearer(testToken)); res.StatusCode != 200 {
		t.Errorf("API beside the junk: %s", res.Status)
	}
	// Two more addresses, 8 each: with the 8 held and the test's own
	// client (1 to 3 kept-alive connections), only 9 to 11 fit in 20.
	more := append(junk(t, base, "127.0.0.3", perAddr), junk(t, base, "127.0.0.4", perAddr)...)
	held := perAddr
	for _, closed := range closedAll(more, time.Second) {
		if !closed {
			held++
		}
	}
	t.Logf("one address: %d held, %d closed at once; then two more addresses: %d junk connections held in all (MaxConns %d)", perAddr, over, held, total)
	if held > total-1 || held < total-3 {
		t.Errorf("over MaxConns (%d) in all: %d junk connections held, want %d to %d", total, held, total-3, total-1)
	}
}

// TestOtherUserCannotTakeEveryPlace: with a token, another user's
// program on this machine that holds idle connections from many loopback
// source addresses (127.0.0.2, .3, …: a loopback socket takes them all)
// gets MaxConnsPerAddr of them in all, not per address, so the token
// holder is still served. The other user is nobody (65534): the junk
// sockets are made on a thread whose filesystem uid is 65534, which is
// the uid the kernel gives a socket; it needs root.
func TestOtherUserCannotTakeEveryPlace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to make sockets as another user")
	}
	const perAddr, addrs, total = 8, 4, 20 // 4×8 = 32 junk > 20 places
	_, base := testServer(t, Config{Token: testToken, MaxConnsPerAddr: perAddr, MaxConns: total, ReadHeaderTimeout: 30 * time.Second})
	var cs []net.Conn
	done := make(chan error, 1)
	go func() {
		// The thread ends with this goroutine (never unlocked), its
		// filesystem uid with it.
		runtime.LockOSThread()
		if _, err := unix.SetfsuidRetUid(65534); err != nil {
			done <- err
			return
		}
		for a := range addrs {
			from := fmt.Sprintf("127.0.0.%d", a+2)
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
			for range perAddr {
				c, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
				if err != nil {
					done <- fmt.Errorf("junk connection from %s: %w", from, err)
					return
				}
				c.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
				cs = append(cs, c)
			}
		}
		done <- nil
	}()
	err := <-done
	for _, c := range cs {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, closed := range closedAll(cs, time.Second) {
		if !closed {
			held++
		}
	}
	t.Logf("another user: %d junk connections from %d addresses, %d held (MaxConnsPerAddr %d, MaxConns %d)", len(cs), addrs, held, perAddr, total)
	if held != perAddr {
		t.Errorf("another user's junk from %d addresses: %d held, want %d (one user's share)", addrs, held, perAddr)
	}
	v := connect(t, base, testToken)
	waitKeyframe(t, v, "a viewer beside another user's junk")
	if res := do(t, "GET", base+"/api/state", nil, bearer(testToken)); res.StatusCode != 200 {
		t.Errorf("API beside another user's junk: %s", res.Status)
	}
}

// TestSlowRequestsAreCutOff: a body (or header) sent at one byte per 5 s
// is cut off after ReadTimeout (ReadHeaderTimeout), and a kept-alive
// connection after IdleTimeout.
func TestSlowRequestsAreCutOff(t *testing.T) {
	const limit = time.Second
	ctl := &fakeControl{state: State{Styles: []string{"toon"}, Strength: 1}}
	_, base := testServer(t, Config{Control: ctl, ReadHeaderTimeout: limit, ReadTimeout: limit, IdleTimeout: limit})
	addr := strings.TrimPrefix(base, "http://")
	slow := func(t *testing.T, head, trickle string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(head))
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one byte every 5 s, until the server cuts it or the test ends
			for i := range len(trickle) {
				if _, err := c.Write([]byte{trickle[i]}); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Second):
				}
			}
		}()
		start := time.Now()
		if !closedByServer(c, limit+3*time.Second) {
			t.Fatalf("still open after %v", time.Since(start))
		}
		d := time.Since(start)
		t.Logf("cut after %v (limit %v)", d.Round(time.Millisecond), limit)
		if d > limit+2*time.Second {
			t.Errorf("cut after %v, want about %v", d, limit)
		}
	}
	t.Run("body", func(t *testing.T) {
		body := `{"paused":true}`
		slow(t, "POST /api/pause HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n", body)
		if ctl.State().Paused {
			t.Error("the slow body was applied")
		}
	})
	t.Run("header", func(t *testing.T) {
		slow(t, "GET /api/state HTTP/1.1\r\n", "Host: "+addr+"\r\n\r\n")
	})
	t.Run("idle", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /api/state HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(limit + 3*time.Second))
		buf := make([]byte, 4096)
		n, err := c.Read(buf) // the answer (small: one read)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
			t.Fatalf("answer %q, %v", buf[:n], err)
		}
		start := time.Now()
		if !closedByServer(c, limit+3*time.Second) {
			t.Fatalf("idle connection still open after %v", time.Since(start))
		}
		t.Logf("idle connection closed after %v (limit %v)", time.Since(start).Round(time.Millisecond), limit)
	})
}

// TestJunkOffersDoNotKeepViewersOut: 16 offers that never connect once
// took every viewer place for 30 s; now they fill at most MaxPending
// places and push each other out, and a real viewer joins.
func TestJunkOffersDoNotKeepViewersOut(t *testing.T) {
	srv, base := testServer(t, Config{ReapAfter: 30 * time.Second}) // 16 viewers, 8 pending
	_, sdp := offer(t)
	for i := range 16 {
		if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(sdp)); res.StatusCode != http.StatusCreated {
			t.Fatalf("junk offer %d: %s", i, res.Status)
		}
	}
	pending := srv.Pending()
	if pending != 8 {
		t.Errorf("%d pending, want the cap 8", pending)
	}
	start := time.Now()
	v := connect(t, base, "")
	waitKeyframe(t, v, "a viewer after 16 junk offers")
	t.Logf("16 junk offers, %d pending; a real viewer's first keyframe %v after its offer", pending, time.Since(start).Round(time.Millisecond))
	if n, p := srv.Viewers(), srv.Pending(); n != 1 || p != 7 {
		t.Errorf("%d viewers and %d pending, want 1 and 7", n, p)
	}
}

func TestPendingDefaults(t *testing.T) {
	srv, err := NewServer(Config{}, nil, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if srv.cfg.ReapAfter != 10*time.Second || srv.cfg.MaxPending != 8 || srv.cfg.MaxViewers != 16 {
		t.Errorf("ReapAfter %v, MaxPending %d, MaxViewers %d: want 10s, 8, 16", srv.cfg.ReapAfter, srv.cfg.MaxPending, srv.cfg.MaxViewers)
	}
}

// TestTokenRules: the Bearer scheme in any case; with a header and
// ?token= either one right is enough; short tokens are refused.
func TestTokenRules(t *testing.T) {
	_, base := testServer(t, Config{Token: testToken})
	for _, c := range []struct {
		name, auth, query string
		want              int
	}{
		{"Bearer", "Bearer " + testToken, "", 200},
		{"bearer", "bearer " + testToken, "", 200},
		{"BEARER", "BEARER " + testToken, "", 200},
		{"query", "", testToken, 200},
		{"wrong header, right query", "Bearer wrong-wrong-wrong-wrong", testToken, 200},
		{"right header, wrong query", "Bearer " + testToken, "wrong", 200},
		{"both wrong", "Bearer wrong-wrong-wrong-wrong", "wrong", 401},
		{"Basic", "Basic " + testToken, "", 401},
		{"no space", "Bearer" + testToken, "", 401},
		{"scheme only", "Bearer", "", 401},
		{"a prefix of it", "Bearer " + testToken[:len(testToken)-1], "", 401},
		{"none", "", "", 401},
	} {
		u := base + "/api/state"
		if c.query != "" {
			u += "?token=" + c.query
		}
		res := do(t, "GET", u, nil, func(req *http.Request) {
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
		})
		if res.StatusCode != c.want {
			t.Errorf("%s: %s, want %d", c.name, res.Status, c.want)
		}
	}
	for _, c := range []struct {
		addr, token string
		want        error
	}{
		{"127.0.0.1:0", "short", ErrTokenTooShort},
		{"0.0.0.0:0", "fifteen-chars-x", ErrTokenTooShort},
		{"127.0.0.1:0", "sixteen-chars-xx", nil},
		{"127.0.0.1:0", "with space inside it", ErrTokenChars},
		{"127.0.0.1:0", "abc+def/ghi=jklmnop", ErrTokenChars},
		{"0.0.0.0:0", "", nil}, // made up: 32 hex digits
	} {
		cfg := Config{Addr: c.addr, Token: c.token}
		srv, err := NewServer(cfg, nil, func() {})
		if !errors.Is(err, c.want) {
			t.Errorf("token %q: %v, want %v", c.token, err, c.want)
		}
		if err := cfg.Check(); !errors.Is(err, c.want) { // what a command line asks before starting
			t.Errorf("token %q: Check says %v, want %v", c.token, err, c.want)
		}
		if err == nil && len(srv.Token()) < MinTokenLen {
			t.Errorf("token %q: %q is short", c.token, srv.Token())
		}
	}
}

// TestOfferWithADataChannelIsRefused: no SCTP over DTLS (SECURITY.md:
// pion/dtls v2's GCM nonces), so an offer with a data channel gets 400.
func TestOfferWithADataChannelIsRefused(t *testing.T) {
	srv, base := testServer(t, Config{})
	api, err := newAPI(true)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if _, err := pc.CreateDataChannel("chat", nil); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.SDP, "m=application") {
		t.Fatal("the offer has no data channel")
	}
	if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(o.SDP)); res.StatusCode != http.StatusBadRequest {
		t.Errorf("offer with a data channel: %s, want 400", res.Status)
	}
	if n := srv.Pending() + srv.Viewers(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

// TestOfferWithoutVideoIsRefused: an offer that cannot receive the
// video (audio only, its video sendonly or inactive) gets 400 saying why;
// it was answered 201, a viewer that never gets a picture.
func TestOfferWithoutVideoIsRefused(t *testing.T) {
	srv, base := testServer(t, Config{})
	offers := map[string]string{}
	for _, c := range []struct {
		name string
		kind webrtc.RTPCodecType
		dir  webrtc.RTPTransceiverDirection
	}{
		{"audio only", webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverDirectionRecvonly},
		{"video sendonly", webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverDirectionSendonly},
	} {
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{}) // a browser's codecs, Opus among them
		if err != nil {
			t.Fatal(err)
		}
		if c.dir == webrtc.RTPTransceiverDirectionSendonly {
			track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s")
			if err != nil {
				t.Fatal(err)
			}
			_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: c.dir})
			if err != nil {
				t.Fatal(err)
			}
		} else if _, err := pc.AddTransceiverFromKind(c.kind, webrtc.RTPTransceiverInit{Direction: c.dir}); err != nil {
			t.Fatal(err)
		}
		o, err := pc.CreateOffer(nil)
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		offers[c.name] = o.SDP
	}
	_, sdp := offer(t) // a viewer's: video, recvonly
	offers["video inactive"] = strings.Replace(sdp, "a=recvonly", "a=inactive", 1)
	offers["video rejected (port 0)"] = regexp.MustCompile(`m=video [0-9]+ `).ReplaceAllString(sdp, "m=video 0 ")
	// Port 0 with bundle-only (a max-bundle offer's later sections) is
	// no rejection: such an offer is answered.
	bundled := regexp.MustCompile(`m=video [0-9]+ ([^\r]*)\r\n`).ReplaceAllString(sdp, "m=video 0 $1\r\na=bundle-only\r\n")
	if !strings.Contains(bundled, "m=video 0 ") || !strings.Contains(bundled, "a=bundle-only") {
		t.Fatalf("the offer was not made bundle-only:\n%s", bundled)
	}
	if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(bundled)); res.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(res.Body)
		t.Errorf("a bundle-only video section: %s %q, want 201", res.Status, body)
	}
	for name, o := range offers {
		if o == sdp {
			t.Fatalf("%s: the offer was not changed", name)
		}
		res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(o))
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no video section that receives") {
			t.Errorf("%s: %s %q, want 400 saying why", name, res.Status, body)
		}
	}
	if n := srv.Pending() + srv.Viewers(); n != 1 {
		t.Errorf("%d sessions left, want the bundle-only one", n)
	}
}

// TestICELiteOfferIsRefused: an ICE-lite offer (which browsers never
// send) would make the server start the checks with the peer's own
// credentials, so a peer that never read the answer could connect: 400,
// whether it says so for the session or for its video.
func TestICELiteOfferIsRefused(t *testing.T) {
	srv, base := testServer(t, Config{})
	_, sdp := offer(t)
	session := strings.Replace(sdp, "\r\nt=0 0\r\n", "\r\nt=0 0\r\na=ice-lite\r\n", 1)
	media := sdp // a=ice-lite right after the m=video line
	if i := strings.Index(media, "\r\nm=video "); i >= 0 {
		if j := strings.Index(media[i+2:], "\r\n"); j >= 0 {
			media = media[:i+2+j] + "\r\na=ice-lite" + media[i+2+j:]
		}
	}
	for name, o := range map[string]string{"session": session, "media": media} {
		if !strings.Contains(o, "a=ice-lite") {
			t.Fatalf("%s: the offer was not made ICE-lite:\n%s", name, o)
		}
		res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(o))
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "ICE-lite") {
			t.Errorf("ICE-lite for the %s: %s %q, want 400 saying why", name, res.Status, body)
		}
	}
	if res := post(t, base+"/whep", "application/sdp", "", strings.NewReader(sdp)); res.StatusCode != http.StatusCreated {
		t.Errorf("the same offer, full ICE: %s, want 201", res.Status)
	}
	if n := srv.Pending() + srv.Viewers(); n != 1 {
		t.Errorf("%d sessions, want the one full-ICE offer's", n)
	}
}

// TestCloseWithASessionBeingSetUp: Close while an offer is between its
// place being taken and its PeerConnection made (pc nil) does not panic,
// and the PeerConnection made after is closed, not leaked.
func TestCloseWithASessionBeingSetUp(t *testing.T) {
	bc, err := NewBroadcaster(0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", Control: &fakeControl{}}, bc.Track(), bc.RequestKeyframe)
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := srv.reserve()
	srv.Close() // ss.pc is nil here
	_, sdp := offer(t)
	if _, err := srv.open(ss, sdp); !errors.Is(err, errPushedOut) {
		t.Errorf("open after Close: %v, want %v", err, errPushedOut)
	}
	if ss.pc != nil {
		t.Error("a PeerConnection was attached to a closed session")
	}
	if ss2, msg := srv.reserve(); ss2 != nil || msg == "" {
		t.Error("a session was reserved after Close")
	}
}

// TestCloseDuringOffers: Close while offers are in flight; run with -race.
func TestCloseDuringOffers(t *testing.T) {
	srv, base := testServer(t, Config{})
	_, sdp := offer(t)
	done := make(chan int, 8)
	for range 8 {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/whep", strings.NewReader(sdp))
			req.Header.Set("Content-Type", "application/sdp")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
	}
	until := time.Now().Add(5 * time.Second)
	for srv.Pending() < 4 && time.Now().Before(until) { // some offers are being answered
		time.Sleep(time.Millisecond) // polling a count, bounded
	}
	if srv.Pending() == 0 {
		t.Fatal("no offer in flight to Close under")
	}
	srv.Close()
	codes := map[int]int{}
	for range 8 {
		select {
		case code := <-done:
			codes[code]++
		case <-time.After(15 * time.Second):
			t.Fatal("an offer did not end after Close")
		}
	}
	t.Logf("answers to the offers in flight (0: no connection): %v", codes)
	if n := srv.Pending() + srv.Viewers(); n != 0 {
		t.Errorf("%d sessions after Close", n)
	}
}

// TestAssetsNeedNoTokenButStayOnThisSite: the pages load their script with
// a plain <script src> (no token), so with a token the script must still
// come; another site's page may neither load it (a script tag, a no-cors
// fetch: refused and closed, so that it cannot tell vidstyle runs, nor
// hold connections) nor read any answer (CORP); a link to the control
// page (a navigation) still opens it.
func TestAssetsNeedNoTokenButStayOnThisSite(t *testing.T) {
	for _, token := range []string{"", testToken} {
		_, base := testServer(t, Config{Token: token})
		q := ""
		if token != "" {
			q = "?token=" + token
		}
		type hdrs map[string]string
		for _, c := range []struct {
			name, path string
			h          hdrs
			want       int
		}{
			{"the page's script", "/assets/whep.js", hdrs{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, 200},
			{"the script, typed in", "/assets/whep.js", hdrs{}, 200},
			{"another site's script tag", "/assets/whep.js", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, 403},
			{"another site's no-cors fetch", "/assets/whep.js", hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"}, 403},
			{"another port's image tag", "/" + q, hdrs{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, 403},
			{"a link from another site", "/" + q, hdrs{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
			{"the overlay, opened by OBS", "/overlay" + q, hdrs{}, 200},
		} {
			res := do(t, "GET", base+c.path, nil, func(req *http.Request) {
				for k, v := range c.h {
					req.Header.Set(k, v)
				}
			})
			if res.StatusCode != c.want {
				t.Errorf("token %q, %s: %s, want %d", token, c.name, res.Status, c.want)
			}
			if res.StatusCode == http.StatusForbidden && !res.Close {
				t.Errorf("token %q, %s: refused, but the connection is kept alive", token, c.name)
			}
			if got := res.Header.Get("Cross-Origin-Resource-Policy"); got != "same-origin" {
				t.Errorf("token %q, %s: Cross-Origin-Resource-Policy %q", token, c.name, got)
			}
		}
		for _, path := range []string{"/assets/", "/assets/index.html", "/assets/overlay.html"} {
			if res := do(t, "GET", base+path+q, nil, nil); res.StatusCode == http.StatusOK {
				t.Errorf("token %q: GET %s: %s, want nothing but the script under /assets/", token, path, res.Status)
			}
		}
		if token != "" {
			for _, path := range []string{"/", "/overlay", "/api/state"} {
				if res := do(t, "GET", base+path, nil, nil); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s without the token: %s, want 401", path, res.Status)
				}
			}
		}
	}
}

// TestOtherUsersProgramsAreRefused: with no token (loopback), a program
// another user runs on this machine gets a 403 and nothing else; the
// user's own programs are served. The other user is nobody (65534),
// which needs root to become; bash's /dev/tcp makes the request.
func TestOtherUsersProgramsAreRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a program as another user")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	ctl := &fakeControl{state: State{Styles: []string{"toon", "pencil"}, Strength: 1}}
	_, base := testServer(t, Config{Control: ctl})
	port, host := portOf(t, base), "127.0.0.1"
	get := func(uid uint32, path string) string {
		t.Helper()
		hostPort := net.JoinHostPort(host, port)
		script := fmt.Sprintf(`exec 3<>/dev/tcp/%s/%s && printf 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"paused":true}' >&3 && timeout 10 cat <&3`, host, port, path, hostPort)
		cmd := exec.Command(bash, "-c", script)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("uid %d: %v", uid, err)
		}
		return string(out)
	}
	if out := get(65534, "/api/pause"); !strings.HasPrefix(out, "HTTP/1.1 403") || !strings.Contains(out, "only its own user's programs") {
		t.Errorf("another user's request got:\n%s", out)
	}
	if ctl.State().Paused {
		t.Fatal("another user's program paused the stream")
	}
	if out := get(0, "/api/pause"); !strings.HasPrefix(out, "HTTP/1.1 200") || !ctl.State().Paused {
		t.Errorf("the user's own request got:\n%s", out)
	}
	// The same over IPv6 (/proc/net/tcp6), where the machine has it.
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		ln.Close()
		ctl6 := &fakeControl{state: State{Styles: []string{"toon"}, Strength: 1}}
		_, base6 := testServer(t, Config{Addr: "[::1]:0", Control: ctl6})
		port, host = portOf(t, base6), "::1"
		if out := get(65534, "/api/pause"); !strings.HasPrefix(out, "HTTP/1.1 403") || ctl6.State().Paused {
			t.Errorf("another user's request over IPv6 got:\n%s", out)
		}
		if out := get(0, "/api/pause"); !strings.HasPrefix(out, "HTTP/1.1 200") {
			t.Errorf("the user's own request over IPv6 got:\n%s", out)
		}
		port, host = portOf(t, base), "127.0.0.1"
	} else {
		t.Logf("no IPv6 loopback here: %v", err)
	}
	// With a token, the token is the credential (a reverse proxy runs as
	// its own user).
	_, withToken := testServer(t, Config{Token: testToken, Control: ctl})
	port = portOf(t, withToken)
	if out := get(65534, "/api/pause?token="+testToken); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Errorf("another user with the token got:\n%s", out)
	}
}

// TestProcAddr: addresses as /proc/net/tcp writes them.
func TestProcAddr(t *testing.T) {
	for _, c := range []struct {
		ip   string
		six  bool
		want string
	}{
		{"127.0.0.1", false, "0100007F:1F90"},
		{"::1", true, "00000000000000000000000001000000:1F90"},
		{"127.0.0.1", true, "0000000000000000FFFF00000100007F:1F90"},
		{"::1", false, ""},
	} {
		if got := procAddr(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 8080}, c.six); got != c.want {
			t.Errorf("%s (tcp6 %v): %q, want %q", c.ip, c.six, got, c.want)
		}
	}
}

// TestOtherUsersFromAnotherSourceAddress: a connection to 127.0.0.1 comes
// from this machine whatever its source address, so another user's
// program that binds its end to the machine's LAN address is refused too
// (it got in before: only loopback peers were looked up). The address is
// TEST-NET-1's 192.0.2.7, put on lo only in a network namespace of the
// test's own (lo its only interface: scripts/test.sh's).
func TestOtherUsersFromAnotherSourceAddress(t *testing.T) {
	const src = "192.0.2.7"
	if dial := os.Getenv("VIDSTYLE_TEST_DIAL"); dial != "" { // the other user's program
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", dial)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "POST /api/pause HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"paused\":true}", dial)
		out, _ := io.ReadAll(c)
		fmt.Printf("ANSWER<%s>\n", out)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a program as another user")
	}
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) != 1 || ifs[0].Flags&net.FlagLoopback == 0 {
		t.Skip("not in a network namespace of the test's own (scripts/test.sh makes one): no address is added to this machine's lo")
	}
	if out, err := exec.Command("ip", "addr", "add", src+"/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Skipf("ip addr add: %v %s", err, out)
	}
	defer exec.Command("ip", "addr", "del", src+"/32", "dev", "lo").Run()
	ctl := &fakeControl{state: State{Styles: []string{"toon"}, Strength: 1}}
	_, base := testServer(t, Config{Control: ctl})
	dir, err := os.MkdirTemp("", "vidstyle-dial-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	copyExe := filepath.Join(dir, "web.test")
	if err := os.WriteFile(copyExe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyExe, "-test.run=^TestOtherUsersFromAnotherSourceAddress$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIDSTYLE_TEST_DIAL=127.0.0.1:"+portOf(t, base))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "ANSWER<HTTP/1.1 403") || ctl.State().Paused {
		t.Errorf("another user's program from %s got:\n%s", src, out)
	}
}

// TestAPeerThatClosedFirstIsRefused: a program that writes its request and
// closes its end before the server accepts leaves a socket owned by no one,
// which the kernel shows as root's; its request is still there to read. It
// is refused (the kernel cannot say who sent it), by the exact lookup and
// by the /proc tables alike, and the next, live, connection is let in.
func TestAPeerThatClosedFirstIsRefused(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v", addr, err)
			continue
		}
		l := newSameUser(ln, slog.New(slog.DiscardHandler))
		gone, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(gone, "POST /api/pause HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"paused\":true}")
		src, dst := gone.LocalAddr().(*net.TCPAddr), gone.RemoteAddr().(*net.TCPAddr)
		gone.Close()
		// The closed end turns into a socket no program holds (FIN_WAIT2,
		// then TIME_WAIT) as the server's kernel acknowledges its FIN.
		six := src.IP.To4() == nil
		var p peer
		for i := 0; ; i++ {
			q, ok, err := sockDiag(src, dst, six)
			if err != nil {
				t.Fatalf("sock_diag: %v", err)
			}
			if ok && !q.live {
				p = q
				break
			}
			if i == 200 {
				t.Fatalf("%s: the closed socket is still live after 2 s", addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: the closed peer shows as uid %d, live %v", addr, p.uid, p.live)
		table := "/proc/net/tcp"
		if six {
			table = "/proc/net/tcp6"
		}
		if q, ok, _ := findSocket(table, procAddr(src, six), procAddr(dst, six)); !ok || q.live {
			t.Errorf("%s: /proc says found %v, live %v for the closed peer, want found and not live", addr, ok, q.live)
		}
		live, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.RemoteAddr().String(), live.LocalAddr().String(); got != want {
			t.Errorf("%s: Accept let in %s, want the live peer %s", addr, got, want)
		}
		if q, ok, err := sockDiag(live.LocalAddr().(*net.TCPAddr), c.LocalAddr().(*net.TCPAddr), six); err != nil || !ok || !q.live || int(q.uid) != os.Getuid() {
			t.Errorf("%s: the live peer: %+v found %v err %v, want live and ours", addr, q, ok, err)
		}
		c.Close()
		live.Close()
		l.Close()
	}
}
