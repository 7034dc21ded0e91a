//go:build matprofile

package capture_test

import (
	"fmt"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// TestMain fails the run if any test left a Mat open.
func TestMain(m *testing.M) {
	code := m.Run()
	if n := gocv.MatProfile.Count(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "%d Mats left open\n", n)
		code = 1
	}
	os.Exit(code)
}
