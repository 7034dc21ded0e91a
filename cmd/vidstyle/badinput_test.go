package main_test

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
)

var updateReliability = flag.Bool("update-reliability", false, "rewrite the bad-input table in RELIABILITY.md with the messages of this run")

// badInput is one row of the bad-input table: the arguments and
// environment of one run of the binary, the exit code it must give and a
// part of the one line it must print.
type badInput struct {
	name   string
	env    []string
	args   []string
	code   int
	want   string
	fileKB int // when > 0, run under ulimit -f fileKB (a full disk)
}

// badInputFixtures writes the broken files the table refers to into dir.
type badInputFixtures struct {
	dir, small, photo, tiny, textMP4, newlineMP4, notONNX, audioOnly, song, badPNG, cutMP4, nanModel, unitModel, upModel string
	withSidecar, truncated, rank, channels, float16, oldORT, noFFmpeg                                                    string
	apng, animWebP, heic                                                                                                 string
	fifo, fifoOut, hugePPM, cutPNG                                                                                       string
	// othersToken is a 0600 token file another user (nobody) owns; ""
	// when not root (it cannot be made).
	othersToken string
	// zeroModel is a link named .onnx to /dev/zero; lfsModel a Git LFS
	// pointer; pthModel a PyTorch checkpoint (a ZIP); hugeModel a sparse
	// file over 2 GiB that begins as a model does.
	zeroModel, lfsModel, pthModel, hugeModel string
	// external is a model whose weights are kept in ../../../../etc/passwd;
	// evilStore a models folder that holds it as "planted".
	external, evilStore string
}

