// Command vidstyle paints video in the style of an artwork with a neural
// image transform net run by ONNX Runtime. See vidstyle -h.
package main

import (
	"os"

	"github.com/vidstyle/vidstyle/cmd/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
