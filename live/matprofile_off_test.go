//go:build !matprofile

package live_test

// liveMatsForTest counts the Mats not yet closed; only a matprofile build
// knows, this one says 0.
func liveMatsForTest() int { return 0 }

// matsCounted says whether liveMatsForTest counts (a matprofile build).
const matsCounted = false
