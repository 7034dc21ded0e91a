package eval_test

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/eval"
)

// TestFilesWithTransparency: eval compares the colour of videos with an
// alpha channel (a styled ProRes 4444 against its QuickTime Animation
// source) without the warning a job gives that their transparency is
// painted opaque: eval paints nothing. It said so for both files.
func TestFilesWithTransparency(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "in.mov"), filepath.Join(dir, "out.mov")
	pattern := "testsrc2=size=96x64:rate=10:duration=1,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/W'"
	for _, c := range [][]string{{"-c:v", "qtrle", src}, {"-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", out}} {
		args := append([]string{"-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", pattern}, c...)
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
	}
	var logs bytes.Buffer
	res, err := eval.Run(context.Background(), eval.Files{In: src, Out: out}, eval.Config{}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 10 {
		t.Errorf("%d frames compared, want 10", res.Frames)
	}
	if strings.Contains(logs.String(), "transparency") {
		t.Errorf("eval warned of transparency:\n%s", logs.String())
	}
}
