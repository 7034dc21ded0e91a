//go:build !race

package stylize_test

// raceBuild: the tests run under the race detector.
const raceBuild = false
