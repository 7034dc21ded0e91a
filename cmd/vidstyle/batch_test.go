package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gocv.io/x/gocv"

	rm "github.com/vidstyle/vidstyle/internal/realmedia"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// TestBatchFolder: a folder as -in stylizes every picture and video in it
// into the -out folder (made), each as one job would: names kept, a type
// vidstyle does not write turned into .mp4 or .png (clip.avi beside
// clip.mp4 is clip-avi.mp4), text and hidden files left alone, a broken
// file said in one line while the others go on, exit 1 for it.
func TestBatchFolder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	clip := rm.IndexedClip(t, in, rm.Opts{Name: "clip.mp4", W: 160, H: 96, Frames: 12})
	rm.Derive(t, clip, "clip.avi", "-c:v", "mpeg4", "-q:v", "2")
	rm.FFmpeg(t, "-i", filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), "-vf", "scale=160:120", filepath.Join(in, "face.jpg"))
	rm.FFmpeg(t, "-i", filepath.Join(in, "face.jpg"), "-c:v", "targa", filepath.Join(in, "face2.tga"))
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("shot list\n"), 0o644)
	os.WriteFile(filepath.Join(in, ".hidden.mp4"), []byte("not a video"), 0o644)
	os.WriteFile(filepath.Join(in, "broken.mp4"), []byte("not a video either"), 0o644)
	// A link to a video is that video; a camera's thumbnail (a JPEG named
	// .THM) is no picture of the shoot.
	elsewhere := rm.IndexedClip(t, dir, rm.Opts{Name: "elsewhere.mp4", W: 160, H: 96, Frames: 12})
	if err := os.Symlink(elsewhere, filepath.Join(in, "linked.mp4")); err != nil {
		t.Fatal(err)
	}
	rm.FFmpeg(t, "-i", filepath.Join(in, "face.jpg"), "-f", "image2", "-c:v", "mjpeg", filepath.Join(in, "clip.THM"))

	out := filepath.Join(dir, "styled")
	code, log := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", identityModel(t, dir))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one file broken):\n%s", code, log)
	}
	for _, want := range []string{
		"broken.mp4: input " + filepath.Join(in, "broken.mp4") + ": cannot decode as video",
		"batch: 5 of 6 files done in " + out + ", 1 failed (broken.mp4); 3 other files left alone",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	var names []string
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"clip-avi.mp4", "clip.mp4", "face.jpg", "face2.png", "linked.mp4"}; !slices.Equal(names, want) {
		t.Fatalf("the output folder holds %v, want %v", names, want)
	}
	for _, name := range []string{"clip.mp4", "clip-avi.mp4", "linked.mp4"} {
		if got := rm.Indices(rm.ReadIndices(t, filepath.Join(out, name))); len(got) != 12 || got[0] != 0 || got[11] != 11 {
			t.Errorf("%s shows %v, want the 12 frames", name, got)
		}
	}
	for _, name := range []string{"face.jpg", "face2.png"} {
		m := gocv.IMRead(filepath.Join(out, name), gocv.IMReadColor)
		if m.Cols() != 160 || m.Rows() != 120 {
			t.Errorf("%s is %dx%d, want 160x120", name, m.Cols(), m.Rows())
		}
		m.Close()
	}

	// Refused before anything is written: the input folder again (by
	// name, or through a link), a stream, a playlist, and two files that
	// would be one output.
	link := filepath.Join(dir, "link")
	os.Symlink(in, link)
	for _, c := range []struct{ out, want string }{
		{in, "-out is the input folder"},
		{link, "-out is the input folder"},
		{"rtmp://127.0.0.1/live/x", "cannot be published to rtmp://127.0.0.1/live/"},
		{"hls/live.m3u8", "cannot be published to hls/live.m3u8"},
		{"o.mp4", "-out must be a folder too, not the file o.mp4"},
	} {
		if code, log := vidstyle(t, dir, nil, "-in", in, "-out", c.out); code != 2 || !strings.Contains(log, c.want) {
			t.Errorf("-out %s: exit %d, want 2 and %q:\n%s", c.out, code, c.want, log)
		}
	}
	// The live outputs play one input; a folder without -out says what
	// it needs.
	for _, args := range [][]string{{"-serve"}, {"-live"}, {"-live", "-loop", "-publish", "hls/live.m3u8"}, {"-serve", "-out", filepath.Join(dir, "o4")}, {}} {
		want := "is a folder: the live preview (-live, -serve, -publish) plays one file or camera"
		if len(args) == 0 {
			want = "is a folder: give -out FOLDER for the stylized files"
		}
		if code, log := vidstyle(t, dir, nil, append([]string{"-in", in}, args...)...); code != 2 || !strings.Contains(log, want) {
			t.Errorf("-in folder %v: exit %d, want 2 and %q:\n%s", args, code, want, log)
		}
	}
	twins := filepath.Join(dir, "twins")
	os.Mkdir(twins, 0o755)
	for _, name := range []string{"x.mp4", "x.MP4"} {
		os.Link(clip, filepath.Join(twins, name))
	}
	// On a folder that tells case apart (ext4 here), x.mp4 and x.MP4 are
	// two outputs (the batch was refused, "both written as x.mp4").
	if code, log := vidstyle(t, dir, nil, "-in", twins, "-out", filepath.Join(dir, "twins-out"), "-model", identityModel(t, dir)); code != 0 {
		t.Errorf("x.mp4 and x.MP4: exit %d, want 0:\n%s", code, log)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "twins-out")); len(entries) != 2 {
		t.Errorf("x.mp4 and x.MP4 made %d outputs, want 2", len(entries))
	}
	if entries, _ := os.ReadDir(dir); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == "rtmp:" || e.Name() == "hls" }) {
		t.Error("a folder was made for a stream or a playlist")
	}
}

