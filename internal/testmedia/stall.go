package testmedia

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StallingStream serves on loopback the first two thirds of a 12 s
// MPEG-TS of SmallMP4 at 160×96 (8 s: more than ffprobe's 5 s of
// analysis), and then nothing, holding the connection open: a live feed
// whose sender stopped. It returns the stream's URL; the server closes
// when the test ends.
func StallingStream(t testing.TB) string {
	t.Helper()
	ts := filepath.Join(t.TempDir(), "clip.ts")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-stream_loop", "-1", "-i", SmallMP4(t), "-t", "12",
		"-vf", "scale=160:96", "-c:v", "libx264", "-preset", "ultrafast", "-an", ts).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(data[:len(data)*2/3/188*188])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // and then nothing
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections) // runs first: the handlers return
	return srv.URL + "/live.ts"
}
