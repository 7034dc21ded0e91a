package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// Publish targets: where a live stream goes.
const (
	TargetRTMP = "rtmp" // rtmp:// or rtmps://, FLV
	TargetSRT  = "srt"  // srt:// as a caller, MPEG-TS
	TargetRTSP = "rtsp" // rtsp://, ANNOUNCE/RECORD over TCP
	TargetHLS  = "hls"  // a .m3u8 path: rolling segments beside it
)

// PublishTarget says what kind of publish target s is ("" and no error:
// s is not one, e.g. a file name). A URL of another scheme, or a .m3u8
// path whose folder is missing, is an error.
func PublishTarget(s string) (string, error) {
	if scheme, _, ok := strings.Cut(s, "://"); ok && !strings.ContainsAny(scheme, "/\\.") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("%w %s: %w", ErrOutput, s, err)
		}
		switch strings.ToLower(u.Scheme) {
		case "rtmp", "rtmps":
			return TargetRTMP, nil
		case "srt":
			return TargetSRT, nil
		case "rtsp":
			return TargetRTSP, nil
		default:
			return "", fmt.Errorf("%w %s: vidstyle publishes to rtmp://, rtmps://, srt:// and rtsp:// (or writes HLS to DIR/NAME.m3u8)", ErrOutput, s)
		}
	}
	if strings.EqualFold(filepath.Ext(s), ".m3u8") {
		return TargetHLS, nil
	}
	return "", nil
}

// PublishKbps is the default video bitrate for a w×h stream: about 0.08
// bit per pixel at 30 fps, as the web preview's, and at least 300 kbit/s.
func PublishKbps(w, h int) int { return max(300, w*h*30/12500) }

// PublishConfig describes a live stream to publish.
type PublishConfig struct {
	// Target is an rtmp://, rtmps://, srt:// (caller; ?streamid=… as the
	// server wants) or rtsp:// URL, or a .m3u8 path (rolling HLS: the
	// playlist and its last segments in that folder).
	Target string
	// Width and Height are the frames' size; Rate the steady rate the
	// stream is published at, whatever rate frames arrive at.
	Width, Height int
	Rate          pipeline.Rate
	// Kbps is the video bitrate (0: PublishKbps).
	Kbps int
	// Audio, if set, is a file (as ffmpeg is given it: a URL, or
	// media.FileArg of a path) whose first audio track goes out with the
	// video, started at the presentation time of the first frame
	// published (after a reconnect: of the frame then), played at its
	// own pace, and looped with Loop.
	Audio string
	Loop  bool
	// Preset is x264's speed preset (default veryfast); Threads its
	// threads (0: ffmpeg's choice).
	Preset  string
	Threads int
	// Backoff is the first wait before a reconnect (default 500 ms); it
	// doubles up to MaxBackoff (default 10 s).
	Backoff, MaxBackoff time.Duration
	// OnNotice, if set, gets "publish: reconnecting (…)" when the stream
	// is lost and "" once it flows again.
	OnNotice func(string)
	// FFmpeg is the ffmpeg binary (default: "ffmpeg" on PATH).
	FFmpeg string
	Log    *slog.Logger
}

// Publisher encodes frames with an ffmpeg subprocess (H.264, x264
// zerolatency, a keyframe every 2 s) and pushes them to a media server or
// an HLS folder at a steady rate: each tick sends the newest frame, or the
// last one again when none came (a model slower than the rate). Frames
// arrive through a newest-wins mailbox, so Send never waits on the
// network. When ffmpeg ends (the server went away), Run starts it again
// with a growing wait; a new ffmpeg starts with a keyframe.
type Publisher struct {
	cfg    PublishConfig
	kind   string
	frames *pipeline.Latest[*gocv.Mat]
	log    *slog.Logger

	written    atomic.Int64 // frames written to ffmpeg, repeats included
	repeated   atomic.Int64
	reconnects atomic.Int64
	writeNs    atomic.Int64

	finish     chan struct{} // closed by Finish
	finishOnce sync.Once

	// Owned by Run.
	cur    *pipeline.Ref[*gocv.Mat]
	curPTS time.Duration
	even   gocv.Mat // cur cropped to even sizes, when it is odd
}

