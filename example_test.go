package vidstyle_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vidstyle/vidstyle"
)

// sampleClip is gocv's small.mp4 (560x320, 30 fps, 166 frames).
func sampleClip() string {
	out, _ := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gocv.io/x/gocv").Output()
	return filepath.Join(strings.TrimSpace(string(out)), "images", "small.mp4")
}

// Stylize the first 30 frames of a clip in the built-in toon style,
// processed at a quarter of its size.
func ExampleEngine_Transcode() {
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	eng, err := vidstyle.New(vidstyle.Config{Device: "cpu", ModelsDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()
	eng.UseRuntime(sharedRT) // this test binary has loaded ONNX Runtime already; a program leaves this out
	res, err := eng.Transcode(context.Background(), vidstyle.Job{
		In: sampleClip(), Out: filepath.Join(dir, "styled.mp4"), Model: "toon", Frames: 30, Size: vidstyle.Size{Scale: 0.25},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(res.Out), res.Frames, "frames")
	// Output: styled.mp4 30 frames
}

// Switch from one style to the next halfway through a job.
func ExampleEngine_Open() {
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	eng, _ := vidstyle.New(vidstyle.Config{Device: "cpu", ModelsDir: dir})
	defer eng.Close()
	eng.UseRuntime(sharedRT) // this test binary has loaded ONNX Runtime already; a program leaves this out
	var t *vidstyle.Transcoder
	t, err := eng.Open(context.Background(), vidstyle.Job{
		In: sampleClip(), Out: filepath.Join(dir, "styled.mkv"), Model: "toon,pencil", Frames: 40, Size: vidstyle.Size{Width: 64, Height: 36},
		OnFrame: func(n int64) {
			if n == 20 {
				t.Styles().Next() // blocks this job's writer until pencil is ready
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()
	fmt.Println(t.Info().Style, "at", t.Info().Width, "x", t.Info().Height)
	res, err := t.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Frames, "frames, now", t.Styles().Names()[t.Styles().Current()])
	// Output:
	// toon at 64 x 36
	// 40 frames, now pencil
}

// A processing size from a flag value, and what it makes of a 1280x720
// frame.
func ExampleParseSize() {
	size, err := vidstyle.ParseSize("640x360")
	fmt.Println(size, err)
	w, h, _ := vidstyle.Size{Scale: 0.5}.For(1280, 720)
	fmt.Println(w, h)
	_, err = vidstyle.ParseSize("640")
	fmt.Println(vidstyle.IsUsage(err), err)
	// Output:
	// {640 360 0} <nil>
	// 640 360
	// true -size "640": want WIDTHxHEIGHT, e.g. 640x360
}
