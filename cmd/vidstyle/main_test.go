package main_test

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/stylize"
)

func TestTranscodeSmallMP4WithTheBuiltinStyle(t *testing.T) {
	dir := t.TempDir()
	in := testmedia.SmallMP4(t)
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", "styled.mp4")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	out := filepath.Join(dir, "styled.mp4")
	if !strings.Contains(stderr, "wrote "+out) {
		t.Errorf("stderr does not say where the file is:\n%s", stderr)
	}
	if n := strings.Count(stderr, "device cpu why="); n != 0 || !strings.Contains(stderr, " on cpu into ") {
		// A CPU-only ONNX Runtime: nothing was asked of a GPU, so why the
		// CPU is a debug line (-v); the job's line names the device.
		t.Errorf("want the device in the job's line and no line on why (%d):\n%s", n, stderr)
	}
	inV, inA := probe(t, in)
	outV, outA := probe(t, out)
	if outV.CodecName != "h264" || outV.Width != inV.Width || outV.Height != inV.Height ||
		outV.frames() != inV.frames() || outV.RFrameRate != inV.RFrameRate || outV.frames() != 166 {
		t.Fatalf("video: in %+v, out %+v", inV, outV)
	}
	if outA == nil || outA.CodecName != inA.CodecName {
		t.Fatalf("audio: in %+v, out %+v", inA, outA)
	}
	if d := math.Abs(outA.seconds() - inA.seconds()); d > 0.1 {
		t.Errorf("audio lasts %.3f s, input %.3f s", outA.seconds(), inA.seconds())
	}
	data, _ := os.ReadFile(out)
	if m, d := bytes.Index(data, []byte("moov")), bytes.Index(data, []byte("mdat")); m < 0 || m > d {
		t.Errorf("not +faststart: moov at %d, mdat at %d", m, d)
	}
	src, dst := testmedia.DecodeAll(t, in), testmedia.DecodeAll(t, out)
	for _, i := range []int{0, 80, 165} {
		if d := testmedia.MeanAbsDiff(src[i], dst[i]); d < 8 {
			t.Errorf("frame %d differs from the input by only %.1f levels: not stylized", i, d)
		}
	}
	if entries := listDir(t, dir); len(entries) != 1 {
		t.Errorf("left in the output folder: %v", entries)
	}
}

func TestContainersKeepExactRateAndAudio(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ntsc.mov") // PCM audio: MP4 cannot hold it as is
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30000/1001", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-frames:v", "45", "-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", in)
	cases := []struct{ out, video, audio string }{
		{"a.mp4", "h264", "aac"},
		{"a.mkv", "h264", "pcm_s16le"},
		{"a.webm", "vp9", "opus"},
		{"a.mov", "h264", "pcm_s16le"},
	}
	for _, c := range cases {
		t.Run(c.out, func(t *testing.T) {
			code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", c.out, "-model", "pencil")
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			v, a := probe(t, filepath.Join(dir, c.out))
			if v.CodecName != c.video || v.RFrameRate != "30000/1001" || v.frames() != 45 || v.Width != 160 || v.Height != 96 {
				t.Errorf("video %+v", v)
			}
			if a == nil || a.CodecName != c.audio {
				t.Errorf("audio %+v, want %s", a, c.audio)
			}
		})
	}
}

