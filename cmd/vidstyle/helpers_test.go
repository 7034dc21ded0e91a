package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/stylize"
)

// These tests run the real vidstyle binary on real media with the real
// ffmpeg, OpenCV and ONNX Runtime.
var (
	binary    string           // built by TestMain
	repoRoot  string           // the checkout
	ortLib    string           // the ONNX Runtime library the tests use
	rt        *stylize.Runtime // loaded in this process for reference runs
	cacheHome string           // XDG_CACHE_HOME of the binary under test
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "vidstyle-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "vidstyle")
	// A models folder of the tests' own, so that nothing the user stored
	// can shadow a built-in name (given to the binary only: go itself keeps
	// its build cache under the same variable).
	cacheHome = filepath.Join(dir, "cache")
	args := []string{"build", "-o", binary}
	if matprofileBuild {
		args = append(args, "-tags", "matprofile")
	}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vidstyle:", err)
		return 1
	}
	return testort.Main(m, func(r *stylize.Runtime) { rt, ortLib = r, r.Path() })
}

// sharedModel is a pretrained model from ../shared/models, or a skip.
func sharedModel(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot, "..", "shared", "models", name+".onnx")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("pretrained model %s not present (%v): skipping", name, err)
	}
	return p
}

// vidstyle runs the binary in dir and returns its exit code and stderr.
func vidstyle(t testing.TB, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	return runCmd(t, command(dir, env, args...))
}

// runCmd runs cmd (the binary, or a shell that execs it) and returns its
// exit code and stderr; a death by signal fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("%v died of %v:\n%s", cmd.Args, ws.Signal(), stderr.String())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String()
}

func command(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), stylize.LibraryEnv+"="+ortLib, "XDG_CACHE_HOME="+cacheHome), env...)
	return cmd
}

// lines reads a command's stderr line by line into a channel.
func lines(t testing.TB, r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			t.Log(sc.Text())
			ch <- sc.Text()
		}
	}()
	return ch
}

// ffmpeg makes test media.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-v", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

type stream struct {
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	RFrameRate   string `json:"r_frame_rate"`
	AvgFrameRate string `json:"avg_frame_rate"`
	NbReadFrames string `json:"nb_read_frames"`
	Duration     string `json:"duration"`
}

// probe reads a media file's streams with ffprobe, counting video frames by
// decoding them.
func probe(t testing.TB, path string) (video stream, audio *stream) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,nb_read_frames,duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct{ Streams []stream }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	for i, s := range res.Streams {
		switch s.CodecType {
		case "video":
			video = s
		case "audio":
			audio = &res.Streams[i]
		}
	}
	if video.CodecType == "" {
		t.Fatalf("%s has no video stream", path)
	}
	return video, audio
}

func (s stream) frames() int {
	n, _ := strconv.Atoi(s.NbReadFrames)
	return n
}

func (s stream) seconds() float64 {
	f, _ := strconv.ParseFloat(s.Duration, 64)
	return f
}

// listDir names the files in dir.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// notUnderRace skips, when the binary under test is race-built, a test of
// what the binary makes of its input (tables of real-world media, the
// quantizer's numbers), not of how its goroutines meet: the race runtime
// multiplies their time by 2 to 4.5 (quantizing udnie: 40 s, 178 s with
// -race) and they reach no concurrency that the packages' own -race tests
// and this package's others do not. scripts/test.sh runs them in its
// second pass, without -race (-tags matprofile).
func notUnderRace(t *testing.T) {
	t.Helper()
	if raceBuild {
		t.Skip("not under -race: a test of the binary's output, run by scripts/test.sh's pass without -race (see notUnderRace)")
	}
}
