package main_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// attackJS is what another site's page does to a vidstyle it finds on
// loopback (vid is vidstyle's http://127.0.0.1:PORT). It resolves with
// what happened once every request was answered and every frame loaded
// (each wait is bounded), so the test needs no sleep:
//   - a form, enctype text/plain, posts {"paused":true,"x":"="} to
//     /api/pause (the classic trick: the name carries the JSON up to a
//     string, the value closes it), into a hidden frame;
//   - fetch(), mode no-cors with a text/plain body (no preflight), sets
//     strength 0 (the raw camera on air), pauses and picks style 1;
//     a no-cors fetch resolves only when a response came back, so the
//     requests reached the server;
//   - the overlay and the control page in frames: were they shown, they
//     would join as viewers and could be clickjacked.
const attackJS = `async (vid) => {
  const loaded = (el, ms) => new Promise(r => {
    const t = setTimeout(() => r("timeout"), ms);
    el.addEventListener("load", () => { clearTimeout(t); r("load"); }, {once: true});
  });
  const out = {form: "", fetch: [], frames: []};
  const sink = document.createElement("iframe");
  sink.name = "sink";
  const blank = loaded(sink, 5000);
  document.body.appendChild(sink);
  await blank;
  const f = document.createElement("form");
  f.method = "post"; f.enctype = "text/plain"; f.action = vid + "/api/pause"; f.target = "sink";
  const i = document.createElement("input");
  i.name = '{"paused":true,"x":"'; i.value = '"}';
  f.appendChild(i);
  document.body.appendChild(f);
  const posted = loaded(sink, 10000);
  f.submit();
  out.form = await posted;
  for (const [path, body] of [["/api/strength", '{"value":0}'], ["/api/pause", '{"paused":true}'], ["/api/style", '{"index":1}']]) {
    try {
      const r = await fetch(vid + path, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
      out.fetch.push(r.type);
    } catch (e) {
      out.fetch.push("error: " + e);
    }
  }
  for (const path of ["/overlay", "/"]) {
    const fr = document.createElement("iframe");
    fr.src = vid + path; fr.width = 320; fr.height = 180;
    const l = loaded(fr, 15000);
    document.body.appendChild(fr);
    out.frames.push(await l);
  }
  return out;
}`

type attackResult struct {
	Form   string   `json:"form"`
	Fetch  []string `json:"fetch"`
	Frames []string `json:"frames"`
}

