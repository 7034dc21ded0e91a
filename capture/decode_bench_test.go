package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// BenchmarkDecode compares the cost of a decoded frame through OpenCV's
// capture (in process) and through the ffmpeg subprocess vidstyle uses
// for files (decode, BGR conversion, pipe), on the same H.264 clip; each
// op is one frame. Run: go test ./capture -run '^$' -bench Decode -benchtime 240x
func BenchmarkDecode(b *testing.B) {
	for _, size := range []string{"640x360", "1280x720"} {
		clip := filepath.Join(b.TempDir(), "clip.mp4")
		if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
			"-frames:v", "240", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v %s", err, out)
		}
		open := map[string]func() (Source, error){
			"opencv": func() (Source, error) { return openOpenCV(clip, slog.New(slog.DiscardHandler)) },
			"ffmpeg": func() (Source, error) {
				return openDecoded(context.Background(), clip, KindFile, slog.New(slog.DiscardHandler))
			},
		}
		for _, way := range []string{"opencv", "ffmpeg"} {
			b.Run(fmt.Sprintf("%s/%s", size, way), func(b *testing.B) {
				m := gocv.NewMat()
				defer m.Close()
				src, err := open[way]()
				if err != nil {
					b.Fatal(err)
				}
				defer func() { src.Close() }()
				b.ResetTimer()
				for range b.N {
					if _, err := src.Read(&m); errors.Is(err, io.EOF) {
						b.StopTimer()
						src.Close()
						if src, err = open[way](); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						if _, err := src.Read(&m); err != nil {
							b.Fatal(err)
						}
					} else if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
