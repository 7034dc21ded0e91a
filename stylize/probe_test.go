package stylize

import (
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, c := range []struct {
		version string
		ok      bool
	}{
		{"1.24.1", true}, {"1.24.0", true}, {"1.29.0", true}, {"2.0.0", true},
		{"1.23.2", false}, {"1.16.3", false}, {"0.9.0", false},
		{"", true}, {"dev", true}, {"1.x", true}, // unknown forms: the binding decides
	} {
		err := checkVersion(c.version)
		if (err == nil) != c.ok {
			t.Errorf("checkVersion(%q) = %v, want ok %v", c.version, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "version "+c.version+" is too old") {
			t.Errorf("checkVersion(%q) = %v: does not name the version", c.version, err)
		}
	}
}