// attackerSite serves an empty page on addr (another origin than
// vidstyle's) and returns its URL.
func attackerSite(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>another site</title><body></body>")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// TestCrossSiteFormsFetchesAndFramesInChromium: pages of other sites, in
// a real Chromium, cannot steer vidstyle's stream or watch it in a frame.
// Two attacker origins: 127.0.0.2 (cross-site) and another port on
// 127.0.0.1 (same-site to the browser, but another server). After each
// attack has run to its end, /api/state is as it was (not paused,
// strength 1, style 0), the frames hold Chromium's error page instead of
// vidstyle's (frame-ancestors 'none', X-Frame-Options DENY), and no
// framed page joined as a viewer: the overlay opened as a top-level page
// afterwards (as OBS opens it) is the only one.
//
// Without the protections this test fails (checked by hand on a build
// with them removed: the form and the fetches were 200, the state changed,
// the frames showed vidstyle's pages and the viewers counted them). The
// form alone is also stopped by the strict JSON decoding (an unknown
// field "x"), so that run also took out DisallowUnknownFields.
func TestCrossSiteFormsFetchesAndFramesInChromium(t *testing.T) {
	s := startServe(t, nil, "-model", "toon,pencil")
	before := s.state(t)
	if before.Paused || before.Strength != 1 || before.Style != 0 || before.Viewers != 0 {
		t.Fatalf("state at start: %+v", before)
	}
	browser := startChromium(t)
	var closeTabs []context.CancelFunc
	defer func() {
		for _, c := range closeTabs {
			c()
		}
	}()
	for _, origin := range []struct{ name, addr string }{
		{"cross-site (127.0.0.2)", "127.0.0.2:0"},
		{"same-site (another port)", "127.0.0.1:0"},
	} {
		t.Run(origin.name, func(t *testing.T) {
			site := attackerSite(t, origin.addr)
			tab, cancel := chromedp.NewContext(browser)
			closeTabs = append(closeTabs, cancel) // open until the viewers are counted
			// Answers Chromium withheld from the page for their
			// Cross-Origin-Resource-Policy: they came, so the request was
			// delivered (and refused: the state check below).
			var corp atomic.Int32
			if err := chromedp.Listen(tab, func(ev any) {
				if e, ok := ev.(*network.EventLoadingFailed); ok && e.BlockedReason == network.BlockedReasonCorpNotSameOrigin {
					corp.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate(site)); err != nil {
				t.Fatalf("attack page: %v", err)
			}
			res, err := chromedp.Run(tab, chromedp.Evaluate[attackResult](fmt.Sprintf("(%s)(%q)", attackJS, s.base), chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("attack page: %v", err)
			}
			t.Logf("attack: %+v", res)
			if res.Form != "load" || len(res.Fetch) != 3 || len(res.Frames) != 2 {
				t.Fatalf("the attack did not run to its end: %+v", res)
			}
			withheld := int(corp.Load())
			for _, f := range res.Fetch {
				// An answer came back: opaque, or withheld for its CORP
				// (a network error, no answer at all, rejects too).
				if f != "opaque" && withheld == 0 {
					t.Errorf("fetch: %s, and no answer withheld for its Cross-Origin-Resource-Policy: want an answer", f)
				}
				if f != "opaque" {
					withheld--
				}
			}
			if st := s.state(t); st.Paused || st.Strength != 1 || st.Style != 0 {
				t.Errorf("another site's page changed the state: %+v", st)
			}
			shown := framesShown(t, tab)
			if len(shown) != 3 {
				t.Fatalf("frames of the attacker's page show %v, want 3 (the form's answer, the overlay, the page)", shown)
			}
			for _, u := range shown {
				if strings.HasPrefix(u, s.base) {
					t.Errorf("a frame of another site shows vidstyle's %s", u)
				}
			}
		})
	}
	// The overlay as OBS opens it (top-level) joins; the framed ones, in
	// the attackers' tabs still open, loaded before it and would have
	// joined first had they been shown.
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(s.base+"/overlay")); err != nil {
		t.Fatal(err)
	}
	until(t, 20*time.Second, "the top-level overlay joins", func() bool { return s.state(t).Viewers >= 1 })
	if st := s.state(t); st.Viewers != 1 {
		t.Errorf("%d viewers, want only the top-level overlay", st.Viewers)
	}
}

// framesShown is the address of the document each frame of tab holds:
// frames of the page's own process from its frame tree, frames in other
// processes (cross-site frames: site isolation) by asking their targets.
// A frame the browser refused holds chrome-error://chromewebdata/.
func framesShown(t *testing.T, tab context.Context) []string {
	t.Helper()
	got, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, c := range got.FrameTree.ChildFrames {
		t.Logf("frame %q: %s (asked for %s)", c.Frame.Name, c.Frame.URL, c.Frame.UnreachableURL)
		shown = append(shown, c.Frame.URL)
	}
	targets, err := chromedp.Targets(tab)
	if err != nil {
		t.Fatal(err)
	}
	self := chromedp.FromContext(tab).Target.TargetID
	for _, ti := range targets {
		if ti.Type != "iframe" || ti.ParentID != self {
			continue
		}
		frame, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(ti.TargetID), chromedp.WithDetachOnCancel())
		href, err := chromedp.Run(frame, chromedp.Evaluate[string]("location.href"))
		cancel()
		if err != nil {
			t.Fatalf("frame target %s: %v", ti.URL, err)
		}
		t.Logf("frame in another process: %s (asked for %s)", href, ti.URL)
		shown = append(shown, href)
	}
	return shown
}
