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
	"time"

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
				return openDecoded(context.Background(), clip, KindFile, slog.New(slog.DiscardHandler), OpenOptions{})
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

// BenchmarkLoopSeam times the read that crosses a looped file's seam (the
// end, the rewind, the first frame again): "ready" with the decoder Loop
// readies ahead, "cold" with a new ffmpeg started at the seam, as before
// 2026-12-07. One op is one seam; the round's other frames are read
// untimed, then 0.3 s pass, as when a live loop plays the round at its
// rate. Run: go test ./capture -run '^$' -bench LoopSeam -benchtime 20x
func BenchmarkLoopSeam(b *testing.B) {
	clip := filepath.Join(b.TempDir(), "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-frames:v", "10", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v %s", err, out)
	}
	for _, way := range []string{"ready", "cold"} {
		b.Run(way, func(b *testing.B) {
			src, err := openDecoded(context.Background(), clip, KindFile, slog.New(slog.DiscardHandler), OpenOptions{})
			if err != nil {
				b.Fatal(err)
			}
			d := src.(*decoded)
			l := Loop(src, nil)
			defer l.Close()
			m := gocv.NewMat()
			defer m.Close()
			read := func() {
				if _, err := l.Read(&m); err != nil {
					b.Fatal(err)
				}
			}
			read()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for range 9 {
					read()
				}
				if way == "cold" {
					d.closeMu.Lock()
					if d.spare != nil {
						d.spare.kill()
						d.spare = nil
					}
					d.closeMu.Unlock()
				}
				time.Sleep(300 * time.Millisecond)
				b.StartTimer()
				read() // the seam
			}
		})
	}
}
