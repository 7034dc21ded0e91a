// Package testort loads ONNX Runtime for a test binary: the library that
// $VIDSTYLE_ORT_LIB names, else the one scripts/setup.sh puts in the lib
// folder of the checkout. It is imported by tests only.
package testort

import (
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// Main finds and loads ONNX Runtime, hands it to use, runs the tests and
// closes the runtime; the binding allows one per process, so a test binary
// shares this one. Main returns the exit code for os.Exit: 1, with a line on
// stderr that says how to get the library, when it cannot be loaded.
func Main(m *testing.M, use func(*stylize.Runtime)) int {
	wd, err := os.Getwd()
	var path string
	if err == nil {
		path, err = stylize.FindLibrary(os.Getenv(stylize.LibraryEnv), "", wd)
	}
	var rt *stylize.Runtime
	if err == nil {
		rt, err = stylize.Load(path, slog.New(slog.DiscardHandler))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "these tests need ONNX Runtime (run scripts/setup.sh, or set %s to the library): %v\n", stylize.LibraryEnv, err)
		return 1
	}
	defer rt.Close()
	use(rt)
	return m.Run()
}

// Models resolves model specs (built-in names or ONNX files) into the
// models stylize runs, failing the test when one cannot be read.
func Models(tb testing.TB, specs ...string) []stylize.Model {
	tb.Helper()
	var out []stylize.Model
	for _, spec := range specs {
		m, err := models.Resolve(spec)
		if err != nil {
			tb.Fatal(err)
		}
		graph, err := m.ONNX()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, stylize.Model{Name: m.Name, ONNX: graph})
	}
	return out
}
