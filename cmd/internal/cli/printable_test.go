package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/eval"
	"github.com/vidstyle/vidstyle/stylize"
)

func TestPrintable(t *testing.T) {
	for _, c := range []struct {
		in, want string
		keep     bool
	}{
		{"plain text, ünïcode, 漢字", "plain text, ünïcode, 漢字", false},
		{"\x1b[2J\x1b]0;PWNED\a", `\x1b[2J\x1b]0;PWNED\a`, false},
		{"ok\rmodel  trusted", `ok\rmodel  trusted`, false},
		{"two\nlines", `two\nlines`, false},
		{"two\nlines", "two\nlines", true},
		{"tab\there", `tab\there`, false},
		{"rtl \u202egnp.exe", `rtl \u202egnp.exe`, false},
		{"c1 \u009b31m", `c1 \u009b31m`, false},
		{"bad \xff utf-8", `bad \xff utf-8`, false},
		{"می‌خواهم", "می‌خواهم", false},               // ZWNJ in Persian
		{"👩‍💻 soft­hyphen", "👩‍💻 soft­hyphen", false}, // ZWJ emoji, soft hyphen
		{"no break", "no break", false},
		{"mark ‏", `mark \u200f`, false},
	} {
		if got := printable(c.in, c.keep); got != c.want {
			t.Errorf("printable(%q, %v) = %q, want %q", c.in, c.keep, got, c.want)
		}
	}
	if got := field("abcdefghij", 5); got != "abcd…" {
		t.Errorf("field cut: %q", got)
	}
	if got := field("\x1b[2Jabc", 100); got != `\x1b[2Jabc` {
		t.Errorf("field escapes: %q", got)
	}
}

// TestOutsideTextStaysOnItsLine: what a file name, a video's metadata or a
// model brings cannot start a line of its own (a name with "\nvidstyle:
// error: …" made up error lines), act on the terminal from stdout (eval's
// and bench's reports), run to 20 KB, or show a URL's password.
func TestOutsideTextStaysOnItsLine(t *testing.T) {
	const evil = "x\nvidstyle: error: FAKE\x1b]0;pwned\a"
	var buf bytes.Buffer
	log := slog.New(&handler{c: &console{w: &buf, minimum: slog.LevelDebug}})
	log.Warn("stylizing "+evil, "input", evil)
	if lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"); len(lines) != 1 || strings.ContainsAny(buf.String(), "\x1b\a") {
		t.Errorf("a log line of a name with a newline and escapes: %q", buf.String())
	}
	buf.Reset()
	printEval(&buf, eval.Files{In: evil + ".mp4", Out: evil + ".mp4"}, eval.Result{})
	printBench(&buf, &vidstyle.BenchResult{Model: evil, Other: &vidstyle.BenchOther{Model: evil}, Ops: []stylize.OpTime{{Op: evil}}})
	if strings.Contains(buf.String(), "\nvidstyle: error") || strings.ContainsAny(buf.String(), "\x1b\a") {
		t.Errorf("eval's and bench's reports:\n%s", buf.String())
	}
	if got := oneLine(errors.New(strings.Repeat("A", 20000))); utf8.RuneCountInString(got) > maxLine {
		t.Errorf("an error of 20000 runes is printed as %d", utf8.RuneCountInString(got))
	}
	buf.Reset()
	c := &console{w: &buf}
	c.line("vidstyle: error: input http://user:S3CRET@host:9001/a.mp4 and rtsp://u:p:q@cam/x: Server returned 404")
	errorf(&buf, "vidstyle: error: %s", "https://me:pa55@example.test/v.mp4")
	errorf(&buf, "vidstyle: error: %s", "rtsp://admin:p@ss@192.0.2.1:554/stream and http://host:8080/?a=b@c")
	printEval(&buf, eval.Files{In: "http://u:evalpw@host/a.mp4", Out: "b.mp4"}, eval.Result{})
	if !strings.Contains(buf.String(), "http://host:8080/?a=b@c") || strings.Contains(buf.String(), "ss@192") || strings.Contains(buf.String(), "evalpw") {
		t.Errorf("a password with an @, or a query with one:\n%s", buf.String())
	}
	buf.Reset()
	errorf(&buf, "vidstyle: error: input %s: Input/output error", "srt://192.0.2.1:9000?mode=caller&passphrase=Secret1234&latency=200 and https://cdn.test/v.mp4?X-Amz-Signature=abcdef&token=t0ken")
	c.line("vidstyle: web preview: http://127.0.0.1:8080/?token=0123456789abcdef   (OBS overlay: http://127.0.0.1:8080/overlay?token=0123456789abcdef)")
	c.line("vidstyle: retrying srt://h:1?streamid=#!::r=live/k3y,m=publish&pbkeylen=16")
	c.line("[https @ 0x1] Opening 'https://cdn.test/v.mp4?apikey=K1&hdnts=exp=1~hmac=K3' for reading")
	if s := buf.String(); strings.Contains(s, "Secret1234") || strings.Contains(s, "=abcdef") || strings.Contains(s, "k3y") ||
		!strings.Contains(s, "overlay?token=0123456789abcdef)") ||
		strings.Contains(s, "K1") || strings.Contains(s, "K3") || !strings.Contains(s, "&hdnts=xxxxx' for reading") ||
		!strings.Contains(s, "?mode=caller&passphrase=xxxxx&latency=200") || !strings.Contains(s, "&pbkeylen=16") {
		t.Errorf("a passphrase or key in a URL's query is shown, or the web preview's own link lost its token:\n%s", s)
	}
	buf.Reset()
	c.line("vidstyle: error: input http://user:S3CRET@host:9001/a.mp4 and rtsp://u:p:q@cam/x: Server returned 404")
	errorf(&buf, "vidstyle: error: %s", "https://me:pa55@example.test/v.mp4")
	if strings.Contains(buf.String(), "S3CRET") || strings.Contains(buf.String(), "pa55") || strings.Contains(buf.String(), "p:q") ||
		!strings.Contains(buf.String(), "http://user:xxxxx@host:9001/a.mp4") {
		t.Errorf("a URL's password is shown:\n%s", buf.String())
	}
}
