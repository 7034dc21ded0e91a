package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestAStillPictureLive: a photo given to -live plays as a still picture
// (before, -serve said "add -live" and -live then said "is an image: give
// -out", advice that went round in a circle): published to HLS at a steady
// 30 fps (not the picture's own 1 fps, which few players start), every
// frame the photo; the log says it stays on show. Published without -live
// (once, to the end), one frame would be the whole stream: refused, with
// advice that works.
func TestAStillPictureLive(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	model := identityModel(t, dir)
	hls := filepath.Join(dir, "hls")
	if err := os.Mkdir(hls, 0o755); err != nil {
		t.Fatal(err)
	}
	playlist := filepath.Join(hls, "s.m3u8")
	code, log := vidstyle(t, dir, []string{"DISPLAY="}, "-in", photo, "-publish", playlist, "-model", model)
	if code != 2 || !strings.Contains(log, "is an image: add -live") {
		t.Fatalf("a photo published once: exit %d, want 2 and the advice to add -live:\n%s", code, log)
	}

	cmd := command(dir, []string{"DISPLAY="}, "-in", photo, "-live", "-publish", playlist, "-model", model, "-temporal", "0", "-stats-period", "1h")
	waitFor, logs := startWatched(t, cmd)
	defer cmd.Process.Kill()
	waitFor("a still picture: it stays on show")
	// The stream goes on with no new frame: wait (bounded) for three
	// segments in the playlist.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(playlist)
		if strings.Count(string(b), "#EXTINF") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the playlist has not three segments after 30 s:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	for range logs { // to the end of its output
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after Ctrl-C: %v", err)
	}

	v := rm.Probe(t, playlist).Video(t)
	want := gocv.IMRead(photo, gocv.IMReadColor)
	defer want.Close()
	if v.Width != want.Cols() || v.Height != want.Rows() || v.RFrameRate != "30/1" {
		t.Fatalf("published %dx%d at %s fps, want %dx%d at 30/1", v.Width, v.Height, v.RFrameRate, want.Cols(), want.Rows())
	}
	for _, at := range []string{"first", "last"} {
		png := filepath.Join(dir, at+".png")
		args := []string{"-i", playlist, "-frames:v", "1", png}
		if at == "last" {
			args = []string{"-sseof", "-0.2", "-i", playlist, "-update", "1", png}
		}
		ffmpeg(t, args...)
		got := gocv.IMRead(png, gocv.IMReadColor)
		p := testmedia.PSNR(got, want)
		got.Close()
		t.Logf("%s published frame vs the photo: %.1f dB", at, p)
		if p < 30 {
			t.Errorf("the %s published frame is %.1f dB from the photo, want >= 30", at, p)
		}
	}
}
