//go:build !matprofile

package cli

// liveMats counts the Mats not yet closed; only a matprofile build knows.
func liveMats() (int, bool) { return 0, false }
