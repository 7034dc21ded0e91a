// Command vidstyle paints video in the style of an artwork with a neural
// image transform net run by ONNX Runtime. See vidstyle -h.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/vidstyle/vidstyle/cmd/internal/cli"
)

func main() {
	// A closed terminal, an ssh drop or `vidstyle … 2>&1 | head` breaks
	// stderr. Without this, Go kills the program with SIGPIPE at its next
	// line there, a transcode's file half-written; with it the write fails
	// (EPIPE) and the job goes on to its end, or to the SIGHUP that
	// usually comes with it (handled as Ctrl-C: the file is kept). The
	// programs vidstyle starts keep the default disposition.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
