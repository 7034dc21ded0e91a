//go:build !matprofile

package cli

func liveMatsForTest() int { return 0 }

// matsCounted says whether liveMatsForTest counts (a matprofile build).
const matsCounted = false