func makeBadInputFixtures(t *testing.T) badInputFixtures {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := badInputFixtures{dir: dir, small: testmedia.SmallMP4(t)}
	f.photo = filepath.Join(filepath.Dir(f.small), "face.jpg")
	write("empty.mp4", nil)
	f.textMP4 = write("notes.mp4", []byte("this is a text file\n"))
	f.newlineMP4 = write("notes\nline 2.mp4", []byte("this is a text file\n"))
	f.notONNX = write("notes.onnx", []byte("this is a text file\n"))
	f.tiny = filepath.Join(dir, "tiny.png")
	m := gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)
	gocv.IMWrite(f.tiny, m)
	m.Close()
	f.noFFmpeg = t.TempDir() // a PATH with no ffmpeg in it
	f.audioOnly = filepath.Join(dir, "audio.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac", f.audioOnly)
	f.song = filepath.Join(dir, "song.mp3")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440", "-i", f.photo, "-map", "0", "-map", "1", "-t", "1", "-c:a", "libmp3lame",
		"-c:v", "mjpeg", "-disposition:v", "attached_pic", f.song)
	f.badPNG = write("broken.png", []byte("\x89PNG but not really"))
	face := gocv.IMRead(f.photo, gocv.IMReadColor)
	png, err := gocv.IMEncode(gocv.PNGFileExt, face)
	face.Close()
	if err != nil {
		t.Fatal(err)
	}
	f.cutPNG = write("download.png", png.GetBytes()[:png.Len()*6/10]) // a download that stopped
	png.Close()
	f.apng, f.animWebP = filepath.Join(dir, "anim.png"), filepath.Join(dir, "anim.webp")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1", "-f", "apng", f.apng)
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1", "-c:v", "libwebp_anim", f.animWebP)
	// Nothing here writes HEIC: a phone's file type box (major brand
	// heic, compatible mif1) before data, which is what the type is told by.
	f.heic = write("IMG_0001.HEIC", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 512)...))
	// An MP4 cut before its index (written last, as cameras and ffmpeg do
	// by default): a copy stopped half way, a recording still running.
	whole := filepath.Join(dir, "whole.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30:duration=1", "-c:v", "libx264", "-preset", "ultrafast", whole)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	f.cutMP4 = write("cut.mp4", data[:len(data)/2])
	sideDir := filepath.Join(dir, "sidecar")
	os.Mkdir(sideDir, 0o755)
	f.withSidecar = filepath.Join(sideDir, "net.onnx")
	os.WriteFile(f.withSidecar, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13}), 0o644)
	os.WriteFile(filepath.Join(sideDir, "net.json"), []byte(`{"range":"0..100"}`), 0o644)
	if udnie := filepath.Join(repoRoot, "..", "shared", "models", "udnie.onnx"); fileExists(udnie) {
		data, _ := os.ReadFile(udnie)
		f.truncated = write("udnie-half.onnx", data[:len(data)/2])
	} else {
		good := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13})
		f.truncated = write("johnson-half.onnx", good[:len(good)/2])
	}
	for _, b := range []struct {
		kind string
		dst  *string
	}{{testmodels.BrokenRank, &f.rank}, {testmodels.BrokenChannels, &f.channels}, {testmodels.BrokenFloat16, &f.float16}} {
		data, err := testmodels.BrokenGraph(b.kind)
		if err != nil {
			t.Fatal(err)
		}
		*b.dst = write(b.kind+".onnx", data)
	}
	f.oldORT = filepath.Join(repoRoot, "lib", "test", "libonnxruntime.so.1.16.3")
	f.nanModel = write("nan.onnx", testmodels.ScaledGraph(float32(math.NaN())))
	f.unitModel = write("unit.onnx", testmodels.ScaledGraph(1.0/255))
	f.upModel = write("x100.onnx", testmodels.ResizedGraph(100))
	f.external = write("evil.onnx", testmodels.ExternalDataGraph("../../../../etc/passwd"))
	f.fifo = filepath.Join(dir, "stream.ts")
	if err := syscall.Mkfifo(f.fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	f.fifoOut = filepath.Join(dir, "to-a-player.mp4")
	if err := syscall.Mkfifo(f.fifoOut, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		f.othersToken = filepath.Join(dir, "others-token.txt")
		if err := os.WriteFile(f.othersToken, []byte("sixteen-chars-xx-yy\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f.othersToken, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	f.zeroModel = filepath.Join(dir, "zero.onnx")
	if err := os.Symlink("/dev/zero", f.zeroModel); err != nil {
		t.Fatal(err)
	}
	f.lfsModel = write("udnie-lfs.onnx", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7b36d3\nsize 6728029\n"))
	f.pthModel = write("udnie.pth", []byte("PK\x03\x04\x00\x00\x08\x00\x00\x00udnie/data.pkl"))
	f.hugeModel = write("huge.onnx", []byte("\x08\x07\x12\x07pytorch"))
	if err := os.Truncate(f.hugeModel, 3<<30); err != nil {
		t.Fatal(err)
	}
	f.hugePPM = write("huge.ppm", []byte("P6\n50000 50000\n255\n\x00\x00\x00"))
	f.evilStore = filepath.Join(dir, "evil-store")
	os.Mkdir(f.evilStore, 0o755)
	os.WriteFile(filepath.Join(f.evilStore, "planted.onnx"), testmodels.ExternalDataGraph("../../../../etc/passwd"), 0o644)
	return f
}

// badInputs is the bad-input table. RELIABILITY.md shows it with the
// messages of a real run (go test -run TestBadInput -update-reliability
// rewrites it there).
func badInputs(f badInputFixtures) []badInput {
	photo, small := f.photo, f.small
	rows := []badInput{
		{"missing input", nil, []string{"-in", "nope.mp4", "-out", "o.mp4"}, 1, "input nope.mp4: no such file", 0},
		{"directory as input, a file as output", nil, []string{"-in", f.dir, "-out", "o.mp4"}, 2, "is a folder: -out must be a folder too, not the file o.mp4", 0},
		{"directory as input, live", nil, []string{"-in", f.dir, "-live", "-serve", "-listen", "127.0.0.1:0"}, 2, "is a folder: the live preview (-live, -serve, -publish) plays one file or camera", 0},
		{"empty file", nil, []string{"-in", filepath.Join(f.dir, "empty.mp4"), "-out", "o.mp4"}, 1, "is an empty file", 0},
		{"text file named .mp4", nil, []string{"-in", f.textMP4, "-out", "o.mp4"}, 1, "cannot decode as video", 0},
		{"the same, its name with a newline in it", nil, []string{"-in", f.newlineMP4, "-out", "o.mp4"}, 1, `notes\nline 2.mp4: cannot decode as video`, 0},
		{"a pipe (FIFO) as input", nil, []string{"-in", f.fifo, "-out", "o.mp4"}, 1, "is a pipe: vidstyle reads a file twice", 0},
		{"standard input as input (-in -)", nil, []string{"-in", "-", "-out", "o.mp4"}, 1, "standard input and pipes are not read", 0},
		{"a picture whose header claims 50000×50000", nil, []string{"-in", f.hugePPM, "-out", "o.png"}, 1, "the picture is bigger than vidstyle reads", 0},
		{"model whose output is NaN (broken weights)", nil, []string{"-in", photo, "-out", "o.png", "-model", f.nanModel, "-q"}, 1, "100% of its output is not a number (NaN or infinite): its weights are broken", 0},
		{"models import of that model", nil, []string{"models", "import", "-q", "-models-dir", filepath.Join(f.dir, "nan-store"), f.nanModel}, 1, "its weights are broken", 0},
		{"model of 0..1 pixels with no sidecar", nil, []string{"-in", photo, "-out", "o.png", "-model", f.unitModel, "-q"}, 1, `where a 0..255 model paints 0..255: for a model of 0..1 pixels, put unit.json beside it with {"range": "0..1"}`, 0},
		{"model of 80 bytes that paints 100 times its input's size", nil, []string{"-in", photo, "-out", "o.png", "-model", f.upModel, "-q"}, 1, "vidstyle takes an output of at most 8 times the input's side, 8192 a side and 36 megapixels", 0},
		{"-snapshots folder missing", nil, []string{"-in", small, "-live", "-snapshots", "no/such/dir"}, 2, "-snapshots no/such/dir: no such folder", 0},
		{"MP4 cut before its index (moov atom)", nil, []string{"-in", f.cutMP4, "-out", "o.mp4"}, 1, "without its index (the moov atom): cut short or still being written", 0},
		{"video with no video stream (audio only)", nil, []string{"-in", f.audioOnly, "-out", "o.mp4"}, 1, "cannot decode as video", 0},
		{"a song with cover art", nil, []string{"-in", f.song, "-out", "o.mp4"}, 1, "it is sound with a cover picture", 0},
		{"HEIC photo (an iPhone's)", nil, []string{"-in", f.heic, "-out", "o.jpg"}, 1, "a HEIC/HEIF photo, which neither OpenCV nor ffmpeg here decodes: convert it to JPEG or PNG first", 0},
		{"animated WebP", nil, []string{"-in", f.animWebP, "-out", "o.mp4"}, 1, "an animated WebP, whose frames neither OpenCV nor ffmpeg here decodes", 0},
		{"animated PNG into an image", nil, []string{"-in", f.apng, "-out", "o.png"}, 2, "is an animated PNG, a video: give a video output", 0},
		{"unsupported image", nil, []string{"-in", f.badPNG, "-out", "o.png"}, 1, "not an image OpenCV or ffmpeg can read", 0},
		{"PNG cut short (a download that stopped)", nil, []string{"-in", f.cutPNG, "-out", "o.png"}, 1, "is cut short (a PNG without its end", 0},
		{"camera index that does not exist", nil, []string{"-in", "cam:7", "-out", "o.mp4"}, 1, "camera 7: cannot open", 0},
		{"a pipe (FIFO) as output", nil, []string{"-in", small, "-out", f.fifoOut}, 1, "is a named pipe (FIFO): vidstyle writes files", 0},
		{"output folder missing", nil, []string{"-in", small, "-out", "no/such/dir/o.mp4"}, 1, "folder no/such/dir/", 0},
		{"output folder read-only", nil, []string{"-in", small, "-out", "/proc/o.mp4"}, 1, "cannot write in /proc/", 0},
		{"output disk full (ulimit -f 200)", nil, []string{"-in", small, "-out", "o.mp4", "-q"}, 1, "file size limit exceeded", 200},
		{"unknown output type", nil, []string{"-in", small, "-out", "o.avi"}, 2, ".avi is not a video type", 0},
		{"-crf above x264's 51", nil, []string{"-in", small, "-out", "o.mp4", "-crf", "99"}, 2, "-crf 99: x264 takes 0 to 51", 0},
		{"-crf above VP9's 63", nil, []string{"-in", small, "-out", "o.webm", "-crf", "64"}, 2, "-crf 64: VP9 takes 0 to 63", 0},
		{"-alpha keep into an .mp4", nil, []string{"-in", small, "-out", "o.mp4", "-alpha", "keep"}, 2, "-alpha keep: an MP4 cannot hold transparency", 0},
		{"-alpha of an unknown kind", nil, []string{"-in", small, "-out", "o.mov", "-alpha", "yes"}, 2, `-alpha "yes": use auto, keep or drop`, 0},
		{"unknown -preset", nil, []string{"-in", small, "-out", "o.mp4", "-preset", "quick"}, 2, `-preset "quick": x264 takes ultrafast`, 0},
		{"empty -model", nil, []string{"-in", photo, "-out", "o.png", "-model", ""}, 2, "-model is empty", 0},
		{"-serve with a file but no -live", nil, []string{"-in", small, "-serve"}, 2, "add -live", 0},
		{"-token too short", nil, []string{"-in", small, "-live", "-serve", "-token", "short"}, 2, "-token: the token is too short: 5 characters, at least 16", 0},
		{"$VIDSTYLE_TOKEN too short", []string{"VIDSTYLE_TOKEN=short"}, []string{"-in", small, "-live", "-serve"}, 2, "$VIDSTYLE_TOKEN: the token is too short", 0},
		{"-token-file others can read", nil, []string{"-in", small, "-live", "-serve", "-token-file", f.notONNX}, 2, "lets other users read or change it: chmod 600", 0},
		{"-token-file is a pipe (FIFO)", nil, []string{"-in", small, "-live", "-serve", "-token-file", f.fifo}, 2, "stream.ts: not a regular file", 0},
		{"-token-file missing", nil, []string{"-in", small, "-live", "-serve", "-token-file", "nope.txt"}, 2, "-token-file nope.txt: cannot open: no such file", 0},
		{"-token and -token-file", nil, []string{"-in", small, "-live", "-serve", "-token", "sixteen-chars-xx", "-token-file", "t.txt"}, 2, "give -token or -token-file, not both", 0},
		{"-token without -serve", nil, []string{"-in", small, "-live", "-token", "sixteen-chars-xx"}, 2, "go with -serve", 0},
		{"-allow-host with a path", nil, []string{"-in", small, "-live", "-serve", "-allow-host", "evil.example/x"}, 2, "not a host name or host:port", 0},
		{"-listen without a port", nil, []string{"-in", small, "-live", "-serve", "-listen", "localhost"}, 2, "-listen: address localhost: missing port", 0},
		{"-listen with a port over 65535", nil, []string{"-in", small, "-live", "-serve", "-listen", "127.0.0.1:99999"}, 2, "-listen: port 99999: use 0 to 65535", 0},
		{"-listen on an address not of this machine", nil, []string{"-in", small, "-live", "-serve", "-listen", "192.0.2.7:8080"}, 2, "-listen: 192.0.2.7 is not an address of this machine", 0},
		{"video into an image", nil, []string{"-in", small, "-out", "o.png"}, 2, "is a video: give a video output", 0},
		{"image into a video type", nil, []string{"-in", photo, "-out", "o.mp4"}, 2, "is an image: give an image output", 0},
		{"image into a GIF", nil, []string{"-in", photo, "-out", "o.gif"}, 2, "is an image: give an image output", 0},
		{"missing photo into a video type", nil, []string{"-in", "typo.png", "-out", "o.mp4"}, 1, "input typo.png: no such file", 0},
		{"ffmpeg missing", []string{"PATH=" + f.noFFmpeg}, []string{"-in", small, "-out", "o.mp4"}, 1, "ffmpeg not found", 0},
		{"ONNX Runtime missing", nil, []string{"-in", photo, "-out", "o.png", "-ort-lib", "/nonexistent/libonnxruntime.so.1"}, 1, "ONNX Runtime library /nonexistent/libonnxruntime.so.1", 0},
		{"ONNX Runtime: not a library", nil, []string{"-in", photo, "-out", "o.png", "-ort-lib", f.notONNX}, 1, "not a shared library", 0},
		{"ONNX Runtime: some other library", nil, []string{"-in", photo, "-out", "o.png", "-ort-lib", "/lib/x86_64-linux-gnu/libz.so.1"}, 1, "not an ONNX Runtime library", 0},
		{"ONNX Runtime older than the API (1.16.3)", nil, []string{"-in", photo, "-out", "o.png", "-ort-lib", f.oldORT}, 1, "version 1.16.3 is too old: vidstyle needs ONNX Runtime 1.24 or newer", 0},
		{"model file not ONNX", nil, []string{"-in", photo, "-out", "o.png", "-model", f.notONNX}, 1, "not an ONNX model: ", 0},
		{"-model a link to /dev/zero", nil, []string{"-in", photo, "-out", "o.png", "-model", f.zeroModel}, 1, "zero.onnx: is not a regular file (a character device)", 0},
		{"-model a Git LFS pointer", nil, []string{"-in", photo, "-out", "o.png", "-model", f.lfsModel}, 1, "not an ONNX model: it is a Git LFS pointer, not the model: fetch the file itself (git lfs pull)", 0},
		{"-model a PyTorch checkpoint (.pth)", nil, []string{"-in", photo, "-out", "o.png", "-model", f.pthModel}, 1, "a ZIP archive (a PyTorch .pt/.pth checkpoint", 0},
		{"models import of a 3 GiB file", nil, []string{"models", "import", "-models-dir", filepath.Join(f.dir, "huge-store"), f.hugeModel}, 1, "the file is 3.0 GiB, over the 2.0 GiB a self-contained file can be", 0},
		{"model truncated", nil, []string{"-in", photo, "-out", "o.png", "-model", f.truncated}, 1, "not an ONNX model: ", 0},
		{"model input of wrong rank", nil, []string{"-in", photo, "-out", "o.png", "-model", f.rank}, 1, `has shape [1,3,?], not a [1,3,H,W] image`, 0},
		{"model input with 1 channel", nil, []string{"-in", photo, "-out", "o.png", "-model", f.channels}, 1, `has shape [1,1,?,?]: not 3 channels`, 0},
		{"model with float16 input only", nil, []string{"-in", photo, "-out", "o.png", "-model", f.float16}, 1, `is float16; vidstyle runs float32 image models`, 0},
		{"catalog name unknown", nil, []string{"-in", photo, "-out", "o.png", "-model", "nonesuch"}, 1, `unknown model "nonesuch"`, 0},
		{"sidecar with a bad value", nil, []string{"-in", photo, "-out", "o.png", "-model", f.withSidecar}, 1, `range "0..100"`, 0},
		{"-size 0x0", nil, []string{"-in", photo, "-out", "o.png", "-size", "0x0"}, 2, "-size 0x0", 0},
		{"negative scale", nil, []string{"-in", photo, "-out", "o.png", "-scale", "-1"}, 2, "-scale -1", 0},
		{"both -size and -scale", nil, []string{"-in", photo, "-out", "o.png", "-size", "64x64", "-scale", "0.5"}, 2, "not both", 0},
		{"frames under 16x16", nil, []string{"-in", f.tiny, "-out", "o.png"}, 1, "8x8, smaller than the 16x16 minimum", 0},
		{"scale below 16x16", nil, []string{"-in", photo, "-out", "o.png", "-scale", "0.01"}, 2, "below the 16x16 minimum", 0},
		{"no display for the window (DISPLAY unset)", []string{"DISPLAY="}, []string{"-in", small, "-live"}, 1, "no display", 0},
		{"no display for the window (no X server at :97)", []string{"DISPLAY=:97"}, []string{"-in", small, "-live"}, 1, "no display", 0},
		{"no -in", nil, []string{"-out", "o.mp4"}, 2, "-in is required", 0},
		{"unknown flag", nil, []string{"-in", photo, "-out", "o.png", "-ss", "3"}, 2, "flag provided but not defined: -ss", 0},
		{"unknown device", nil, []string{"-in", photo, "-out", "o.png", "-device", "tpu"}, 2, `device "tpu"`, 0},
		{"bench with negative frames", nil, []string{"bench", "-frames", "-5"}, 2, "-frames and -encode-threads cannot be negative", 0},
		{"bench with an unknown device", nil, []string{"bench", "-device", "tpu"}, 2, `device "tpu"`, 0},
		{"models with a flag it does not take", nil, []string{"models", "list", "-frames", "3"}, 2, "flag provided but not defined: -frames", 0},
		{"model keeps its weights in another file (../../../../etc/passwd)", nil, []string{"-in", photo, "-out", "o.png", "-model", f.external}, 1, `model evil: tensor "external_1" keeps its data in an external file ("../../../../etc/passwd"): vidstyle loads only self-contained models`, 0},
		{"a style to switch to keeps its weights in another file", nil, []string{"-in", small, "-out", "o.mp4", "-model", "toon," + f.external}, 1, `keeps its data in an external file ("../../../../etc/passwd")`, 0},
		{"model in the models folder keeps its weights in another file", nil, []string{"-in", photo, "-out", "o.png", "-models-dir", f.evilStore, "-model", "planted"}, 1, `model planted: tensor "external_1" keeps its data in an external file`, 0},
		{"models import of a model that keeps its weights in another file", nil, []string{"models", "import", f.external}, 1, `model evil: tensor "external_1" keeps its data in an external file`, 0},
		{"-model FILE.onnx missing, a catalog name", nil, []string{"-in", photo, "-out", "o.png", "-model", "udnie.onnx"}, 1, "did you mean -model udnie (catalog)?", 0},
		{"-model with a typo", nil, []string{"-in", photo, "-out", "o.png", "-model", "tooon"}, 1, "did you mean -model toon (built in)?", 0},
		{"models import under a built-in name", nil, []string{"models", "import", f.withSidecar, "toon"}, 1, `model name "toon" is a built-in style's: store it under another name`, 0},
		{"models pull under a name that cannot be stored (checked before downloading)", nil, []string{"models", "pull", "-name", "../x", "http://127.0.0.1:9/x.onnx"}, 1, `model name "../x": use up to 64 letters`, 0},
		{"bench -model empty", nil, []string{"bench", "-model", ""}, 2, "-model is empty", 0},
		{"models info with an empty name", nil, []string{"models", "info", ""}, 2, "models info: an argument is empty", 0},
		{"models import with no HOME (no shared fallback folder)", []string{"HOME=", "XDG_CACHE_HOME=", "VIDSTYLE_MODELS="}, []string{"models", "import", f.withSidecar}, 1, "no models folder: $HOME and $XDG_CACHE_HOME are not set; give one with -models-dir DIR or $VIDSTYLE_MODELS", 0},
	}
	if f.othersToken != "" {
		rows = append(rows, badInput{"-token-file another user owns (mode 600)", nil, []string{"-in", small, "-live", "-serve", "-token-file", f.othersToken}, 2, "owned by uid 65534, not by the user vidstyle runs as", 0})
	}
	return rows
}

// TestBadInput runs the bad-input table on the real binary: each row is
// one clear line, its exit code, no crash and nothing left in the output
// folder.
func TestBadInput(t *testing.T) {
	f := makeBadInputFixtures(t)
	if !fileExists(f.oldORT) {
		t.Fatalf("%s is missing: scripts/test.sh fetches it (an ONNX Runtime older than the binding's API)", f.oldORT)
	}
	cases := badInputs(f)
	got := make([]string, len(cases))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			code, stderr := runLimited(t, out, c)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			got[i] = lines[len(lines)-1]
			if code != c.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "vidstyle: error: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and one line containing %q", code, stderr, c.code, c.want)
			}
			if left := listDir(t, out); len(left) != 0 {
				t.Errorf("left in the output folder: %v", left)
			}
		})
	}
	if t.Failed() {
		return
	}
	doc := filepath.Join(repoRoot, "RELIABILITY.md")
	if *updateReliability {
		if err := writeBadInputTable(doc, cases, got, f); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The document must show every row with its expected words.
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		row := fmt.Sprintf("| %s | %d |", c.name, c.code)
		i := bytes.Index(text, []byte(row))
		if i < 0 {
			t.Errorf("RELIABILITY.md has no row %q (go test ./cmd/vidstyle -run TestBadInput -update-reliability)", row)
			continue
		}
		line := text[i:]
		line = line[:bytes.IndexByte(line, '\n')]
		if !bytes.Contains(line, []byte(mdEscape(c.want))) {
			t.Errorf("RELIABILITY.md row %q does not show %q", c.name, c.want)
		}
	}
}

