package vidstyle

import "testing"

// TestParseResize: the forms -resize takes, and the ones it refuses.
func TestParseResize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Size
		ok   bool
	}{
		{"640x360", Size{Width: 640, Height: 360}, true},
		{"640X360", Size{Width: 640, Height: 360}, true},
		{"640", Size{Width: 640}, true},
		{"640x", Size{Width: 640}, true},
		{"x720", Size{Height: 720}, true},
		{"0.5", Size{Scale: 0.5}, true},
		{"1.5", Size{Scale: 1.5}, true},
		{"x", Size{}, false},
		{"8", Size{}, false},
		{"99999", Size{}, false},
		{"0.0", Size{}, false},
		{"9.5", Size{}, false},
		{"-1", Size{}, false},
		{"abc", Size{}, false},
		{"640x360x2", Size{}, false},
		{"", Size{}, false},
	} {
		got, err := ParseResize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseResize(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