// NewPublisher checks cfg; Run publishes.
func NewPublisher(cfg PublishConfig) (*Publisher, error) {
	kind, err := PublishTarget(cfg.Target)
	if err != nil {
		return nil, err
	}
	if kind == "" {
		return nil, fmt.Errorf("%w %s: not a publish target (rtmp://, rtmps://, srt://, rtsp:// or a .m3u8 path)", ErrOutput, cfg.Target)
	}
	if kind == TargetHLS {
		if st, err := os.Stat(filepath.Dir(cfg.Target)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w %s: the folder %s does not exist", ErrOutput, cfg.Target, filepath.Dir(cfg.Target))
		}
	}
	if cfg.Width < 2 || cfg.Height < 2 || cfg.Rate.Num <= 0 || cfg.Rate.Den <= 0 {
		return nil, fmt.Errorf("%w %s: bad size %dx%d or rate %v", ErrOutput, cfg.Target, cfg.Width, cfg.Height, cfg.Rate)
	}
	if cfg.Kbps <= 0 {
		cfg.Kbps = PublishKbps(cfg.Width&^1, cfg.Height&^1)
	}
	if cfg.Preset == "" {
		cfg.Preset = "veryfast"
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(cfg.Backoff, 10*time.Second)
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnNotice == nil {
		cfg.OnNotice = func(string) {}
	}
	return &Publisher{cfg: cfg, kind: kind, frames: pipeline.NewLatest[*gocv.Mat](), log: cfg.Log, even: gocv.NewMat(), finish: make(chan struct{})}, nil
}

// Finish says the input has ended (a file published once): Run publishes
// the last frame sent, ends the stream as at its end (the HLS playlist's
// end, the FLV trailer) once ffmpeg has encoded every frame it was given,
// and returns. Ending ctx instead stops at once, and ffmpeg drops the
// frames it had not encoded yet (the last 3 of a 75-frame file).
func (p *Publisher) Finish() { p.finishOnce.Do(func() { close(p.finish) }) }

// errFinished ends pump when Finish was called.
var errFinished = errors.New("finished")

// Kind is the target's kind (TargetRTMP …).
func (p *Publisher) Kind() string { return p.kind }

// Kbps is the video bitrate published at.
func (p *Publisher) Kbps() int { return p.cfg.Kbps }

// Send offers a frame; it takes over the frame's reference and never
// blocks. A frame not yet published is replaced (and counted in Dropped).
func (p *Publisher) Send(f pipeline.Frame[*gocv.Mat]) { p.frames.Put(f) }

// PublishStats are a Publisher's counts so far.
type PublishStats struct {
	// Written frames went to the encoder; Repeated of them were the
	// previous picture again; Dropped frames were replaced before a tick
	// took them.
	Written, Repeated, Dropped int64
	// Reconnects counts ffmpeg starts after the first.
	Reconnects int64
	// Write is the mean time to hand a frame to ffmpeg.
	Write time.Duration
}

// Stats reports the counts so far.
func (p *Publisher) Stats() PublishStats {
	s := PublishStats{Written: p.written.Load(), Repeated: p.repeated.Load(), Dropped: p.frames.Dropped(), Reconnects: p.reconnects.Load()}
	if s.Written > 0 {
		s.Write = time.Duration(p.writeNs.Load() / s.Written)
	}
	return s
}

// Close frees the frames held; call it after Run returned.
func (p *Publisher) Close() {
	p.frames.Close()
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	p.even.Close()
}

// Run publishes until ctx ends. It waits for the first frame, then keeps
// an ffmpeg running, started again with backoff whenever it ends. When
// ctx ends, ffmpeg gets the end of its input and a few seconds to finish
// the stream (the HLS playlist's end, the FLV trailer), then is killed.
func (p *Publisher) Run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-p.frames.Ready():
	case <-p.finish: // a frame may have come with it: taken below
	}
	wait := p.cfg.Backoff
	for attempt := 0; ctx.Err() == nil; attempt++ {
		p.take()
		if p.cur == nil {
			select {
			case <-ctx.Done():
				return
			case <-p.frames.Ready():
			case <-p.finish:
				if !p.take() {
					return // ended before any frame
				}
			}
			continue
		}
		if attempt > 0 {
			p.reconnects.Add(1)
		}
		t0 := time.Now()
		reason, sent, finished := p.session(ctx)
		if ctx.Err() != nil || finished {
			return
		}
		if time.Since(t0) > 10*time.Second || sent > int64(10*p.cfg.Rate.FPS()) {
			wait = p.cfg.Backoff // it ran a while: start again with the short wait
		}
		msg := "publish: reconnecting (" + reason + ")"
		p.cfg.OnNotice(msg)
		p.log.Warn(fmt.Sprintf("%s: retrying %s in %v", msg, Redact(p.cfg.Target), wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, p.cfg.MaxBackoff)
	}
}

// take makes the newest frame, if one came, the current one.
func (p *Publisher) take() bool {
	f, ok := p.frames.TryTake()
	if !ok {
		return false
	}
	if p.cur != nil {
		p.cur.Release()
	}
	p.cur, p.curPTS = f.Image, f.PTS
	return true
}

