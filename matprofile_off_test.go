//go:build !matprofile

package vidstyle_test

// liveMats counts the Mats left open (a matprofile build).
func liveMats() int { return 0 }
