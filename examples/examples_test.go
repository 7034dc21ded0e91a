// Package examples_test builds the example programs and runs them on real
// media: the transcode example on small.mp4, the live one headless with
// its web preview, watched by a WHEP client.
package examples_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testwhep"
)

// build compiles one example into a temporary folder.
func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("building examples/%s: %v\n%s", name, err, out)
	}
	return bin
}

// env runs an example with the checkout's ONNX Runtime and a cache (models
// folder) of its own.
func env(t *testing.T) []string {
	_, file, _, _ := runtime.Caller(0)
	lib := filepath.Join(filepath.Dir(file), "..", "lib", "libonnxruntime.so.1")
	return append(os.Environ(), "VIDSTYLE_ORT_LIB="+lib, "XDG_CACHE_HOME="+t.TempDir())
}

func TestTranscodeExample(t *testing.T) {
	bin := build(t, "transcode")
	var asked atomic.Int64 // the mirror is there, but built-in styles need no download
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer mirror.Close()
	out := filepath.Join(t.TempDir(), "styled.mp4")
	cmd := exec.Command(bin, "-in", testmedia.SmallMP4(t), "-out", out, "-model", "toon,pencil", "-catalog-mirror", mirror.URL)
	cmd.Env = env(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(stdout), out+": 166 frames") {
		t.Errorf("stdout: %s", stdout)
	}
	if !strings.Contains(stderr.String(), "style pencil") {
		t.Errorf("no switch to pencil halfway:\n%s", stderr.String())
	}
	if asked.Load() != 0 {
		t.Errorf("%d requests to the mirror", asked.Load())
	}
}

func TestLiveExample(t *testing.T) {
	bin := build(t, "live")
	cmd := exec.Command(bin, "-in", testmedia.SmallMP4(t), "-listen", "127.0.0.1:0")
	cmd.Env = env(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "http://") {
				urls <- sc.Text()
			}
		}
		close(urls)
	}()
	var base string
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("the example printed no URL:\n%s", stderr.String())
		}
		base = strings.TrimSuffix(u, "/")
	case <-time.After(60 * time.Second):
		t.Fatalf("no URL within 60 s:\n%s", stderr.String())
	}
	res, err := http.Get(base + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Styles []string }
	json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if strings.Join(st.Styles, ",") != "toon,pencil" {
		t.Errorf("styles %v", st.Styles)
	}
	viewer := testwhep.Watch(t, base)
	if n := viewer.WaitPackets(10, 20*time.Second); n == 0 {
		t.Error("the WHEP viewer got no video in 20 s")
	}
	viewer.Close()
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after Ctrl-C: %v\n%s", err, stderr.String())
	}
}
