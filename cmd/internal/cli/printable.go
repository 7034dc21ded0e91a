package cli

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable escapes what a terminal would act on rather than show, in text
// that comes from outside (a model's names and metadata, a file name, an
// error ONNX Runtime built from them): control characters (ESC starts
// the sequences that clear the screen, set the title or make links; CR
// rewrites the line), DEL, the C1 controls, invalid UTF-8 and the bidi
// controls that reorder what is shown. Each becomes a Go escape (\x1b,
// \r, \u202e). Newlines are kept when keepNewlines is set (vidstyle's own
// multi-line help), escaped otherwise.
func printable(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) && !(keepNewlines && r == '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepNewlines && r == '\n', !needsEscape(r):
			b.WriteString(s[i : i+n])
		default:
			q := strings.Trim(fmt.Sprintf("%+q", string(r)), `"`)
			b.WriteString(q)
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether a rune is one printable escapes.
func needsEscape(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	// Spaces (U+00A0 among them) show as spaces; the other format
	// characters (ZWJ in emoji, ZWNJ in Persian, the soft hyphen) belong
	// to the text.
	return !unicode.IsPrint(r) && !unicode.Is(unicode.Zs, r) && !unicode.Is(unicode.Cf, r)
}

// errorf writes one line to w, formatted as fmt.Sprintf does, with what a
// terminal would act on escaped (a file name with a newline or an escape
// sequence in it stays on the line, as text).
func errorf(w io.Writer, format string, args ...any) {
	fmt.Fprintln(w, printable(hidePasswords(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")), false))
}

// urlPassword is the password of a URL's userinfo (scheme://user:password@),
// to the last @ before the path, as ffmpeg splits it (a camera's password
// may hold a raw @).
var urlPassword = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^/?#\s:@]*):[^/?#\s]*@`)

// hidePasswords writes the password of each URL in s as "xxxxx", as Go's
// url.URL.Redacted does: an input given as http://user:secret@host/… was
// printed whole in every line that names it.
func hidePasswords(s string) string {
	if strings.Contains(s, "@") {
		s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	}
	if strings.Contains(s, "=") {
		s = urlWithQuery.ReplaceAllStringFunc(s, func(u string) string {
			end := strings.TrimRight(u, ":,.)'\"")
			return querySecret.ReplaceAllString(end, "${1}xxxxx") + u[len(end):]
		})
	}
	return s
}

// urlWithQuery is a URL with a query, to the next space (a ":" or "," after
// it is the message's).
var urlWithQuery = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s?]*\?\S*`)

// querySecret is the value of a query parameter that holds a secret: an
// SRT passphrase or stream id (srt://host:9000?passphrase=…), a stream
// key or the signature of a signed link (X-Amz-Signature=…, apikey=,
// hdnts=), to a quote that ends a quoted URL. Not token=: the web
// preview's own link carries its token for the user to open, on purpose.
var querySecret = regexp.MustCompile(`(?i)([?&;][a-z0-9_-]*(?:passphrase|password|passwd|pass|pwd|key|auth|secret|sig|signature|credential|streamid|hdnts|hmac)=)[^&;\s'"]*`)

// maxLine is the most runes of an error line: text a model or a file
// brings (a 20 KB input name) is cut there, with "…".
const maxLine = 2000

// field is printable text from a model, cut to at most max runes ("…"
// ends a cut one): a name or a metadata value on one line of output.
func field(s string, max int) string {
	s = printable(s, false)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
