package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// The publish tests push the stylized stream to real servers on
// loopback — Debian's nginx with its RTMP module, ffmpeg listening for
// SRT and for RTSP — and read back what arrived with ffmpeg and ffprobe.

// rtmpModule is where Debian's libnginx-mod-rtmp puts the module.
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// nginxRTMP is an nginx of the test's own (config, prefix, port), run
// unprivileged in the foreground.
type nginxRTMP struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// freePort is a loopback port nothing listens on now (TCP or UDP).
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNginx writes the config and starts nginx; it is stopped at the end
// of the test.
func startNginx(t *testing.T) *nginxRTMP {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatal("nginx is missing: run scripts/setup.sh (it installs nginx and libnginx-mod-rtmp)")
	}
	if _, err := os.Stat(rtmpModule); err != nil {
		t.Fatal("the nginx RTMP module is missing: run scripts/setup.sh (libnginx-mod-rtmp)")
	}
	n := &nginxRTMP{t: t, dir: t.TempDir(), port: freePort(t, "tcp")}
	os.MkdirAll(filepath.Join(n.dir, "logs"), 0o755)
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
error_log stderr warn;
pid %s/nginx.pid;
events { worker_connections 64; }
rtmp {
	server {
		listen 127.0.0.1:%d;
		application live { live on; wait_key on; wait_video on; }
	}
}
`, rtmpModule, n.dir, n.port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *nginxRTMP) url(key string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.port, key)
}

// start runs nginx and waits until it accepts connections. nginx says
// nothing when it is ready, so this polls, at most 100 times in 10 s.
func (n *nginxRTMP) start() {
	t := n.t
	t.Helper()
	n.cmd = exec.Command("nginx", "-e", "stderr", "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"))
	var out bytes.Buffer
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.done) }()
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-n.done:
			t.Fatalf("nginx ended: %s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("nginx does not listen on %d after 10 s: %s", n.port, out.String())
}

// stop ends nginx (and waits for it); a second call does nothing.
func (n *nginxRTMP) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
	default:
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
	}
	n.cmd = nil
}

// publisher is a running vidstyle with its log.
type publisher struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   []string
	seen  chan string // every line, for waitFor
	ended chan struct{}
}

// startPublisher runs vidstyle with args, no display, and a clean end at
// the end of the test.
func startPublisher(t *testing.T, args ...string) *publisher {
	t.Helper()
	cmd := command(t.TempDir(), []string{"DISPLAY="}, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &publisher{t: t, cmd: cmd, seen: make(chan string, 1000), ended: make(chan struct{})}
	go func() {
		defer close(p.ended)
		for l := range lines(t, stderr) {
			p.mu.Lock()
			p.log = append(p.log, l)
			p.mu.Unlock()
			select {
			case p.seen <- l:
			default:
			}
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// waitFor waits for a log line matching re (at most d) and returns it.
func (p *publisher) waitFor(re *regexp.Regexp, d time.Duration) string {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-p.seen:
			if re.MatchString(l) {
				return l
			}
		case <-p.ended:
			p.t.Fatalf("vidstyle ended before a line matching %q:\n%s", re, p.text())
		case <-deadline:
			p.t.Fatalf("no line matching %q within %v:\n%s", re, d, p.text())
		}
	}
}

func (p *publisher) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// stop sends Ctrl-C and waits for vidstyle to exit; it returns the exit
// code.
func (p *publisher) stop() int {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.ended:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.ended
		}
		p.cmd.Wait()
	}
	return p.cmd.ProcessState.ExitCode()
}

// children are the ffmpeg processes vidstyle started (read from /proc).
func children(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(ffmpeg") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// record reads secs seconds of a stream with ffmpeg into a file in dir,
// copying the codecs, and returns its path. extra goes before -i.
func record(t *testing.T, dir, name, url string, secs float64, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs*float64(time.Second))+20*time.Second)
	defer cancel()
	args := append([]string{"-hide_banner", "-v", "error", "-y"}, extra...)
	args = append(args, "-i", url, "-t", fmt.Sprint(secs), "-c", "copy", out)
	if b, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("reading %s back: %v\n%s", url, err, b)
	}
	return out
}

// rawFrames decodes a video to BGR frames of w×h.
func rawFrames(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	b, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", fmt.Sprintf("%dx%d", w, h), "-").Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	n := w * h * 3
	var out [][]byte
	for len(b) >= n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// nearest is the smallest mean absolute difference (per channel value, on
// every 7th byte) between f and any of frames.
func nearest(f []byte, frames [][]byte) float64 {
	best := math.Inf(1)
	for _, g := range frames {
		var sum, n float64
		for i := 0; i < len(f) && i < len(g); i += 7 {
			sum += math.Abs(float64(f[i]) - float64(g[i]))
			n++
		}
		best = min(best, sum/n)
	}
	return best
}

// styleRefs are the source's frames and the same frames in the toon style
// (written losslessly by the binary), for telling the style from the
// source in what a server sends back.
func styleRefs(t *testing.T, dir string) (src, styled [][]byte) {
	t.Helper()
	in := testmedia.SmallMP4(t)
	ref := filepath.Join(dir, "ref.mkv")
	if code, log := vidstyle(t, dir, nil, "-in", in, "-out", ref, "-model", "toon", "-temporal", "0", "-crf", "0", "-audio", "none", "-q"); code != 0 {
		t.Fatalf("reference transcode: exit %d\n%s", code, log)
	}
	return rawFrames(t, in, 560, 320), rawFrames(t, ref, 560, 320)
}

// checkStyled fails unless the frames of got look like the style and not
// like the source: each sampled frame is nearer to some stylized frame
// than to any source frame, by a margin.
func checkStyled(t *testing.T, got string, src, styled [][]byte) {
	t.Helper()
	frames := rawFrames(t, got, 560, 320)
	if len(frames) < 10 {
		t.Fatalf("%s: %d frames decoded", got, len(frames))
	}
	for _, i := range []int{len(frames) / 4, len(frames) / 2, len(frames) - 2} {
		ds, dsrc := nearest(frames[i], styled), nearest(frames[i], src)
		t.Logf("frame %d: %.1f levels from the nearest stylized frame, %.1f from the nearest source frame", i, ds, dsrc)
		if !(ds*1.5 < dsrc) {
			t.Errorf("frame %d of %s is not the style's: %.1f levels from the stylized frames, %.1f from the source's", i, got, ds, dsrc)
		}
	}
}

var (
	publishing   = regexp.MustCompile(`publish: (rtmp|srt|rtsp)\S* .*H\.264 (\d+)x(\d+) at`)
	reconnecting = regexp.MustCompile(`publish: reconnecting \(.+\)`)
	streamingOn  = regexp.MustCompile(`publish: streaming to .* again`)
)

// TestPublishRTMPToNginx: a file played live (-live -loop) published to a
// real nginx-rtmp; what nginx sends a player has the size, rate and audio
// of the source, and the style's colours.
func TestPublishRTMPToNginx(t *testing.T) {
	dir := t.TempDir()
	src, styled := styleRefs(t, dir)
	ngx := startNginx(t)
	p := startPublisher(t, "-in", testmedia.SmallMP4(t), "-live", "-loop", "-model", "toon", "-temporal", "0", "-publish", ngx.url("k1"))
	p.waitFor(publishing, 60*time.Second)
	got := record(t, dir, "got.flv", ngx.url("k1"), 3)
	v, a := probe(t, got)
	if v.Width != 560 || v.Height != 320 || v.CodecName != "h264" {
		t.Errorf("video %s %dx%d, want h264 560x320", v.CodecName, v.Width, v.Height)
	}
	if v.RFrameRate != "30/1" {
		t.Errorf("frame rate %s, want 30/1", v.RFrameRate)
	}
	// 3 s at 30 fps: a steady stream, the repeats included.
	if n := v.frames(); n < 80 || n > 95 {
		t.Errorf("%d frames in 3 s, want about 90", n)
	}
	if a == nil {
		t.Error("no audio: the file's audio should go out with the video")
	}
	checkStyled(t, got, src, styled)
	if code := p.stop(); code != 0 {
		t.Errorf("exit %d after Ctrl-C", code)
	}
}

// TestPublishSurvivesAServerRestart: nginx stops mid-stream; vidstyle
// says "publish: reconnecting (…)" in its log and its web state, keeps
// running, and once nginx is back the stream flows again (from a
// keyframe: a fresh encoder). Ctrl-C then leaves no ffmpeg behind.
func TestPublishSurvivesAServerRestart(t *testing.T) {
	dir := t.TempDir()
	ngx := startNginx(t)
	s := startServe(t, []string{"DISPLAY="}, "-model", "toon", "-temporal", "0", "-publish", ngx.url("k2"))
	pid := s.cmd.Process.Pid
	record(t, dir, "before.flv", ngx.url("k2"), 1)
	ngx.stop()
	until(t, 20*time.Second, "the web state's notice says publish: reconnecting", func() bool {
		return reconnecting.MatchString(notice(t, s))
	})
	ngx.start()
	until(t, 30*time.Second, "the publish notice clears", func() bool { return notice(t, s) == "" })
	got := record(t, dir, "after.flv", ngx.url("k2"), 2)
	if v, _ := probe(t, got); v.frames() < 40 {
		t.Errorf("%d frames in 2 s after the restart, want about 60", v.frames())
	}
	kids := children(t, pid)
	if len(kids) == 0 {
		t.Error("no ffmpeg child of vidstyle found while publishing")
	}
	code, log := s.stop()
	if code != 0 {
		t.Errorf("exit %d after Ctrl-C", code)
	}
	for _, l := range []*regexp.Regexp{reconnecting, streamingOn} {
		if !l.MatchString(log) {
			t.Errorf("no log line matching %q", l)
		}
	}
	for _, k := range kids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", k)); err == nil {
			t.Errorf("ffmpeg %d is still there after vidstyle exited", k)
		}
	}
}

// notice is the web state's notice.
func notice(t *testing.T, s *served) string {
	t.Helper()
	code, body := s.get(t, "/api/state", "", "")
	var st struct {
		Notice string `json:"notice"`
	}
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("GET /api/state: %d %v: %s", code, err, body)
	}
	return st.Notice
}

// listener runs ffmpeg receiving secs seconds of a stream at url (as a
// server) into a file; wait returns the file once ffmpeg is done.
func listener(t *testing.T, dir, name string, secs float64, in ...string) func() string {
	t.Helper()
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	args := append([]string{"-hide_banner", "-v", "error", "-y"}, in...)
	cmd := exec.CommandContext(ctx, "ffmpeg", append(args, "-t", fmt.Sprint(secs), "-c", "copy", out)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	return func() string {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", in, err, buf.String())
		}
		return out
	}
}

// TestPublishSRTAndRTSP: the same stream to ffmpeg listening for SRT
// (vidstyle calls, with a streamid) and for an RTSP ANNOUNCE/RECORD push.
func TestPublishSRTAndRTSP(t *testing.T) {
	for _, c := range []struct {
		name, target, file string
		listen             []string
	}{
		{"srt", "srt://127.0.0.1:%d?streamid=test", "got.ts", []string{"-i", "srt://127.0.0.1:%d?mode=listener"}},
		{"rtsp", "rtsp://127.0.0.1:%d/live/test", "got.mkv", []string{"-rtsp_flags", "listen", "-i", "rtsp://127.0.0.1:%d/live/test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			network := "tcp"
			if c.name == "srt" {
				network = "udp"
			}
			port := freePort(t, network)
			listen := append([]string(nil), c.listen...)
			listen[len(listen)-1] = fmt.Sprintf(listen[len(listen)-1], port)
			wait := listener(t, t.TempDir(), c.file, 2, listen...)
			p := startPublisher(t, "-in", testmedia.SmallMP4(t), "-live", "-loop", "-model", "toon", "-temporal", "0", "-publish", fmt.Sprintf(c.target, port))
			got := wait()
			v, a := probe(t, got)
			if v.Width != 560 || v.Height != 320 || v.CodecName != "h264" {
				t.Errorf("video %s %dx%d, want h264 560x320", v.CodecName, v.Width, v.Height)
			}
			if n := v.frames(); n < 45 {
				t.Errorf("%d frames in 2 s, want about 60", n)
			}
			if a == nil {
				t.Error("no audio")
			}
			if code := p.stop(); code != 0 {
				t.Errorf("exit %d after Ctrl-C:\n%s", code, p.text())
			}
		})
	}
}

// TestPublishFileToHLS: -out DIR/stream.m3u8 with a file streams the file
// once at its own pace (5.5 s, not as fast as it decodes) into a rolling
// HLS folder that ffprobe plays: every frame, the audio, the end.
func TestPublishFileToHLS(t *testing.T) {
	dir := t.TempDir()
	hls := filepath.Join(dir, "hls")
	os.Mkdir(hls, 0o755)
	t0 := time.Now()
	code, log := vidstyle(t, dir, []string{"DISPLAY="}, "-in", testmedia.SmallMP4(t), "-out", filepath.Join(hls, "stream.m3u8"), "-model", "toon", "-temporal", "0")
	took := time.Since(t0)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	if took < 5*time.Second {
		t.Errorf("took %v: a 5.5 s file should stream at its own pace", took)
	}
	pl, err := os.ReadFile(filepath.Join(hls, "stream.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pl), "#EXT-X-ENDLIST") || !strings.Contains(string(pl), ".ts") {
		t.Errorf("playlist:\n%s", pl)
	}
	v, a := probe(t, filepath.Join(hls, "stream.m3u8"))
	t.Logf("HLS: %s %dx%d %s, %d frames; %s", v.CodecName, v.Width, v.Height, v.RFrameRate, v.frames(), string(pl))
	if v.Width != 560 || v.Height != 320 || v.RFrameRate != "30/1" {
		t.Errorf("video %dx%d at %s, want 560x320 at 30/1", v.Width, v.Height, v.RFrameRate)
	}
	// 166 frames in 5.5 s, at a steady 30 fps from the first frame
	// painted to the last: the first and last few may fall outside, and
	// a slower machine (-race) repeats pictures for as long as it lags;
	// one too loaded to encode 30 a second skips ahead (a run beside
	// the whole -race suite kept 131).
	if n := v.frames(); n < 120 || float64(n) > 30*took.Seconds()+10 {
		t.Errorf("%d frames in %v, want about 166 and at most 30 a second", n, took)
	}
	if a == nil {
		t.Error("no audio")
	}
}

// TestLiveShowsAnamorphicAtDisplayShape: a live stream of a file of
// non-square pixels (480x240 squeezed into 360x240 at 4:3, as DV and
// broadcast store it) goes out at the shape players show it, 480x240 of
// square pixels: HLS, WebRTC and the window have no pixel aspect of
// their own to carry the squeeze.
func TestLiveShowsAnamorphicAtDisplayShape(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "squeezed.mp4")
	rm.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=480x240:rate=25", "-frames:v", "25",
		"-vf", "scale=360:240,setsar=4/3", "-c:v", "libx264", "-pix_fmt", "yuv420p", in)
	if v := rm.Probe(t, in).Video(t); v.Width != 360 || v.SAR != "4:3" {
		t.Fatalf("made %dx%d SAR %s, want 360x240 SAR 4:3", v.Width, v.Height, v.SAR)
	}
	hls := filepath.Join(dir, "hls")
	os.Mkdir(hls, 0o755)
	code, log := vidstyle(t, dir, []string{"DISPLAY="}, "-in", in, "-out", filepath.Join(hls, "stream.m3u8"), "-model", "toon", "-temporal", "0")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	if !strings.Contains(log, "pixels of aspect 4:3: shown at 480x240") {
		t.Errorf("the log does not say the picture is shown at 480x240:\n%s", log)
	}
	v := rm.Probe(t, filepath.Join(hls, "stream.m3u8")).Video(t)
	if v.Width != 480 || v.Height != 240 || (v.SAR != "" && v.SAR != "1:1") {
		t.Errorf("HLS video %dx%d SAR %q, want 480x240 of square pixels", v.Width, v.Height, v.SAR)
	}
}
