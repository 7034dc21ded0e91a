//go:build !matprofile

package main_test

// matprofileBuild: the binary under test is built with -tags matprofile too.
const matprofileBuild = false
