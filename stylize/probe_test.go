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

// TestLibraryVersion reads the version of the library the tests loaded
// without asking it for an API, and refuses what is not ONNX Runtime.
func TestLibraryVersion(t *testing.T) {
	if v := libraryVersion(testRT.Path()); v != testRT.Version() || v == "" {
		t.Errorf("libraryVersion = %q, the binding says %q", v, testRT.Version())
	}
	for _, p := range []string{"/lib/x86_64-linux-gnu/libz.so.1", "/nonexistent.so", "/etc/hostname"} {
		if v := libraryVersion(p); v != "" {
			t.Errorf("libraryVersion(%s) = %q", p, v)
		}
	}
}
