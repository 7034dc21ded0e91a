//go:build !race

package main_test

// raceBuild: under go test -race, the binary under test gets -race too.
const raceBuild = false
