package vidstyle_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/stylize"
)

// The INT8 sibling is for the CPU: -precision auto asks where -device auto
// lands before it picks one. With the tests' CPU runtime that is the CPU;
// a device asked for is taken as it is.
func TestSessionDeviceIsWhereAutoLands(t *testing.T) {
	want := stylize.DeviceCPU
	if _, err := os.Stat(filepath.Join(filepath.Dir(sharedRT.Path()), "libonnxruntime_providers_cuda.so")); err == nil {
		t.Skipf("%s has GPU providers beside it: where auto lands depends on the machine", sharedRT.Path())
	}
	for _, c := range []struct{ device, want string }{
		{stylize.DeviceAuto, want},
		{stylize.DeviceCPU, stylize.DeviceCPU},
		{stylize.DeviceCUDA, stylize.DeviceCUDA},
	} {
		e := newEngine(t, vidstyle.Config{Device: c.device})
		for range 2 { // the second answer is the one kept
			if got := vidstyle.SessionDevice(e); got != c.want {
				t.Errorf("-device %s: sessions run on %q, want %q", c.device, got, c.want)
			}
		}
	}
}
