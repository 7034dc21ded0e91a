//go:build !matprofile

package temporal_test

// liveMats is 0 without the matprofile build tag, which counts Mats.
func liveMats() int { return 0 }
