package main_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestNetworkInput: -in with a URL (an MPEG-TS served over HTTP from
// loopback) is read as a stream, not "no such file": the file written
// from it has every frame and the audio; a URL that does not answer is
// one line and exit 1.
func TestNetworkInput(t *testing.T) {
	dir := t.TempDir()
	ts := filepath.Join(dir, "clip.ts")
	ffmpeg(t, "-i", testmedia.SmallMP4(t), "-frames:v", "30", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts", ts)
	data, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "clip.ts", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	code, stderr := vidstyle(t, dir, nil, "-in", srv.URL+"/clip.ts", "-out", "out.mp4", "-model", "toon")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	v, a := probe(t, filepath.Join(dir, "out.mp4"))
	if v.frames() != 30 || a == nil {
		t.Fatalf("video %+v audio %+v, want 30 frames and audio", v, a)
	}
	// A server that takes no Range requests (python3 -m http.server): the
	// TS then has no duration (ffprobe would seek to its end for one), but
	// a length, so it is a file to read twice, and its audio is kept.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	defer plain.Close()
	code, stderr = vidstyle(t, dir, nil, "-in", plain.URL+"/clip.ts", "-out", "plain.mkv", "-model", "toon")
	if code != 0 || strings.Contains(stderr, "live stream") {
		t.Fatalf("no Range requests: exit %d:\n%s", code, stderr)
	}
	if v, a := probe(t, filepath.Join(dir, "plain.mkv")); v.frames() != 30 || a == nil {
		t.Fatalf("no Range requests: video %+v audio %+v, want 30 frames and audio", v, a)
	}
	srv.Close()
	code, stderr = vidstyle(t, dir, nil, "-in", srv.URL+"/clip.ts", "-out", "out2.mp4")
	line := strings.TrimSpace(stderr)
	if code != 1 || strings.Contains(line, "\n") || strings.Contains(line, "no such file") || !strings.Contains(line, srv.URL) {
		t.Fatalf("closed server: exit %d, %q", code, line)
	}
}

// TestNoDecodableFrameNamesTheInput: a file whose video stream has no
// packets (cut past its end with -c copy) is an error about the input, not
// "output …: no frames were written", and leaves nothing.
func TestNoDecodableFrameNamesTheInput(t *testing.T) {
	dir := t.TempDir()
	base, sound := filepath.Join(dir, "base.mp4"), filepath.Join(dir, "sound.m4a")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-frames:v", "25", "-c:v", "libx264", "-preset", "ultrafast", base)
	ffmpeg(t, "-f", "lavfi", "-i", "sine=duration=4", "-c:a", "aac", sound)
	ffmpeg(t, "-ss", "3", "-i", base, "-i", sound, "-map", "0:v", "-map", "1:a", "-c", "copy", filepath.Join(dir, "zero.mp4"))
	code, stderr := vidstyle(t, dir, nil, "-in", "zero.mp4", "-out", "out.mp4", "-model", "toon")
	last := strings.TrimSpace(stderr[strings.LastIndex(strings.TrimSpace(stderr), "\n")+1:])
	if code != 1 || last != "vidstyle: error: input zero.mp4: no video frame could be decoded" {
		t.Fatalf("exit %d, last line %q:\n%s", code, last, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*out.mp4*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
