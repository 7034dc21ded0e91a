//go:build matprofile

package temporal_test

import "gocv.io/x/gocv"

// liveMats counts the Mats left open (a matprofile build).
func liveMats() int { return gocv.MatProfile.Count() }
