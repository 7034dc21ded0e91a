package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// hostGuard answers whether a request's Host header names this server.
// It is what stops DNS rebinding: a page on evil.example whose name is
// made to resolve to 127.0.0.1 still sends "Host: evil.example", and
// gets 421 on every path.
//
// Allowed: the listen host, localhost, 127.0.0.1 and [::1], each on the
// server's port, and each AllowedHosts entry (on the server's port, or on
// the port it names). On an unspecified listen address (0.0.0.0, [::],
// ":port") any Host is accepted: the machine can then be reached under
// names and addresses the server cannot know (its LAN name, a DHCP
// address), and a token is always required there, which a rebinding
// page does not have (a browser never sends it by itself: it is no
// cookie).
type hostGuard struct {
	any   bool
	names map[string]bool // lower case, no brackets: allowed on the server's port
	exact map[string]bool // "name:port" as net.JoinHostPort writes it
	port  atomic.Pointer[string]
}

func newHostGuard(listenHost string, extra []string) (*hostGuard, error) {
	g := &hostGuard{names: map[string]bool{}, exact: map[string]bool{}}
	if ip := net.ParseIP(listenHost); listenHost == "" || (ip != nil && ip.IsUnspecified()) {
		g.any = true
	}
	for _, n := range []string{listenHost, "localhost", "127.0.0.1", "::1"} {
		g.names[strings.ToLower(n)] = true
	}
	for _, h := range extra {
		if h == "" || strings.ContainsAny(h, "/ \t@?#") {
			return nil, fmt.Errorf("allowed host %q: %w", h, ErrAllowedHost)
		}
		h = strings.ToLower(h)
		if name, port, err := net.SplitHostPort(h); err == nil {
			if name == "" || port == "" {
				return nil, fmt.Errorf("allowed host %q: %w", h, ErrAllowedHost)
			}
			g.exact[net.JoinHostPort(name, port)] = true
		} else {
			g.names[strings.Trim(h, "[]")] = true
		}
	}
	return g, nil
}

// setPort records the port the server listens on; "0" or "" leaves it
// unknown (a Handler served by someone else's listener), and then any
// port is accepted with an allowed name.
func (g *hostGuard) setPort(port string) {
	if port == "0" {
		port = ""
	}
	g.port.Store(&port)
}

func (g *hostGuard) allows(host string) bool {
	if g.any {
		return true
	}
	name, port, err := net.SplitHostPort(host)
	if err != nil { // no port: the scheme's default
		name, port = strings.Trim(host, "[]"), "80"
	}
	name = strings.ToLower(name)
	if name == "" {
		return false
	}
	if ip := net.ParseIP(name); strings.HasPrefix(host, "[") && (ip == nil || ip.To4() != nil) {
		return false // brackets hold an IPv6 address, nothing else ("[localhost]")
	}
	if g.exact[net.JoinHostPort(name, port)] {
		return true
	}
	want := ""
	if p := g.port.Load(); p != nil {
		want = *p
	}
	return g.names[name] && (want == "" || port == want)
}

// sameOrigin reports whether a request may come from the page that made
// it: no Sec-Fetch-Site or "same-origin"/"none" (typed into the address
// bar, OBS), and no Origin or one that is this server's own (the Host it
// was sent to, already checked by hostGuard). "same-site" is refused too:
// another port on localhost is another site's server.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origins := r.Header.Values("Origin")
	switch len(origins) {
	case 0:
		return true
	case 1:
	default: // a browser sends one
		return false
	}
	// An origin is scheme://host[:port] and nothing more (https too: a
	// TLS proxy in front, -allow-host).
	u, err := url.Parse(origins[0])
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Opaque == "" && u.Path == "" && u.User == nil &&
		u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(origins[0], "#") &&
		strings.EqualFold(u.Host, r.Host)
}

// guard is the outermost handler: the Host check on every path, and
// headers that keep every page out of frames (the control page and the
// overlay alike: OBS opens the overlay as a top-level page), the token
// out of Referer and every answer out of other sites' pages
// (Cross-Origin-Resource-Policy). A request another site's page makes
// for anything but a top-level navigation (a script or image tag, a
// no-cors fetch, a frame) is refused and its connection closed, so that
// such a page can neither tell that vidstyle runs nor hold the
// connections the user's browser and OBS share with it; following a link
// to the control page still works, on a connection that is then closed.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !s.hosts.allows(r.Host) {
			s.cfg.Log.Debug(fmt.Sprintf("web preview: refused Host %q from %s", r.Host, r.RemoteAddr))
			refuse(w, "this server does not answer to that host name", http.StatusMisdirectedRequest)
			return
		}
		if !sameOrigin(r) {
			// A navigation into a frame (iframe, embed, object) is refused
			// like the rest: no page may be framed anyway, and a hostile
			// page's frames held the browser's six connections a site
			// (and their keep-alive) for every site it hopped to.
			if r.Header.Get("Sec-Fetch-Mode") != "navigate" || !topLevel(r.Header.Get("Sec-Fetch-Dest")) {
				refuse(w, "cross-site requests are refused", http.StatusForbidden)
				return
			}
			// A link followed from another site: answered, and its
			// connection not kept.
			h.Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// topLevel reports whether a navigation's Sec-Fetch-Dest is a top-level
// page ("document"; none from a browser that does not send it).
func topLevel(dest string) bool {
	return dest == "" || dest == "document"
}

// refuse answers a refused request and closes its connection: a
// kept-alive connection that only ever gets refusals would otherwise hold
// one of the places every local client shares (MaxConnsPerAddr: the
// browser, OBS and a hostile page in that browser all come from
// 127.0.0.1).
func refuse(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

// notCrossSite wraps the API and WHEP routes: a request another site's
// page made is refused (403).
func notCrossSite(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			refuse(w, "cross-site requests are refused", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}
