package stylize_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vidstyle/vidstyle/stylize"
)

// rt is the process's one ONNX Runtime, loaded by TestMain.
var rt *stylize.Runtime

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	wd, _ := os.Getwd()
	path, err := stylize.FindLibrary(os.Getenv(stylize.LibraryEnv), "", wd)
	if err == nil {
		rt, err = stylize.Load(path, slog.New(slog.DiscardHandler))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stylize tests need ONNX Runtime (run scripts/setup.sh):", err)
		return 1
	}
	defer rt.Close()
	return m.Run()
}

// sharedModel returns a model from ../shared/models, or skips the test.
func sharedModel(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "models", name+".onnx")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("pretrained model %s not present (%v): skipping", name, err)
	}
	return p
}
