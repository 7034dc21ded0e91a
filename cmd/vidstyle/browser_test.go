package main_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"

	"github.com/chromedp/chromedp"
)

// stats reads the page's WebRTC receiver: frames decoded and their size.
const statsJS = `(async () => {
  const pc = window.vidstylePC;
  if (!pc) return {f: 0, w: 0, h: 0};
  const s = await pc.getStats();
  let r = {f: 0, w: 0, h: 0};
  s.forEach(x => { if (x.type === "inbound-rtp" && x.kind === "video") r = {f: x.framesDecoded || 0, w: x.frameWidth || 0, h: x.frameHeight || 0}; });
  return r;
})()`

// chromaJS grabs the video into a canvas and returns the mean chroma
// (max − min of R, G, B) below the top third: high for toon, low for pencil.
const chromaJS = `(() => {
  const v = document.querySelector("video");
  if (!v || !v.videoWidth) return -1;
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const d = g.getImageData(0, Math.floor(c.height / 3), c.width, c.height - Math.floor(c.height / 3)).data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) sum += Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]);
  return sum / (d.length / 4);
})()`

type rtcStats struct {
	F int `json:"f"`
	W int `json:"w"`
	H int `json:"h"`
}

// until polls cond (bounded: 100 ms apart, at most d) and fails with what.
func until(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %v", what, d)
}

// startChromium starts Debian's Chromium, headless, with a fresh profile
// and the flags WebRTC on loopback needs; it is closed at the end of the
// test.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is missing: scripts/setup.sh installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true), chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"), chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return browser
}

