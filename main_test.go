package vidstyle_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/stylize"
)

// sharedRT is the process's one ONNX Runtime, loaded by TestMain.
var sharedRT *stylize.Runtime

func TestMain(m *testing.M) {
	code := testort.Main(m, func(rt *stylize.Runtime) { sharedRT = rt })
	if n := liveMats(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "%d Mats left open\n", n)
		code = 1
	}
	os.Exit(code)
}

// newEngine makes an engine from cfg that shares sharedRT: on the CPU
// unless cfg names a device, with an empty models folder of its own unless
// cfg names one (so that a style stored in the user's folder cannot stand
// in for a built-in one). It is closed when the test ends.
func newEngine(tb testing.TB, cfg vidstyle.Config) *vidstyle.Engine {
	tb.Helper()
	if cfg.Device == "" {
		cfg.Device = stylize.DeviceCPU
	}
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = tb.TempDir()
	}
	e, err := vidstyle.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	e.UseRuntime(sharedRT)
	tb.Cleanup(func() { e.Close() })
	return e
}
