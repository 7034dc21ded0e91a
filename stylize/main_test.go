package stylize_test

import (
	"fmt"
	"os"
	"testing"

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
