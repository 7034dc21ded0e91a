package stylize

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// testRT is the process's one ONNX Runtime, loaded by TestMain for the
// internal and external tests of this package.
var testRT *Runtime

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	wd, _ := os.Getwd()
	path, err := FindLibrary(os.Getenv(LibraryEnv), "", wd)
	if err == nil {
		testRT, err = Load(path, slog.New(slog.DiscardHandler))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stylize tests need ONNX Runtime (run scripts/setup.sh):", err)
		return 1
	}
	defer testRT.Close()
	code := m.Run()
	if n := liveMats(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "%d Mats left open\n", n)
		code = 1
	}
	return code
}