// session runs one ffmpeg until it ends or ctx does, and returns why it
// ended (ffmpeg's last words), the frames it took and whether it ended by
// Finish.
func (p *Publisher) session(ctx context.Context) (string, int64, bool) {
	cmd := exec.Command(p.cfg.FFmpeg, p.args(p.curPTS)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the terminal's Ctrl-C is vidstyle's alone
	stderr := &lastLines{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err.Error(), 0, false
	}
	// ffmpeg's progress (fd 3): how many frames it has encoded, for
	// Finish to wait for before it interrupts an ffmpeg that reads sound.
	progR, progW, err := os.Pipe()
	if err != nil {
		return err.Error(), 0, false
	}
	cmd.ExtraFiles = []*os.File{progW}
	if err := cmd.Start(); err != nil {
		progR.Close()
		progW.Close()
		return fmt.Errorf("%w: %w", ErrFFmpeg, err).Error(), 0, false
	}
	progW.Close()
	encoded := make(chan int64, 1) // the newest count
	go func() {
		defer progR.Close()
		sc := bufio.NewScanner(progR)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "frame="); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					select {
					case <-encoded:
					default:
					}
					encoded <- n
				}
			}
		}
	}()
	p.log.Debug(fmt.Sprintf("publish: ffmpeg %s", strings.Join(redactArgs(cmd.Args[1:]), " ")))
	// ctx ending closes ffmpeg's input, so that a blocked write returns.
	stop := context.AfterFunc(ctx, func() { stdin.Close() })
	sent, perr := p.pump(ctx, stdin)
	stdin.Close()
	finished := errors.Is(perr, errFinished)
	if finished && p.cfg.Audio != "" {
		// The video's end does not end an ffmpeg that reads sound (at its
		// own pace, or looped): once it has encoded every frame it was
		// given, its interrupt ends the stream as at an end.
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case n := <-encoded:
				if n >= sent {
					break wait
				}
			case <-deadline:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		cmd.Process.Signal(syscall.SIGINT)
	}
	if ctx.Err() != nil && p.cfg.Audio != "" {
		// The sound is read at its own pace (-re), and for ever when it
		// loops, so the end of the video does not end ffmpeg: its
		// interrupt does, and it then finishes the stream as at an end
		// (before: killed after 5 s, an HLS playlist without its end).
		cmd.Process.Signal(syscall.SIGINT)
	}
	// ffmpeg ends at the end of its input (finishing the stream), or has
	// ended already (the write failed); one that hangs is killed.
	exited := make(chan struct{})
	go func() {
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	err = cmd.Wait()
	close(exited)
	stop()
	reason := stderr.last()
	switch {
	case reason != "":
	case err != nil:
		reason = "ffmpeg: " + err.Error()
	default:
		reason = "ffmpeg ended"
	}
	return reason, sent, finished
}

// pump writes frames to w at the steady rate until a write fails or ctx
// ends. After a second of frames taken by ffmpeg the stream counts as
// flowing (the notice is cleared).
func (p *Publisher) pump(ctx context.Context, w interface{ Write([]byte) (int, error) }) (int64, error) {
	rate := p.cfg.Rate
	period := rate.Time(1)
	tick := time.NewTicker(period)
	defer tick.Stop()
	start := time.Now()
	var n int64
	flowing := false
	fresh := true
	for {
		due := rate.Slot(time.Since(start)) + 1
		if due-n > int64(rate.FPS())+1 {
			// More than a second behind (the encoder or the network was
			// stalled): publish on from now rather than in a burst.
			p.log.Debug(fmt.Sprintf("publish: %d frames behind: skipping ahead", due-n))
			start = time.Now().Add(-rate.Time(n))
			due = n + 1
		}
		for ; n < due; n++ {
			if p.take() {
				fresh = true
			}
			if !fresh {
				p.repeated.Add(1)
			}
			fresh = false
			t0 := time.Now()
			if err := p.write(w); err != nil {
				return n, err
			}
			p.writeNs.Add(int64(time.Since(t0)))
			p.written.Add(1)
			if !flowing && n+1 >= int64(rate.FPS()+0.5) {
				flowing = true
				if p.reconnects.Load() > 0 {
					p.log.Info("publish: streaming to " + Redact(p.cfg.Target) + " again")
				}
				p.cfg.OnNotice("")
			}
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-p.finish:
			// The input ended: its last frame, if it came since the last
			// tick, goes out once.
			if p.take() {
				if err := p.write(w); err != nil {
					return n, err
				}
				p.written.Add(1)
				n++
			}
			return n, errFinished
		case <-tick.C:
		}
	}
}

