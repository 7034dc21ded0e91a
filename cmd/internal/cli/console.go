package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vidstyle/vidstyle"
)

// console owns stderr: log lines and the progress bar share it, so a log
// line first clears the bar and the bar is drawn again after it.
type console struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	bar     string // the bar as last drawn, "" when none is shown
	minimum slog.Level
}

func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != "" {
		fmt.Fprint(c.w, "\r\033[K")
	}
	fmt.Fprintln(c.w, printable(hidePasswords(s), true))
	if c.bar != "" {
		fmt.Fprint(c.w, c.bar)
	}
}

// drawBar replaces the bar (terminal only).
func (c *console) drawBar(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = s
	fmt.Fprint(c.w, "\r\033[K"+s)
}

// clearBar removes the bar for good.
func (c *console) clearBar() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != "" {
		fmt.Fprint(c.w, "\r\033[K")
		c.bar = ""
	}
}

// handler is a slog.Handler for people: "vidstyle: message key=value".
type handler struct {
	c     *console
	attrs []slog.Attr
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.c.minimum }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("vidstyle: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	// A message is one line: a newline in a file name or a video's
	// metadata it quotes would start a line of its own ("vidstyle: error:
	// …" made up by the name).
	b.WriteString(printable(r.Message, false))
	write := func(a slog.Attr) bool {
		v := printable(a.Value.String(), false)
		if strings.ContainsAny(v, " \t\"") {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.c.line(b.String())
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{c: h.c, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *handler) WithGroup(string) slog.Handler { return h }

// progress reports frames written: a bar on a terminal, a log line every
// period otherwise, nothing when quiet.
type progress struct {
	c      *console
	log    *slog.Logger
	total  int64
	period time.Duration
	quiet  bool
	start  time.Time
	last   time.Time
}

func (p *progress) update(n int64) {
	if p.quiet {
		return
	}
	if p.total > 0 && n > p.total {
		// The count was an estimate, and the input is longer: from here
		// on the total is unknown (no bar past 100 %, no ETA below 0).
		p.total = 0
	}
	now := time.Now()
	every := p.period
	if p.c.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.last) < every && n != p.total {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	fps := float64(n) / max(elapsed, 1e-9)
	eta := "?"
	if p.total > 0 && fps > 0 {
		eta = formatDuration(time.Duration(float64(p.total-n) / fps * float64(time.Second)))
	}
	if !p.c.tty {
		of := ""
		if p.total > 0 {
			of = fmt.Sprintf("/%d", p.total)
		}
		p.log.Info(fmt.Sprintf("progress: frame %d%s, %.1f fps, ETA %s", n, of, fps, eta))
		return
	}
	if p.total <= 0 {
		p.c.drawBar(fmt.Sprintf("%d frames  %.1f fps", n, fps))
		return
	}
	const width = 30
	done := int(min(n, p.total) * width / p.total)
	bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
	if done < width {
		bar = bar[:done] + ">" + bar[done+1:]
	}
	p.c.drawBar(fmt.Sprintf("%3d%% [%s] %d/%d frames  %.1f fps  ETA %s", n*100/p.total, bar, n, p.total, fps, eta))
}

func (p *progress) done() { p.c.clearBar() }

func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// download draws a model download's progress (terminal only).
func (c *console) download(p vidstyle.DownloadProgress) {
	if !c.tty || c.minimum > slog.LevelInfo {
		return
	}
	rate := float64(p.Done) / max(time.Since(p.Started).Seconds(), 1e-3) / 1e6
	if p.Total > 0 {
		c.drawBar(fmt.Sprintf("%3d%% %s of %s  %.1f MB/s", p.Done*100/p.Total, megabytes(p.Done), megabytes(p.Total), rate))
	} else {
		c.drawBar(fmt.Sprintf("%s  %.1f MB/s", megabytes(p.Done), rate))
	}
	if p.Total > 0 && p.Done >= p.Total {
		c.clearBar()
	}
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
