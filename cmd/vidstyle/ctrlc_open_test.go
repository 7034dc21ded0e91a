package main_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtrlCWhileOpeningASilentStream: a terminal's Ctrl-C (SIGINT to the
// whole foreground process group) while vidstyle waits on a stream that
// answers nothing (a server that accepts and stays silent: ffprobe would
// wait its 20 s) stops it at once with one line and exit 130, for a file
// job and a live one, and leaves no ffprobe connected. Before, the file job
// died of the signal with no word, and the live one called it a bad input
// ("interrupt", exit 1): ffprobe, in vidstyle's group, had died of the
// same Ctrl-C.
func TestCtrlCWhileOpeningASilentStream(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"file", []string{"-out", "o.mp4"}, "interrupted while opening rtsp://%s/x: nothing written"},
		{"live", []string{"-live", "-serve", "-listen", "127.0.0.1:0"}, "interrupted while opening rtsp://%s/x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			conns := make(chan net.Conn, 4)
			go func() {
				for i := 0; i < 4; i++ { // bounded: ffprobe connects once
					cn, err := ln.Accept()
					if err != nil {
						return
					}
					conns <- cn
				}
			}()
			dir := t.TempDir()
			url := "rtsp://" + ln.Addr().String() + "/x"
			cmd := command(dir, nil, append([]string{"-in", url}, c.args...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's job: its own group
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer cmd.Process.Kill()
			var conn net.Conn
			select {
			case conn = <-conns:
				defer conn.Close()
			case err := <-exited:
				t.Fatalf("vidstyle ended before connecting: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatalf("vidstyle did not connect in 20 s:\n%s", stderr.String())
			}
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("still opening 10 s after Ctrl-C:\n%s", stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			want := "vidstyle: " + strings.Replace(c.want, "%s", ln.Addr().String(), 1)
			if code := cmd.ProcessState.ExitCode(); code != 130 || msg != want {
				t.Fatalf("exit %d (%v), stderr %q; want 130 and %q", code, cmd.ProcessState, msg, want)
			}
			// ffprobe is gone: the server sees the connection close.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the probe is still connected 5 s after vidstyle ended")
			}
			if _, err := os.Stat(dir + "/o.mp4"); err == nil {
				t.Error("an output file was left")
			}
		})
	}
}
