package temporal_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/stylize"
)

// testRT is the process's one ONNX Runtime, loaded by TestMain, for the
// tests that run the stabiliser inside a real Stylizer.
var testRT *stylize.Runtime

func TestMain(m *testing.M) {
	code := testort.Main(m, func(rt *stylize.Runtime) { testRT = rt })
	if n := liveMats(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "%d Mats left open\n", n)
		code = 1
	}
	os.Exit(code)
}
