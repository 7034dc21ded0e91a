package stream

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/pipeline"
)

// smallDisk mounts a tmpfs of size bytes on a folder of the test's own,
// unmounted when the test ends; it skips where mounting is not allowed
// (not root; CI runs as root).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (%v): run as root, as CI does", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestFullDiskIsAnErrorAndKeepsTheOldFile: a disk that fills while the
// file is written (a real one, a 96 KiB tmpfs) makes Close fail with the
// reason, and a file already at the path is left as it was. ffmpeg 5.1
// exits 0 when Matroska's trailer cannot be written, leaving an empty file,
// and an interrupted MP4 kept no index: both were renamed over the old
// file and called written.
func TestFullDiskIsAnErrorAndKeepsTheOldFile(t *testing.T) {
	in := tracksSource(t, t.TempDir()) // 2 s of video, 4 s of audio
	noise := testmedia.Texture(t, 320, 240, 3, 7)
	defer noise.Close()
	for _, c := range []struct {
		name  string
		early bool
	}{{"o.mkv", false}, {"o.mkv", true}, {"o.mp4", false}, {"o.mp4", true}, {"o.webm", true}, {"o.mov", false}} {
		dir := smallDisk(t, 96<<10)
		path := filepath.Join(dir, c.name)
		old := bytes.Repeat([]byte("an older file the user keeps\n"), 100)
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		r := pipeline.Rate{Num: 25, Den: 1}
		var logs bytes.Buffer
		v, err := CreateVideo(VideoConfig{Path: path, Width: 320, Height: 240, Rate: r, Retime: true, End: 2 * time.Second, Input: in, CRF: new(0), Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := range 40 {
			// Lossless noise: far more than 96 KiB.
			werr = v.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Index: int64(i), PTS: r.Time(int64(i))}, Image: &pipeline.Ref[*gocv.Mat]{V: &noise}})
			if werr != nil {
				break
			}
		}
		closeFn := v.Close
		if c.early {
			closeFn = v.CloseEarly
		}
		err = errors.Join(werr, closeFn())
		v.Abort()
		if err == nil {
			t.Errorf("%s (early %v): a file that did not fit on the disk was called written", c.name, c.early)
		} else {
			t.Logf("%s (early %v): %v", c.name, c.early, err)
			// The reason in vidstyle's words, with the output's name (it
			// was ffmpeg's text, naming the hidden temporary file, for
			// MP4, MOV and GIF).
			if !strings.Contains(err.Error(), "the disk is full (no space left on device)") || strings.Contains(err.Error(), ".part") {
				t.Errorf("%s (early %v): %v, want the full disk named", c.name, c.early, err)
			}
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, old) {
			t.Errorf("%s (early %v): the file already there was changed (%d bytes, %v)", c.name, c.early, len(got), err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(left) > 0 {
			t.Errorf("%s (early %v): temporary files left: %v", c.name, c.early, left)
		}
		// No word about the audio of a file that is not kept.
		if strings.Contains(logs.String(), "could not cut the audio") {
			t.Errorf("%s (early %v): a warning about the audio of a file not written: %s", c.name, c.early, logs.String())
		}
	}
}

// TestFullDiskWhileFramesAreSent: a disk that fills while frames are
// still being sent (ffmpeg's GIF muxer gives up at once, and its pipe
// closes) is named as a full disk with the output's name, as at the end.
// It was ffmpeg's text, naming the hidden temporary file ("ffmpeg stopped
// after 11 frames: Error writing trailer of file:.o.gif.….part.gif").
func TestFullDiskWhileFramesAreSent(t *testing.T) {
	in := tracksSource(t, t.TempDir())
	a, b := testmedia.Texture(t, 320, 240, 3, 7), testmedia.Texture(t, 320, 240, 3, 8)
	defer a.Close()
	defer b.Close()
	dir := smallDisk(t, 512<<10)
	path := filepath.Join(dir, "o.gif")
	r := pipeline.Rate{Num: 25, Den: 1}
	v, err := CreateVideo(VideoConfig{Path: path, Width: 320, Height: 240, Rate: r, Retime: true, End: 12 * time.Second, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Abort()
	sent := 0
	for i := range 300 {
		m := &a
		if i%2 == 1 {
			m = &b
		}
		if err = v.Write(pipeline.Frame[*gocv.Mat]{Timing: pipeline.Timing{Index: int64(i), PTS: r.Time(int64(i))}, Image: &pipeline.Ref[*gocv.Mat]{V: m}}); err != nil {
			break
		}
		sent++
	}
	if err == nil {
		err = v.Close()
	}
	t.Logf("%d frames sent: %v", sent, err)
	if err == nil || !strings.Contains(err.Error(), "output "+path+": the disk is full (no space left on device)") || strings.Contains(err.Error(), ".part") {
		t.Errorf("%v, want the full disk named, with the output's name", err)
	}
}

// TestFullDiskImage: a picture that does not fit on the disk is one
// error naming the full disk, and the image already there is kept.
func TestFullDiskImage(t *testing.T) {
	noise := testmedia.Texture(t, 640, 480, 3, 9) // a PNG of ~900 KB
	defer noise.Close()
	for _, name := range []string{"o.png", "o.jpg", "o.jfif", "o.tif"} {
		dir := smallDisk(t, 64<<10)
		path := filepath.Join(dir, name)
		old := []byte("an older picture\n")
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := CreateImage(path, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = errors.Join(w.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &noise}}), w.Close())
		if err == nil || !strings.Contains(err.Error(), "the disk is full") {
			t.Errorf("%s: %v, want an error saying the disk is full", name, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
			t.Errorf("%s: the picture already there was changed", name)
		}
	}
	// The same pictures where there is room: each reads back.
	dir := t.TempDir()
	for _, name := range []string{"o.png", "o.jpg", "o.jfif", "o.tif", "o.webp", "o.bmp", "o.ppm"} {
		path := filepath.Join(dir, name)
		w, err := CreateImage(path, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(w.Write(pipeline.Frame[*gocv.Mat]{Image: &pipeline.Ref[*gocv.Mat]{V: &noise}}), w.Close()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back := gocv.IMRead(path, gocv.IMReadColor)
		if back.Cols() != 640 || back.Rows() != 480 {
			t.Errorf("%s: reads back %dx%d, want 640x480", name, back.Cols(), back.Rows())
		}
		back.Close()
	}
}

// TestFullDiskIsNotReadInAName: an output named with the words of a full
// disk is not taken for one when ffmpeg's error names the file.
func TestFullDiskIsNotReadInAName(t *testing.T) {
	path := "/x/No space left on device.mp4"
	v := &VideoFile{cfg: VideoConfig{Path: path}, tmp: "/x/.No space left on device.mp4.1.part.mp4", stderr: &tailBuffer{max: 4 << 10}}
	v.stderr.Write([]byte("[mp4 @ 0x1] Could not open file:" + v.tmp + ": Permission denied\n"))
	if err := v.diskFull(); err != nil {
		t.Errorf("%v, from a name", err)
	}
	v.stderr.Write([]byte("Error writing trailer of file:" + v.tmp + ": No space left on device\n"))
	if err := v.diskFull(); err == nil {
		t.Error("a full disk not seen")
	}
}
