//go:build matprofile

package live_test

import "gocv.io/x/gocv"

// liveMatsForTest counts the Mats not yet closed.
func liveMatsForTest() int { return gocv.MatProfile.Count() }

// matsCounted says whether liveMatsForTest counts (a matprofile build).
const matsCounted = true