func TestNeuralStyleMatchesADirectRunFrameByFrame(t *testing.T) {
	model := sharedModel(t, "udnie")
	dir := t.TempDir()
	in := testmedia.SmallMP4(t)
	const pw, ph = 160, 96
	// -temporal 0: each frame by itself, as the direct run paints it (the
	// stabiliser's blend is tested in package temporal and by eval).
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", "udnie.mp4", "-model", model, "-size", "160x96", "-temporal", "0")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	graph, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	src := testmedia.DecodeAll(t, in)
	sty, err := stylize.New(rt, stylize.Model{Name: "udnie", ONNX: graph}, stylize.Config{
		FrameWidth: src[0].Cols(), FrameHeight: src[0].Rows(), Width: pw, Height: ph, Device: stylize.DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer sty.Close()
	ref := make([]gocv.Mat, len(src))
	for i := range src {
		ref[i] = gocv.NewMat()
		defer ref[i].Close()
		if err := sty.Prepare(0, &src[i]); err != nil {
			t.Fatal(err)
		}
		if err := sty.Infer(0); err != nil {
			t.Fatal(err)
		}
		if err := sty.Finish(0, &ref[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := testmedia.DecodeAll(t, filepath.Join(dir, "udnie.mp4"))
	if len(out) != len(src) {
		t.Fatalf("%d frames out, %d in", len(out), len(src))
	}
	worst := math.Inf(1)
	for i := range out {
		p := testmedia.PSNR(out[i], ref[i])
		worst = min(worst, p)
		if p < 35 {
			t.Errorf("frame %d: PSNR %.1f dB against a direct run, want ≥ 35", i, p)
		}
		// Order: where neighbouring frames really differ, frame i is
		// closer to its own reference than to its neighbour's.
		if i+1 < len(out) && testmedia.PSNR(ref[i], ref[i+1]) < 30 && testmedia.PSNR(out[i], ref[i+1]) >= p {
			t.Errorf("frame %d looks more like reference %d than its own: frames swapped", i, i+1)
		}
	}
	t.Logf("worst PSNR against a direct run: %.1f dB", worst)
}

// TestTruncatedInputIsNotAnError: a file cut short (index first, as a web
// download has it) warns, keeps what was decoded, and exits 0.
func TestTruncatedInputIsNotAnError(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.mp4")
	ffmpeg(t, "-i", testmedia.SmallMP4(t), "-c", "copy", "-movflags", "+faststart", full)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := vidstyle(t, dir, nil, "-in", cut, "-out", "out.mp4")
	m := regexp.MustCompile(`warning: input \S+ is truncated or damaged \(ffmpeg: .*\): keeping the (\d+) frames it decoded`).FindStringSubmatch(stderr)
	if code != 0 || m == nil {
		t.Fatalf("exit %d, want 0 and the warning:\n%s", code, stderr)
	}
	v, _ := probe(t, filepath.Join(dir, "out.mp4"))
	if n, _ := strconv.Atoi(m[1]); v.frames() != n || n == 0 || n >= 166 {
		t.Fatalf("output has %d frames, warning says %s", v.frames(), m[1])
	}
}

func TestImageToImage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", "face.png", "-scale", "0.5")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	a := gocv.IMRead(in, gocv.IMReadColor)
	defer a.Close()
	b := gocv.IMRead(filepath.Join(dir, "face.png"), gocv.IMReadColor)
	defer b.Close()
	if b.Cols() != a.Cols() || b.Rows() != a.Rows() {
		t.Fatalf("output %dx%d, input %dx%d", b.Cols(), b.Rows(), a.Cols(), a.Rows())
	}
	if d := testmedia.MeanAbsDiff(a, b); d < 8 {
		t.Errorf("output differs from the input by only %.1f levels", d)
	}
}

var progressLine = regexp.MustCompile(`progress: frame (\d+)`)

// interruptible starts a transcode of a 10 s clip and waits until it has
// written at least 5 frames.
func interruptible(t *testing.T, dir string, args ...string) (cmdWait func() (int, string), signal func(), next <-chan string) {
	return interruptibleWith(t, dir, syscall.SIGINT, args...)
}

func interruptibleWith(t *testing.T, dir string, sig syscall.Signal, args ...string) (cmdWait func() (int, string), signal func(), next <-chan string) {
	in := filepath.Join(dir, "long.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=frequency=300",
		"-t", "10", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", in)
	cmd := command(dir, nil, append([]string{"-in", in, "-out", "cut.mp4", "-stats-period", "20ms"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := lines(t, stderr)
	var all []string
	for l := range ch {
		all = append(all, l)
		if m := progressLine.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 5 {
				break
			}
		}
	}
	wait := func() (int, string) {
		for l := range ch {
			all = append(all, l)
		}
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
		return code, strings.Join(all, "\n")
	}
	return wait, func() { cmd.Process.Signal(sig) }, ch
}

// TestSIGTERMKeepsAPlayableFile: a service manager's stop is a Ctrl-C.
func TestSIGTERMKeepsAPlayableFile(t *testing.T) {
	dir := t.TempDir()
	wait, term, _ := interruptibleWith(t, dir, syscall.SIGTERM, "-model", "toon")
	term()
	code, stderr := wait()
	if code != 130 || !strings.Contains(stderr, "interrupted: kept") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if v, _ := probe(t, filepath.Join(dir, "cut.mp4")); v.frames() < 5 {
		t.Fatalf("%d frames kept", v.frames())
	}
}

// TestHangUpKeepsAPlayableFile: a terminal closed during a transcode
// breaks stderr and sends SIGHUP. vidstyle keeps writing (its lines fail
// with EPIPE instead of killing it by SIGPIPE), stops at the hang-up as at
// a Ctrl-C, and leaves a playable file with the frames done and no
// temporary file. Before: exit 129 (or 141 for the broken pipe alone), no
// output, a hidden .part file without its index.
func TestHangUpKeepsAPlayableFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "long.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=frequency=300",
		"-t", "10", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", in)
	cmd := command(dir, nil, "-in", in, "-out", "cut.mp4", "-stats-period", "20ms", "-model", "toon")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := progressLine.FindStringSubmatch(sc.Text()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 5 {
				break
			}
		}
	}
	stderr.Close() // the terminal is gone: every later line meets a broken pipe
	// Progress lines (every 20 ms) and the stop's warning now fail: the
	// job must survive them.
	tmp := func() bool {
		parts, _ := filepath.Glob(filepath.Join(dir, ".cut.mp4.*"))
		return len(parts) > 0
	}
	cmd.Process.Signal(syscall.SIGHUP)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Fatalf("exit %d (%v), want 130 as for Ctrl-C", code, err)
	}
	if v, _ := probe(t, filepath.Join(dir, "cut.mp4")); v.frames() < 5 {
		t.Fatalf("%d frames kept", v.frames())
	}
	if tmp() {
		t.Error("a temporary file was left")
	}
}

// TestOddSizeWorks: a 17x33 video is stylized; H.264 4:2:0 pads it by a
// pixel each way, with a warning.
func TestOddSizeWorks(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "odd.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-vf", "scale=17:33,format=bgr0", "-frames:v", "20", "-c:v", "ffv1", in)
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", "odd.mp4")
	if code != 0 || !strings.Contains(stderr, "odd frame size 17x33: padded to 18x34") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if v, _ := probe(t, filepath.Join(dir, "odd.mp4")); v.frames() != 20 || v.Width != 18 || v.Height != 34 {
		t.Fatalf("output %+v", v)
	}
}

func TestCtrlCKeepsAPlayableFileOfTheFramesDone(t *testing.T) {
	dir := t.TempDir()
	wait, interrupt, _ := interruptible(t, dir, "-model", "toon")
	interrupt()
	code, stderr := wait()
	if code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, stderr)
	}
	last := stderr[strings.LastIndexByte(stderr, '\n')+1:]
	m := regexp.MustCompile(`^vidstyle: interrupted: kept (\d+) frames in `).FindStringSubmatch(last) // no "error:"
	if m == nil {
		t.Fatalf("last line %q, want the interrupted message", last)
	}
	v, a := probe(t, filepath.Join(dir, "cut.mp4"))
	if kept, _ := strconv.Atoi(m[1]); v.frames() != kept || kept < 5 || kept >= 300 {
		t.Fatalf("file has %d frames, message says %s (of 300)", v.frames(), m[1])
	}
	if a == nil {
		t.Errorf("audio lost")
	}
}

func TestSecondCtrlCAbortsAtOnce(t *testing.T) {
	model := sharedModel(t, "udnie") // slow enough that finishing takes a while
	dir := t.TempDir()
	wait, interrupt, next := interruptible(t, dir, "-model", model, "-size", "320x180")
	interrupt()
	for l := range next {
		if strings.Contains(l, "stopping:") {
			break
		}
	}
	start := time.Now()
	interrupt()
	code, stderr := wait()
	if code != 130 || !strings.HasSuffix(stderr, "aborted: no output written") {
		t.Fatalf("exit %d, want 130 and the abort message:\n%s", code, stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to abort", d)
	}
	for _, name := range listDir(t, dir) {
		if name != "long.mp4" {
			t.Errorf("left behind: %s", name)
		}
	}
}

// TestKilledRunsFileIsRemovedByTheNext: SIGKILL (the OOM killer, a
// power cut) leaves the hidden unfinished file beside the output, which
// nothing can remove then; the next run writing that output removes it and
// says so in one line. Before, such files piled up.
func TestKilledRunsFileIsRemovedByTheNext(t *testing.T) {
	dir := t.TempDir()
	wait, kill, _ := interruptibleWith(t, dir, syscall.SIGKILL, "-model", "toon")
	kill()
	wait()
	var parts []string
	for _, name := range listDir(t, dir) {
		if strings.HasPrefix(name, ".cut.mp4.") {
			parts = append(parts, name)
		}
	}
	if len(parts) != 1 {
		t.Fatalf("after SIGKILL the folder holds %v, want one .cut.mp4.*.part.mp4", listDir(t, dir))
	}
	code, stderr := vidstyle(t, dir, nil, "-in", "long.mp4", "-out", "cut.mp4", "-model", "toon", "-frames", "3")
	if want := "vidstyle: removed an unfinished file that an earlier run writing cut.mp4 left when it was killed: " + parts[0]; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d:\n%s\nwant exit 0 and %q", code, stderr, want)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"cut.mp4", "long.mp4"}) {
		t.Errorf("the folder holds %v, want cut.mp4 and long.mp4", got)
	}
}

// TestDoneLineCountsTheFramesInTheFile: a source with a 0.4 s gap in its
// timing (a phone's variable rate) is written at a constant 25 fps with
// the picture before the gap repeated; the last line says how many frames
// were painted and how many the file holds, and the file holds that many.
// Before, it said only the 25 painted.
func TestDoneLineCountsTheFramesInTheFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "gap.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=1", "-vf", "setpts='PTS+gte(N,12)*0.4/TB'",
		"-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", in)
	code, stderr := vidstyle(t, dir, nil, "-in", in, "-out", "o.mp4", "-model", "toon")
	m := regexp.MustCompile(`wrote \S+: 25 frames \((\d+) in the file: (\d+) repeated to keep the source's timing\)`).FindStringSubmatch(stderr)
	if code != 0 || m == nil {
		t.Fatalf("exit %d, want 0 and the frames in the file:\n%s", code, stderr)
	}
	file, _ := strconv.Atoi(m[1])
	repeated, _ := strconv.Atoi(m[2])
	if v, _ := probe(t, filepath.Join(dir, "o.mp4")); v.frames() != file || file != 25+repeated || repeated < 9 {
		t.Errorf("the file holds %d frames; the line says %d, %d repeated (want about 10)", v.frames(), file, repeated)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestFindsONNXRuntimeWithoutSettings(t *testing.T) {
	if os.Getenv(stylize.LibraryEnv) != "" {
		t.Skipf("%s is set: the default lookup is not what the tests use", stylize.LibraryEnv)
	}
	out := filepath.Join(t.TempDir(), "o.png")
	cmd := command(repoRoot, nil, "-in", filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg"), "-out", out, "-q")
	cmd.Env = append(os.Environ(), stylize.LibraryEnv+"=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	img := gocv.IMRead(out, gocv.IMReadColor)
	defer img.Close()
	if img.Size()[0] != 480 {
		t.Fatalf("output size %v", img.Size())
	}
}

func TestHelpShowsExamples(t *testing.T) {
	code, stderr := vidstyle(t, t.TempDir(), nil, "-h")
	if code != 0 || !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "vidstyle -in movie.mp4 -out styled.mp4") || !strings.Contains(stderr, "-device") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

// TestNoMatLeaks runs with -tags matprofile (scripts/test.sh does): the
// binary then counts the Mats still open at exit, which must be none.
func TestNoMatLeaks(t *testing.T) {
	if !matprofileBuild {
		t.Skip("needs -tags matprofile (scripts/test.sh runs it so)")
	}
	dir := t.TempDir()
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	for _, args := range [][]string{
		{"-in", testmedia.SmallMP4(t), "-out", "v.mp4", "-frames", "40", "-scale", "0.5"},
		{"-in", photo, "-out", "p.png"},
		{"-in", photo, "-out", "p.png", "-model", "nonesuch"}, // an error path
	} {
		_, stderr := vidstyle(t, dir, []string{"VIDSTYLE_DEBUG_MATS=1"}, args...)
		if !strings.Contains(stderr, "live Mats at exit: 0\n") {
			t.Errorf("%v:\n%s", args, stderr)
		}
	}
}
