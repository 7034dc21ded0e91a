//go:build !matprofile

package cli

func liveMatsForTest() int { return 0 }
