package cli

import "testing"

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
