//go:build matprofile

package cli

import "gocv.io/x/gocv"

func liveMatsForTest() int { return gocv.MatProfile.Count() }

// matsCounted says whether liveMatsForTest counts (a matprofile build).
const matsCounted = true
