package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/cmd/internal/testmedia"

	"github.com/pion/webrtc/v3"
	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/pipeline"
	"github.com/vidstyle/vidstyle/stream/web"
	"github.com/vidstyle/vidstyle/stylize"
)

// whepViewer is a minimal WHEP client: a receive-only PeerConnection that
// reads and drops what it gets.
func whepViewer(t *testing.T, base string) (close func()) {
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
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
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
		t.Fatalf("WHEP: %v %v", res, err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
	location := res.Header.Get("Location")
	return func() {
		req, _ := http.NewRequest(http.MethodDelete, base+location, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
		pc.Close()
	}
}

// TestSoak runs the live path (small.mp4 looped as fast as it decodes,
// toon and pencil at 64x36) for VIDSTYLE_SOAK_FRAMES painted frames
// (default 1500; make soak runs 20000), switching style every 500 frames
// while three web viewers come and go. Resident memory stays flat after
// warm-up, goroutines return to their baseline, and no Mat is left open.
func TestSoak(t *testing.T) {
	frames := int64(1500)
	if v, err := strconv.ParseInt(os.Getenv("VIDSTYLE_SOAK_FRAMES"), 10, 64); err == nil && v > 0 {
		frames = v
	}
	baseGoroutines := runtime.NumGoroutine()
	log := slog.New(slog.DiscardHandler)
	src, err := capture.Open(testmedia.SmallMP4(t), log)
	if err != nil {
		t.Fatal(err)
	}
	var ms []stylize.Model
	for _, name := range []string{"toon", "pencil"} {
		m, _ := models.Resolve(name)
		graph, _ := m.ONNX()
		ms = append(ms, stylize.Model{Name: name, ONNX: graph})
	}
	p := src.Props()
	styles, err := newStyleSet(benchRT, ms, stylize.Config{FrameWidth: p.Width, FrameHeight: p.Height, Width: 64, Height: 36, Device: stylize.DeviceCPU, Log: log}, false)
	if err != nil {
		t.Fatal(err)
	}
	newMat := func() *gocv.Mat { m := gocv.NewMat(); return &m }
	closeMat := func(m *gocv.Mat) { m.Close() }
	lv := &live{
		o: options{in: testmedia.SmallMP4(t), live: true, loop: true, statsPeriod: time.Hour}, log: log, src: src, styles: styles,
		frames: pipeline.NewLatest[*gocv.Mat](), shown: pipeline.NewLatest[*gocv.Mat](),
		in: pipeline.NewPool(newMat, closeMat), views: pipeline.NewPool(newMat, closeMat),
		cmds: make(chan command, 16), styled: gocv.NewMat(), strength: 1, hud: true, unpaced: true,
	}
	bc, err := web.NewBroadcaster(0, log)
	if err != nil {
		t.Fatal(err)
	}
	lv.web = bc
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", Control: lv, Log: log}, bc.Track(), bc.RequestKeyframe)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(url, "/")
	ctx, cancel := context.WithCancel(context.Background())
	lv.quit = cancel
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); srv.Serve() }()
	go func() { defer wg.Done(); bc.Run(ctx) }()
	go func() { defer wg.Done(); lv.capture(ctx) }()
	go func() { defer wg.Done(); lv.paint(ctx) }()

	shown := func() int64 {
		lv.mu.Lock()
		defer lv.mu.Unlock()
		return lv.shownCount
	}
	var viewers []func()
	for range 3 {
		viewers = append(viewers, whepViewer(t, base))
	}
	var warmRSS, endRSS int64
	switches, churn := int64(0), int64(0)
	deadline := time.Now().Add(time.Duration(frames) * 20 * time.Millisecond)
	for n := shown(); n < frames; n = shown() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d frames painted in time", n, frames)
		}
		if n/500 > switches {
			switches++
			lv.cmds <- command{kind: "next"}
		}
		if n/300 > churn { // a viewer leaves, another joins
			churn++
			viewers[churn%3]()
			viewers[churn%3] = whepViewer(t, base)
		}
		if warmRSS == 0 && n >= frames/2 { // warm-up: the first half
			warmRSS = rss(t)
		}
		time.Sleep(10 * time.Millisecond) // polling the counters, bounded by the deadline
	}
	endRSS = rss(t)
	for _, closeViewer := range viewers {
		closeViewer()
	}
	cancel()
	srv.Close()
	wg.Wait()
	bc.Close()
	styles.close()
	lv.close()
	src.Close()

	growth := float64(endRSS-warmRSS) / float64(warmRSS)
	t.Logf("%d frames painted, %d dropped, %d style switches, %d viewer changes; RSS %d → %d MB (%+.1f %%)",
		shown(), lv.frames.Dropped(), switches, churn, warmRSS>>20, endRSS>>20, 100*growth)
	if growth > 0.10 || growth < -0.10 {
		t.Errorf("resident memory moved %.1f %% after warm-up", 100*growth)
	}
	end := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseGoroutines+3 && time.Now().Before(end) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseGoroutines+3 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d at the start, %d at the end\n%s", baseGoroutines, n, buf[:runtime.Stack(buf, true)])
	}
	mats := liveMatsForTest()
	t.Logf("goroutines: %d at the start, %d at the end; Mats open at the end: %d (counted: %v)", baseGoroutines, runtime.NumGoroutine(), mats, matsCounted)
	if mats > 0 {
		t.Errorf("%d Mats left open", mats)
	}
}