// TestBrowserPreview opens the web preview in Debian's Chromium, headless:
// the video decodes at the output size, the pixels are the style's, a
// click switches the style for every viewer, the overlay is bare, and
// viewers come and go independently. scripts/test.sh runs the tests in a
// fresh network namespace, so nothing leaves loopback.
func TestBrowserPreview(t *testing.T) {
	dir := t.TempDir()
	// serve starts vidstyle -serve and returns its URL and a stop function.
	serve := func(listen string) (string, func()) {
		cmd := command(dir, nil, "-in", testmedia.SmallMP4(t), "-live", "-loop", "-serve", "-listen", listen, "-model", "toon,pencil", "-scale", "0.5")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stop := func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
		logs := lines(t, stderr)
		re := regexp.MustCompile(`web preview: (http://127\.0\.0\.1:\d+/)`)
		for l := range logs {
			if m := re.FindStringSubmatch(l); m != nil {
				go func() {
					for range logs {
					}
				}()
				return m[1], stop
			}
		}
		stop()
		t.Fatal("vidstyle printed no URL")
		return "", nil
	}
	url, stop := serve("127.0.0.1:0")
	defer func() { stop() }()

	browser := startChromium(t)
	open := func(path string) (context.Context, context.CancelFunc) {
		tab, cancel := chromedp.NewContext(browser)
		if err := chromedp.Do(tab, chromedp.Navigate(url+path)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		return tab, cancel
	}
	statsOf := func(tab context.Context) rtcStats {
		s, err := chromedp.Run(tab, chromedp.Evaluate[rtcStats](statsJS, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("getStats: %v", err)
		}
		return s
	}
	chroma := func(tab context.Context) float64 {
		c, err := chromedp.Run(tab, chromedp.Evaluate[float64](chromaJS))
		if err != nil {
			t.Fatalf("canvas: %v", err)
		}
		return c
	}
	decoding := func(tab context.Context, what string) {
		t.Helper()
		first := statsOf(tab)
		until(t, 15*time.Second, what+" decodes", func() bool {
			s := statsOf(tab)
			return s.F > first.F+10
		})
	}

	page1, close1 := open("")
	defer close1()
	decoding(page1, "page 1")
	if s := statsOf(page1); s.W != 560 || s.H != 320 {
		t.Errorf("video is %dx%d, want the output's 560x320", s.W, s.H)
	}
	if c := chroma(page1); c < 60 {
		t.Errorf("toon should be colourful in the page: chroma %.0f", c)
	}
	page2, close2 := open("")
	decoding(page2, "page 2")
	overlay, close3 := open("overlay")
	defer close3()
	decoding(overlay, "overlay")

	// A click on "pencil" in page 1: both pages turn grey.
	if err := chromedp.Do(page1, chromedp.Click(chromedp.CSS(`#styles button[data-index="1"]`))); err != nil {
		t.Fatal(err)
	}
	for i, tab := range []context.Context{page1, page2} {
		until(t, 10*time.Second, "pencil in page "+string(rune('1'+i)), func() bool {
			c := chroma(tab)
			return c >= 0 && c < 30
		})
	}

	// The overlay: just the video, transparent, no controls.
	type page struct {
		Controls int    `json:"controls"`
		BG       string `json:"bg"`
		Muted    bool   `json:"muted"`
		Autoplay bool   `json:"autoplay"`
		VControl bool   `json:"vcontrol"`
	}
	bare, err := chromedp.Run(overlay, chromedp.Evaluate[page](`({controls: document.querySelectorAll("button,input,select,a").length,
		bg: getComputedStyle(document.body).backgroundColor, muted: document.querySelector("video").muted,
		autoplay: document.querySelector("video").autoplay, vcontrol: document.querySelector("video").controls})`))
	if err != nil {
		t.Fatal(err)
	}
	if bare.Controls != 0 || bare.BG != "rgba(0, 0, 0, 0)" || !bare.Muted || !bare.Autoplay || bare.VControl {
		t.Errorf("overlay is not bare: %+v", bare)
	}

	// Three viewers at once; closing one leaves the others playing.
	close2()
	decoding(page1, "page 1 after page 2 closed")
	decoding(overlay, "overlay after page 2 closed")

	// The overlay reconnects by itself when vidstyle restarts.
	connects := func() int {
		n, err := chromedp.Run(overlay, chromedp.Evaluate[int](`window.vidstyleConnects || 0`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := connects()
	stop()
	url2, stop2 := serve(strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	stop = stop2
	if url2 != url {
		t.Fatalf("restarted at %s, not %s", url2, url)
	}
	until(t, 40*time.Second, "overlay reconnects", func() bool {
		return connects() > before && statsOf(overlay).F > 10
	})
}

// TestBrowserPreviewWithAToken: with -token (what every setup off
// loopback has) the control page and the overlay, opened with the link
// vidstyle prints, load their script, play, and show the style buttons.
func TestBrowserPreviewWithAToken(t *testing.T) {
	const token = "a-test-token-0123456789"
	cmd := command(t.TempDir(), nil, "-in", testmedia.SmallMP4(t), "-live", "-loop", "-serve", "-listen", "127.0.0.1:0",
		"-token", token, "-model", "toon,pencil", "-scale", "0.5")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	re := regexp.MustCompile(`web preview: (http://127\.0\.0\.1:\d+/\?token=\S+)`)
	var link string
	logs := lines(t, stderr)
	for l := range logs {
		if m := re.FindStringSubmatch(l); m != nil {
			link = m[1]
			break
		}
	}
	if link == "" {
		t.Fatal("vidstyle printed no link with the token")
	}
	go func() {
		for range logs {
		}
	}()
	browser := startChromium(t)
	for _, u := range []string{link, strings.Replace(link, "/?token=", "/overlay?token=", 1)} {
		tab, cancel := chromedp.NewContext(browser)
		defer cancel()
		if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
		until(t, 20*time.Second, u+" decodes", func() bool {
			s, err := chromedp.Run(tab, chromedp.Evaluate[rtcStats](statsJS, chromedp.EvalAwaitPromise))
			return err == nil && s.F > 10
		})
		if !strings.Contains(u, "overlay") {
			n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#styles button").length`))
			if err != nil || n != 2 {
				t.Errorf("the control page shows %d style buttons (%v), want 2", n, err)
			}
		}
	}
}