// runLimited runs one row, under ulimit -f when it asks.
func runLimited(t *testing.T, dir string, c badInput) (int, string) {
	if c.fileKB == 0 {
		return vidstyle(t, dir, c.env, c.args...)
	}
	cmd := exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -f %d && exec "$0" "$@"`, c.fileKB), binary}, c.args...)...)
	cmd.Dir = dir
	cmd.Env = command(dir, c.env).Env
	return runCmd(t, cmd)
}

const (
	tableStart = "<!-- bad-input table: written by go test ./cmd/vidstyle -run TestBadInput -update-reliability -->"
	tableEnd   = "<!-- end of the bad-input table -->"
)

// writeBadInputTable replaces the table between the markers in doc with the
// rows and the messages of this run, with the test's temporary paths
// shortened.
func writeBadInputTable(doc string, cases []badInput, got []string, f badInputFixtures) error {
	text, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	a, b := bytes.Index(text, []byte(tableStart)), bytes.Index(text, []byte(tableEnd))
	if a < 0 || b < a {
		return fmt.Errorf("%s: no table markers", doc)
	}
	short := strings.NewReplacer(f.dir+"/", "", f.dir, "TMPDIR", f.small, "small.mp4", f.photo, "face.jpg", repoRoot+"/", "")
	frames := regexp.MustCompile(`after \d+ frames`)
	var t strings.Builder
	t.WriteString(tableStart + "\n\n| input | exit | message (stderr, one line) |\n|---|---|---|\n")
	for i, c := range cases {
		msg := frames.ReplaceAllString(short.Replace(got[i]), "after N frames")
		fmt.Fprintf(&t, "| %s | %d | `%s` |\n", c.name, c.code, strings.ReplaceAll(msg, "`", "'"))
	}
	t.WriteString("\n")
	out := append(append(append([]byte{}, text[:a]...), t.String()...), text[b:]...)
	return os.WriteFile(doc, out, 0o644)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "`", "'") }
