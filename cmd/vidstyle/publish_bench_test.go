package main_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/realmedia"
)

// TestPublishGlassToGlass measures, for BENCHMARKS.md, the time from when
// a frame of a file played live (-live, paced at 30 fps from its first
// frame) is due to when a player reading the stream from nginx has it
// decoded: vidstyle's paint and publish, x264, nginx, and the player's
// decode. Frame indices are blocks drawn in the picture. Run it with
// VIDSTYLE_BENCH_PUBLISH=1; it takes about 20 s.
func TestPublishGlassToGlass(t *testing.T) {
	if os.Getenv("VIDSTYLE_BENCH_PUBLISH") == "" {
		t.Skip("a measurement: set VIDSTYLE_BENCH_PUBLISH=1")
	}
	const w, h, frames, fps = 640, 360, 360, 30
	dir := t.TempDir()
	clip := realmedia.IndexedClip(t, dir, realmedia.Opts{W: w, H: h, Frames: frames, Video: []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"}})
	ngx := startNginx(t)
	model := identityModel(t, dir)
	p := startPublisher(t, "-in", clip, "-live", "-model", model, "-temporal", "0", "-publish", ngx.url("lat"), "-stats-period", "2s")
	p.waitFor(regexp.MustCompile(`live: .* with .* on `), 60*time.Second)
	t0 := time.Now() // the source's clock starts at its first read, just after this line
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32", "-analyzeduration", "0",
		"-i", ngx.url("lat"), "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", fmt.Sprintf("%dx%d", w, h), "pipe:1")
	out, err := rd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	defer rd.Wait()
	defer cancel()
	buf := make([]byte, 3*w*h)
	seen := map[int]bool{}
	var lat []time.Duration
	for n := 0; n < 30*fps; n++ { // at most 30 s of frames
		if _, err := io.ReadFull(out, buf); err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		now := time.Now()
		i := realmedia.ReadIndex(buf, w, h)
		if i < 0 || seen[i] {
			continue // a repeated picture, or none readable
		}
		seen[i] = true
		if i > 60 { // past the player's start-up
			lat = append(lat, now.Sub(t0.Add(time.Duration(i)*time.Second/fps)))
		}
		if i >= frames-30 {
			break
		}
	}
	if len(lat) < 100 {
		t.Fatalf("only %d frames read with their index", len(lat))
	}
	slices.Sort(lat)
	ms := regexp.MustCompile(`model (\d+) ms/frame`).FindAllStringSubmatch(p.text(), -1)
	m := "?"
	if len(ms) > 0 {
		m = ms[len(ms)-1][1]
	}
	t.Logf("glass to glass at %dx%d over %d frames: median %v, p90 %v, min %v, max %v; model %s ms/frame",
		w, h, len(lat), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*9/10].Round(time.Millisecond),
		lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), m)
}
