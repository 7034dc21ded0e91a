//go:build matprofile

package cli

import "gocv.io/x/gocv"

// liveMats counts the Mats not yet closed; only a matprofile build knows.
func liveMats() (int, bool) { return gocv.MatProfile.Count(), true }
