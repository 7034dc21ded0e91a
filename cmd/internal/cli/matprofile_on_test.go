//go:build matprofile

package cli

import "gocv.io/x/gocv"

func liveMatsForTest() int { return gocv.MatProfile.Count() }
