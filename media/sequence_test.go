package media

import "testing"

// TestSequenceName: ffmpeg's numbered names: the width pads with zeros
// with or without a leading 0, %% is a literal %, and a name with no verb,
// two verbs, another verb or a width over 12 is none.
func TestSequenceName(t *testing.T) {
	for _, c := range []struct {
		base, first string // picture 7's name, "" for none
	}{
		{"img_%04d.png", "img_0007.png"},
		{"img_%4d.png", "img_0007.png"},
		{"%d.png", "7.png"},
		{"%012d.tif", "000000000007.tif"},
		{"100%%_%03d.png", "100%_007.png"},
		{"a%%b%d%%.png", "a%b7%.png"},
		{"img.png", ""},
		{"img_%d_%d.png", ""},
		{"img_%s.png", ""},
		{"img_%013d.png", ""},
		{"img_%.png", ""},
		{"img_%", ""},
	} {
		got := SequenceFile(c.base, 7)
		if got != c.first {
			t.Errorf("%q: picture 7 is %q, want %q", c.base, got, c.first)
		}
	}
}
