package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// served is a running vidstyle -serve.
type served struct {
	url   string // as printed: http://127.0.0.1:PORT/ (?token=… when there is one)
	base  string // http://127.0.0.1:PORT
	host  string // 127.0.0.1:PORT
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   []string
	ended chan struct{} // the log is complete (stderr closed)
}

var previewURL = regexp.MustCompile(`web preview: (http://127\.0\.0\.1:(\d+)/\S*)`)

// startServe starts vidstyle -serve on the gocv sample clip, looping, on
// an ephemeral loopback port, with no display (so no window), and waits
// for the URL it prints. The process is stopped at the end of the test if
// the test did not stop it.
func startServe(t *testing.T, env []string, args ...string) *served {
	t.Helper()
	all := append([]string{"-in", testmedia.SmallMP4(t), "-live", "-loop", "-serve", "-listen", "127.0.0.1:0", "-scale", "0.5"}, args...)
	cmd := command(t.TempDir(), append([]string{"DISPLAY="}, env...), all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, ended: make(chan struct{})}
	t.Cleanup(func() { s.stop() })
	found := make(chan string, 1)
	go func() {
		defer close(s.ended)
		for l := range lines(t, stderr) {
			s.mu.Lock()
			s.log = append(s.log, l)
			s.mu.Unlock()
			if m := previewURL.FindStringSubmatch(l); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		s.url = u
	case <-s.ended:
		code, log := s.stop()
		t.Fatalf("vidstyle printed no URL (exit %d):\n%s", code, log)
	case <-time.After(60 * time.Second):
		_, log := s.stop()
		t.Fatalf("no URL within 60 s:\n%s", log)
	}
	pu, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	s.host = pu.Host
	s.base = "http://" + s.host
	return s
}

// stop sends Ctrl-C and returns the exit code and everything vidstyle
// printed; a second call returns the same.
func (s *served) stop() (int, string) {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(os.Interrupt)
		<-s.ended
		s.cmd.Wait()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.ProcessState.ExitCode(), strings.Join(s.log, "\n")
}

// get sends GET base+path with the Host and Authorization given ("" for
// none) and returns the status code and the body.
func (s *served) get(t *testing.T, path, host, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// state reads /api/state as a page of the server itself would (no Origin).
func (s *served) state(t *testing.T) apiState {
	t.Helper()
	code, body := s.get(t, "/api/state", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/state: %d %s", code, body)
	}
	var st apiState
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("state %s: %v", body, err)
	}
	return st
}

// apiState is the part of /api/state the tests read.
type apiState struct {
	Style    int     `json:"style"`
	Strength float64 `json:"strength"`
	Paused   bool    `json:"paused"`
	Viewers  int     `json:"viewers"`
}

// TestServeTokenFromEnvironmentAndFile: the token can come from
// $VIDSTYLE_TOKEN or -token-file (first line, spaces and line end
// trimmed) instead of -token, and then it is not in the process's command
// line, which every local user can read (ps, /proc/PID/cmdline). Without
// it the API is 401, with it 200. With no display the start-up line does
// not send the user to a window, and Ctrl-C ends the preview without
// calling it an error.
func TestServeTokenFromEnvironmentAndFile(t *testing.T) {
	const token = "a-token.that_is~long-enough-42"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("  "+token+" \r\nsecond line, ignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"environment", []string{"VIDSTYLE_TOKEN=" + token}, nil},
		{"file", nil, []string{"-token-file", file}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, c.env, c.args...)
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(cmdline), token) || !strings.Contains(string(cmdline), "-serve") {
				t.Errorf("command line %q: want -serve and not the token", cmdline)
			}
			if !strings.HasSuffix(s.url, "/?token="+token) {
				t.Errorf("printed URL %s does not carry the token", s.url)
			}
			for _, r := range []struct {
				path, auth string
				want       int
			}{
				{"/api/state", "", http.StatusUnauthorized},
				{"/api/state", "Bearer not-the-token-but-long", http.StatusUnauthorized},
				{"/api/state", "Bearer " + token, http.StatusOK},
				{"/api/state?token=" + token, "", http.StatusOK},
				{"/overlay", "", http.StatusUnauthorized},
				{"/overlay?token=" + token, "", http.StatusOK},
			} {
				if code, body := s.get(t, r.path, "", r.auth); code != r.want {
					t.Errorf("GET %s (Authorization %q): %d %s, want %d", r.path, r.auth, code, body, r.want)
				}
			}
			code, log := s.stop()
			if code != 0 || strings.Contains(log, "error") {
				t.Errorf("Ctrl-C: exit %d, want 0 and no error:\n%s", code, log)
			}
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "live: ") && strings.Contains(l, "window") {
					t.Errorf("no window is open, but the log says: %s", l)
				}
			}
		})
	}
}

// TestServeAllowHost: -allow-host adds names the server answers to (a
// name alone: on the server's port; name:port: that port only), repeated
// or comma-separated; any other Host still gets 421 (DNS rebinding).
func TestServeAllowHost(t *testing.T) {
	s := startServe(t, nil, "-allow-host", "myname", "-allow-host", "other.example:1,Third.Example")
	_, port, _ := strings.Cut(s.host, ":")
	for _, c := range []struct {
		host string
		want int
	}{
		{s.host, http.StatusOK},
		{"myname:" + port, http.StatusOK},
		{"MyName:" + port, http.StatusOK},
		{"third.example:" + port, http.StatusOK},
		{"other.example:" + port, http.StatusMisdirectedRequest}, // allowed on port 1 only
		{"myname:1", http.StatusMisdirectedRequest},
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"myname.evil.example:" + port, http.StatusMisdirectedRequest},
	} {
		for _, path := range []string{"/api/state", "/overlay"} {
			if code, body := s.get(t, path, c.host, ""); code != c.want {
				t.Errorf("GET %s with Host %s: %d %s, want %d", path, c.host, code, body, c.want)
			}
		}
	}
}
