package live_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/stylize"
)

// testRT is the process's one ONNX Runtime, loaded by TestMain.
var testRT *stylize.Runtime

func TestMain(m *testing.M) {
	code := testort.Main(m, func(rt *stylize.Runtime) { testRT = rt })
	if n := liveMatsForTest(); n != 0 && code == 0 { // a matprofile build counts them
		fmt.Fprintf(os.Stderr, "%d Mats left open\n", n)
		code = 1
	}
	os.Exit(code)
}

// builtinStyles opens built-in styles for fw×fh frames painted at w×h on
// the CPU; they are closed when the test ends.
func builtinStyles(t testing.TB, fw, fh, w, h int, names ...string) *stylize.StyleSet {
	t.Helper()
	s, err := stylize.NewStyleSet(testRT, testort.Models(t, names...), stylize.Config{FrameWidth: fw, FrameHeight: fh, Width: w, Height: h, Device: stylize.DeviceCPU}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
