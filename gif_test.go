package vidstyle_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vidstyle/vidstyle"
)

// TestLogoGIFGoesToEveryOutput: a GIF of one picture becomes a picture
// (a PNG keeping its transparent colour), and still a GIF or a video of
// one frame, as it was before such a GIF was read as a still.
func TestLogoGIFGoesToEveryOutput(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.gif")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=96x64:d=0.04,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,30),0,255)'",
		"-vf", "split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128", logo).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	e := newEngine(t, vidstyle.Config{})
	for _, out := range []string{"styled.png", "styled.gif", "styled.mp4"} {
		res, err := e.Transcode(context.Background(), vidstyle.Job{In: logo, Out: filepath.Join(dir, out), Model: "toon"})
		if err != nil || res.Frames != 1 {
			t.Errorf("%s: %v, %d frames: want 1", out, err, res.Frames)
		}
	}
	if !probeAlpha(t, filepath.Join(dir, "styled.png")) {
		t.Errorf("styled.png lost the transparent colour")
	}
}
