package live_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vidstyle/vidstyle/live"
)

// TestSnapshotsNeverOverwrite: a snapshot whose name is taken (two in one
// millisecond, a clock set back) gets a name of its own; before, it wrote
// over the other file.
func TestSnapshotsNeverOverwrite(t *testing.T) {
	stem := filepath.Join(t.TempDir(), "vidstyle-20261208-010203.004")
	var names []string
	for _, data := range []string{"first", "second", "third"} {
		name, err := live.NewFileForTest(stem, ".png", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	for i, want := range []string{stem + ".png", stem + "-2.png", stem + "-3.png"} {
		got, err := os.ReadFile(want)
		if names[i] != want || err != nil || string(got) != []string{"first", "second", "third"}[i] {
			t.Errorf("snapshot %d: written to %s, %s holds %q (%v)", i+1, names[i], want, got, err)
		}
	}
	if _, err := live.NewFileForTest(filepath.Join(t.TempDir(), "missing", "x"), ".png", nil); err == nil {
		t.Error("a snapshot into a missing folder: no error")
	}
}