// TestBatchNames: the names a folder brings are written as they are: a %
// in a picture's name (20%discount.jpg was taken for a numbered sequence
// and refused), an extension's case (IMG_0001.JPG became .jpg); a name
// too long for the output folder is said before its file is encoded
// (after, at its rename); a setting one of the files' encoder refuses
// stops the batch before anything is written, whichever file sorts first;
// a file standing where -out's folder would be is said at once.
func TestBatchNames(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	clip := rm.IndexedClip(t, in, rm.Opts{Name: "clip.mp4", W: 64, H: 48, Frames: 3})
	rm.FFmpeg(t, "-i", clip, "-frames:v", "1", filepath.Join(in, "IMG_0001.JPG"))
	os.Link(filepath.Join(in, "IMG_0001.JPG"), filepath.Join(in, "20%discount.jpg")) // ffmpeg would take the name for a pattern
	long := "%" + strings.Repeat("a", 250) + ".jpg"                                  // 255 bytes: the most a name holds
	os.Link(filepath.Join(in, "IMG_0001.JPG"), filepath.Join(in, long))
	rm.FFmpeg(t, "-i", clip, "-c", "copy", filepath.Join(in, strings.Repeat("b", 252)+".ts"))
	out := filepath.Join(dir, "out")
	code, log := vidstyle(t, dir, nil, "-in", in, "-out", out, "-model", identityModel(t, dir))
	if code != 1 || !strings.Contains(log, "more than a file name can hold") {
		t.Errorf("exit %d, want 1 with the long name said:\n%s", code, log)
	}
	var names []string
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{long, "20%discount.jpg", "IMG_0001.JPG", "clip.mp4"}; !slices.Equal(names, want) {
		t.Errorf("the output folder holds %v, want %v", names, want)
	}

	// -crf 60 is H.264's to refuse: said first (exit 2, nothing written)
	// when the picture sorts before the video.
	mixed := filepath.Join(dir, "mixed")
	os.Mkdir(mixed, 0o755)
	os.Link(filepath.Join(in, "IMG_0001.JPG"), filepath.Join(mixed, "a.jpg"))
	os.Link(clip, filepath.Join(mixed, "b.mp4"))
	mixedOut := filepath.Join(dir, "mixed-out")
	if code, log := vidstyle(t, dir, nil, "-in", mixed, "-out", mixedOut, "-crf", "60"); code != 2 || !strings.Contains(log, "b.mp4") {
		t.Errorf("-crf 60 with a picture first: exit %d, want 2 naming b.mp4:\n%s", code, log)
	}
	if _, err := os.Stat(mixedOut); err == nil {
		t.Errorf("-crf 60 made the output folder")
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if code, log := vidstyle(t, dir, nil, "-in", in, "-out", file+"/"); code != 2 || !strings.Contains(log, "stands where its folder would be") {
		t.Errorf("-out file/: exit %d, want 2:\n%s", code, log)
	}
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere", "folder"), dangling)
	for _, o := range []string{dangling, dangling + "/"} {
		if code, log := vidstyle(t, dir, nil, "-in", in, "-out", o); code != 2 || !strings.Contains(log, "is a link to nothing") {
			t.Errorf("-out %s: exit %d, want 2:\n%s", o, code, log)
		}
	}
}

// TestBatchCtrlC: Ctrl-C during a batch keeps the file being written
// (playable, as for one file), writes no other, and says how far the
// batch got: exit 130.
func TestBatchCtrlC(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	for _, name := range []string{"a.mp4", "b.mp4", "c.mp4"} {
		ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "10", "-c:v", "libx264", "-pix_fmt", "yuv420p", filepath.Join(in, name))
	}
	out := filepath.Join(dir, "out")
	cmd := command(dir, nil, "-in", in, "-out", out, "-model", "toon", "-stats-period", "20ms")
	waitFor, logs := startWatched(t, cmd)
	defer cmd.Process.Kill()
	waitFor(`progress: frame ([5-9]|[1-9][0-9]+)/`) // five frames written, at least
	cmd.Process.Signal(syscall.SIGINT)
	var rest []string
	for l := range logs {
		rest = append(rest, l)
	}
	cmd.Wait()
	log := strings.Join(rest, "\n")
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(log, "interrupted: kept") || !strings.Contains(log, "batch stopped: 0 of 3 files done") {
		t.Fatalf("exit %d, want 130, the file kept and the batch's count:\n%s", code, log)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "a.mp4" {
		t.Fatalf("the output folder holds %v, want a.mp4 alone", entries)
	}
	if v, _ := probe(t, filepath.Join(out, "a.mp4")); v.frames() < 5 || v.frames() >= 300 {
		t.Errorf("a.mp4 kept %d frames, want the ones done", v.frames())
	}
}
