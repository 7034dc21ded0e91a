//go:build matprofile

package main_test

// buildTags builds the binary under test like the test itself.
var buildTags = []string{"-tags", "matprofile"}