// write sends the current frame's pixels, cropped to even sizes and
// fitted to the configured size.
func (p *Publisher) write(w interface{ Write([]byte) (int, error) }) error {
	m := *p.cur.V
	wd, ht := p.cfg.Width&^1, p.cfg.Height&^1
	if m.Cols() != wd || m.Rows() != ht {
		if m.Cols() >= wd && m.Rows() >= ht {
			r := m.Region(image.Rect(0, 0, wd, ht))
			r.CopyTo(&p.even)
			r.Close()
		} else {
			gocv.Resize(m, &p.even, image.Pt(wd, ht), 0, 0, gocv.InterpolationLinear)
		}
		m = p.even
	}
	data, err := m.DataPtrUint8()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// args is ffmpeg's command line for one session; the audio, if any,
// starts at pts.
func (p *Publisher) args(pts time.Duration) []string {
	c := p.cfg
	w, h := c.Width&^1, c.Height&^1
	gop := strconv.Itoa(max(1, int(2*c.Rate.FPS()+0.5)))
	kb := strconv.Itoa(c.Kbps) + "k"
	a := []string{"-hide_banner", "-nostats", "-loglevel", "error", "-progress", "pipe:3", "-stats_period", "0.1",
		"-f", "rawvideo", "-pix_fmt", "bgr24", "-s", fmt.Sprintf("%dx%d", w, h), "-framerate", c.Rate.String(),
		"-thread_queue_size", "64", "-i", "pipe:0"}
	if c.Audio != "" {
		if c.Loop {
			a = append(a, "-stream_loop", "-1")
		}
		a = append(a, "-re", "-ss", fmt.Sprintf("%.3f", max(0, pts.Seconds())), "-vn", "-sn", "-dn", "-thread_queue_size", "1024", "-i", c.Audio,
			"-map", "0:v:0", "-map", "1:a:0?", "-c:a", "aac", "-b:a", "128k", "-ac", "2")
	}
	a = append(a, "-c:v", "libx264", "-preset", c.Preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-b:v", kb, "-maxrate", kb, "-bufsize", kb, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-force_key_frames", "expr:gte(t,n_forced*2)")
	if c.Threads > 0 {
		a = append(a, "-threads:v", strconv.Itoa(c.Threads))
	}
	switch p.kind {
	case TargetRTMP:
		a = append(a, "-f", "flv", c.Target)
	case TargetSRT:
		a = append(a, "-f", "mpegts", c.Target)
	case TargetRTSP:
		a = append(a, "-f", "rtsp", "-rtsp_transport", "tcp", c.Target)
	case TargetHLS:
		base := strings.TrimSuffix(c.Target, filepath.Ext(c.Target))
		// Segment numbers from the clock: after a restart the new ones
		// follow the old ones rather than overwrite them.
		a = append(a, "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
			"-hls_flags", "delete_segments+independent_segments+temp_file", "-hls_start_number_source", "epoch",
			"-hls_segment_filename", base+"-%d.ts", "-y", c.Target)
	}
	return a
}

// lastLines keeps the last line ffmpeg wrote to stderr.
type lastLines struct {
	mu   sync.Mutex
	buf  []byte
	line string
}

func (l *lastLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		if s := strings.TrimSpace(string(l.buf[:i])); s != "" {
			l.line = s
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 {
		l.buf = l.buf[len(l.buf)-4096:]
	}
	return len(b), nil
}

func (l *lastLines) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.line
	if t := strings.TrimSpace(string(l.buf)); t != "" {
		s = t
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return Redact(s)
}

// Redact hides what looks like a stream key or a password in text that
// names a target: the userinfo and the query of URLs, and the last path
// element of rtmp ones (the key).
func Redact(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		fields[i] = redactURL(f)
	}
	return strings.Join(fields, " ")
}

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = redactURL(a)
	}
	return out
}

func redactURL(s string) string {
	trail := ""
	if strings.HasSuffix(s, ":") {
		s, trail = s[:len(s)-1], ":"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s + trail
	}
	switch strings.ToLower(u.Scheme) {
	case "rtmp", "rtmps", "srt", "rtsp":
	default:
		return s + trail
	}
	if u.User != nil {
		u.User = url.User("…")
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	if strings.HasPrefix(strings.ToLower(u.Scheme), "rtmp") {
		if i := strings.LastIndexByte(u.Path, '/'); i > 0 {
			u.Path = u.Path[:i+1] + "…"
		}
	}
	return strings.ReplaceAll(u.String(), "%E2%80%A6", "…") + trail
}
