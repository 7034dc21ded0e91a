package main_test

import (
	"bufio"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"

	"gocv.io/x/gocv"
)

// xvfb starts a private X server and returns its DISPLAY. It learns the
// display number from Xvfb itself (-displayfd), once the server is ready.
func xvfb(t *testing.T) string {
	t.Helper()
	return xvfbScreens(t, "1280x720")
}

// xvfbScreens is xvfb with a screen of each size given; with more than
// one they are monitors of one X screen (Xinerama), the first the
// primary, as a laptop beside a bigger monitor.
func xvfbScreens(t *testing.T, sizes ...string) string {
	t.Helper()
	for _, tool := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/setup.sh installs xvfb, xdotool and imagemagick", tool)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-displayfd", "3", "-nolisten", "tcp"}
	if len(sizes) > 1 {
		args = append(args, "+xinerama")
	}
	for i, size := range sizes {
		args = append(args, "-screen", strconv.Itoa(i), size+"x24")
	}
	cmd := exec.Command("Xvfb", args...)
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb did not start: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// screenshot grabs a window's pixels.
func screenshot(t *testing.T, display, wid string) gocv.Mat {
	t.Helper()
	cmd := exec.Command("import", "-window", wid, "png:-")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	m, err := gocv.IMDecode(out, gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// look measures mean saturation and brightness below the HUD.
func look(m gocv.Mat) (sat, val float64) {
	region := m.Region(image.Rect(0, m.Rows()/3, m.Cols(), m.Rows()))
	defer region.Close()
	hsv := gocv.NewMat()
	defer hsv.Close()
	gocv.CvtColor(region, &hsv, gocv.ColorBGRToHSV)
	mean := hsv.Mean()
	return mean.Val2, mean.Val3
}

func equalMats(a, b gocv.Mat) bool {
	if a.Rows() != b.Rows() || a.Cols() != b.Cols() {
		return false
	}
	da, _ := a.DataPtrUint8()
	db, _ := b.DataPtrUint8()
	return string(da) == string(db)
}

// findWindow waits for vidstyle's window on display and returns its id.
func findWindow(t *testing.T, display string) string {
	t.Helper()
	find := exec.Command("xdotool", "search", "--sync", "--name", "^vidstyle$")
	find.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := find.Output()
	if err != nil {
		t.Fatalf("xdotool search: %v", err)
	}
	return strings.Fields(string(out))[0]
}

// keyPresser returns a function that presses a key in window wid.
func keyPresser(t *testing.T, display, wid string) func(k string) {
	return func(k string) {
		t.Helper()
		c := exec.Command("xdotool", "key", "--window", wid, k)
		c.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("xdotool key %s: %v %s", k, err, out)
		}
	}
}

// startWatched starts cmd (the caller stops it) and returns a logWaiter
// over its stderr and the lines themselves (what the waiter has not read,
// for draining at the end).
func startWatched(t *testing.T, cmd *exec.Cmd) (func(re string) []string, <-chan string) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := lines(t, stderr)
	return logWaiter(t, logs), logs
}

// logWaiter returns a function that reads log lines until one matches a
// regular expression (returning its submatches), failing the test if
// vidstyle ends or 30 s pass first, with the lines read so far.
func logWaiter(t *testing.T, logs <-chan string) func(re string) []string {
	var seen []string
	return func(re string) []string {
		t.Helper()
		pattern := regexp.MustCompile(re)
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-logs:
				if !ok {
					t.Fatalf("vidstyle ended before %q:\n%s", re, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if m := pattern.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q within 30 s:\n%s", re, strings.Join(seen, "\n"))
			}
		}
	}
}

// TestPreviewWindowHotKeys drives the real window under Xvfb with real key
// presses from xdotool.
func TestPreviewWindowHotKeys(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	cmd := command(dir, []string{"DISPLAY=" + display, "VIDSTYLE_DEBUG_MATS=1"},
		"-in", testmedia.SmallMP4(t), "-live", "-loop", "-model", "toon,pencil", "-scale", "0.5", "-snapshots", dir, "-stats-period", "1h")
	waitFor, logs := startWatched(t, cmd)
	defer cmd.Process.Kill()
	waitFor("preview window open")
	wid := findWindow(t, display)
	key := keyPresser(t, display, wid)

	toon := screenshot(t, display, wid)
	if toon.Cols() != 560 || toon.Rows() != 320 {
		t.Fatalf("window is %dx%d, want the frame's 560x320", toon.Cols(), toon.Rows())
	}
	sat, val := look(toon)
	t.Logf("toon: saturation %.0f, brightness %.0f", sat, val)
	if sat < 80 {
		t.Errorf("toon should be colourful: saturation %.0f", sat)
	}

	// n: the next style, pencil: nearly grey strokes on light paper.
	key("n")
	waitFor("showing pencil")
	// The log line comes when the frame is painted, before the window
	// has drawn it: look again, boundedly, until it has.
	pencil := screenshot(t, display, wid)
	for i := 0; i < 30; i++ {
		if sat, val = look(pencil); sat <= 40 && val >= 170 {
			break
		}
		time.Sleep(100 * time.Millisecond)
		pencil = screenshot(t, display, wid)
	}
	sat, val = look(pencil)
	t.Logf("pencil: saturation %.0f, brightness %.0f", sat, val)
	if sat > 40 || val < 170 {
		t.Errorf("after n the picture does not look like pencil: saturation %.0f, brightness %.0f", sat, val)
	}

	// space: frozen.
	key("space")
	waitFor("paused")
	// The log line comes before the window has drawn the paused frame
	// (its HUD says "paused"): let the window settle first, boundedly.
	a := screenshot(t, display, wid)
	for i := 0; i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		next := screenshot(t, display, wid)
		if equalMats(a, next) {
			break
		}
		a = next
	}
	time.Sleep(500 * time.Millisecond) // the interval the freeze must hold
	b := screenshot(t, display, wid)
	if !equalMats(a, b) {
		t.Errorf("paused, but two screenshots 0.5 s apart differ")
	}

	// s: a PNG of exactly what the window shows.
	key("s")
	m := waitFor(`snapshot saved to (\S+\.png)`)
	snap := gocv.IMRead(m[1], gocv.IMReadColor)
	defer snap.Close()
	if p := testmedia.PSNR(snap, b); p < 50 {
		t.Errorf("snapshot differs from the window: PSNR %.1f dB", p)
	}

	// o: the original picture of the same (frozen) frame.
	key("o")
	waitFor("view: original")
	orig := screenshot(t, display, wid)
	best := 0.0
	for _, f := range testmedia.DecodeAll(t, testmedia.SmallMP4(t)) {
		best = max(best, psnrBelow(orig, f, 100)) // below the HUD
	}
	if best < 30 {
		t.Errorf("after o the window matches no input frame (best PSNR %.1f dB)", best)
	}

	// q: gone within a second, exit 0, no Mat left open.
	start := time.Now()
	key("q")
	var rest []string
	for l := range logs {
		rest = append(rest, l)
	}
	err := cmd.Wait()
	limit := time.Second
	if raceBuild {
		// The race runtime's own exit takes about a second more (measured:
		// 1.05 s against 0.03 s for the same binary without -race).
		limit = 3 * time.Second
	}
	if d := time.Since(start); d > limit {
		t.Errorf("q took %v to exit", d)
	}
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, strings.Join(rest, "\n"))
	}
	if matprofileBuild && !strings.Contains(strings.Join(rest, "\n"), "live Mats at exit: 0") {
		t.Errorf("Mats left open:\n%s", strings.Join(rest, "\n"))
	}
}

// psnrBelow compares two images below their first rows (the HUD).
func psnrBelow(a, b gocv.Mat, rows int) float64 {
	if a.Rows() != b.Rows() || a.Cols() != b.Cols() {
		return 0
	}
	ra := a.Region(image.Rect(0, rows, a.Cols(), a.Rows()))
	rb := b.Region(image.Rect(0, rows, b.Cols(), b.Rows()))
	defer ra.Close()
	defer rb.Close()
	ca, cb := ra.Clone(), rb.Clone()
	defer ca.Close()
	defer cb.Close()
	return testmedia.PSNR(ca, cb)
}

// TestWindowBesideAFile: -window shows the frames while the file is
// written; the file is complete.
func TestWindowBesideAFile(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	cmd := command(dir, []string{"DISPLAY=" + display}, "-in", testmedia.SmallMP4(t), "-out", "w.mp4", "-window", "-frames", "90", "-model", "toon")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	find := exec.Command("xdotool", "search", "--sync", "--name", "^vidstyle$")
	find.Env = append(os.Environ(), "DISPLAY="+display)
	found := make(chan error, 1)
	go func() { found <- find.Run() }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v:\n%s", err, stderr.String())
	}
	select {
	case err := <-found:
		if err != nil {
			t.Fatalf("no window: %v", err)
		}
	case <-time.After(5 * time.Second):
		find.Process.Kill()
		t.Fatal("the window never appeared")
	}
	if v, _ := probe(t, filepath.Join(dir, "w.mp4")); v.frames() != 90 {
		t.Fatalf("file has %d frames", v.frames())
	}
}

// TestWindowBesideAFileSwitchesBothWays: with -window beside -out, n and p
// switch styles (p did nothing before the key map was shared with the
// live preview), and q stops the job keeping a playable file. The styles
// are Johnson-shaped nets (about 0.1 s a frame here), so the 1200-frame
// job lasts minutes, far longer than the keys take.
func TestWindowBesideAFileSwitchesBothWays(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "long.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "40", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip)
	var styles []string
	for i, name := range []string{"first", "second"} {
		path := filepath.Join(dir, name+".onnx")
		if err := os.WriteFile(path, testmodels.JohnsonGraph(testmodels.JohnsonOptions{Opset: 13, Seed: uint64(i)}), 0o644); err != nil {
			t.Fatal(err)
		}
		styles = append(styles, path)
	}
	cmd := command(dir, []string{"DISPLAY=" + display}, "-in", clip, "-out", "w.mp4", "-window", "-model", strings.Join(styles, ","), "-preload")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := lines(t, stderr)
	waitFor := logWaiter(t, logs)
	waitFor("preview window open") // keys sent before the window shows a frame can be lost
	wid := findWindow(t, display)
	key := keyPresser(t, display, wid)
	key("n")
	waitFor("style second")
	key("p")
	waitFor("style first")
	key("q")
	waitFor("interrupted: kept")
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130", err)
	}
	if v, _ := probe(t, filepath.Join(dir, "w.mp4")); v.frames() < 1 || v.frames() >= 1200 {
		t.Fatalf("kept %d frames of 1200", v.frames())
	}
}

// TestLiveWindowOfARotatedPhoneVideo: a phone video (display matrix
// rotate=270, which players show turned 90° clockwise) played live shows
// upright in the window, as ffmpeg shows it: portrait size, and the
// picture below the HUD matches ffmpeg's upright frame, not its 180° turn.
// The picture is still (colour bars), so the paced frames all look alike.
func TestLiveWindowOfARotatedPhoneVideo(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	flat := filepath.Join(dir, "flat.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "smptehdbars=size=320x180:rate=30", "-frames:v", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", flat)
	phone := filepath.Join(dir, "phone.mp4")
	ffmpeg(t, "-i", flat, "-c", "copy", "-metadata:s:v:0", "rotate=270", phone)
	up := filepath.Join(dir, "upright.png")
	ffmpeg(t, "-i", phone, "-frames:v", "1", up)
	want := gocv.IMRead(up, gocv.IMReadColor)
	defer want.Close()
	if want.Cols() != 180 || want.Rows() != 320 {
		t.Fatalf("ffmpeg shows the phone video at %dx%d, want 180x320", want.Cols(), want.Rows())
	}

	cmd := command(dir, []string{"DISPLAY=" + display}, "-in", phone, "-live", "-loop", "-model", identityModel(t, dir), "-stats-period", "1h")
	waitFor, _ := startWatched(t, cmd)
	defer cmd.Process.Kill()
	waitFor("preview window open")
	shot := screenshot(t, display, findWindow(t, display))
	if shot.Cols() != 180 || shot.Rows() != 320 {
		t.Fatalf("window is %dx%d, want the upright 180x320", shot.Cols(), shot.Rows())
	}
	turned := gocv.NewMat()
	defer turned.Close()
	gocv.Rotate(want, &turned, gocv.Rotate180Clockwise)
	upright, wrong := psnrBelow(shot, want, 80), psnrBelow(shot, turned, 80)
	t.Logf("window vs ffmpeg's upright frame %.1f dB, vs its 180° turn %.1f dB", upright, wrong)
	if upright < 30 || wrong > upright-10 {
		t.Fatalf("the window is not upright: %.1f dB against ffmpeg's picture, %.1f against its turn", upright, wrong)
	}
}

// TestLiveWindowFitsABigPictureToTheScreen: a 1080p file played live on a
// 1280x720 screen shows in a window that fits the screen (1152x648, the
// aspect kept), the whole picture scaled down rather than its top-left
// corner cut out; the log says so. Colour bars make the corner and the
// whole picture tell apart. With a 1920x1080 monitor beside the 1280x720
// one (the primary), the X screen is as big as both, but the window opens
// on one: it fits the primary.
func TestLiveWindowFitsABigPictureToTheScreen(t *testing.T) {
	t.Run("one screen", func(t *testing.T) { fitsTheScreen(t, xvfb(t)) })
	t.Run("a bigger second monitor", func(t *testing.T) { fitsTheScreen(t, xvfbScreens(t, "1280x720", "1920x1080")) })
}

func fitsTheScreen(t *testing.T, display string) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "smptehdbars=size=1920x1080:rate=30", "-frames:v", "30", "-c:v", "ffv1", "-pix_fmt", "yuv444p", big)
	ref := filepath.Join(dir, "ref.png")
	ffmpeg(t, "-i", big, "-frames:v", "1", ref)
	full := gocv.IMRead(ref, gocv.IMReadColor)
	defer full.Close()

	cmd := command(dir, []string{"DISPLAY=" + display}, "-in", big, "-live", "-loop", "-model", identityModel(t, dir), "-stats-period", "1h")
	waitFor, _ := startWatched(t, cmd)
	defer cmd.Process.Kill()
	waitFor(`window: the 1920x1080 picture is shown at 1152x648 to fit the 1280x720 screen`)
	waitFor("preview window open")
	shot := screenshot(t, display, findWindow(t, display))
	if shot.Cols() != 1152 || shot.Rows() != 648 {
		t.Fatalf("window is %dx%d, want 1152x648 on a 1280x720 screen", shot.Cols(), shot.Rows())
	}
	scaled := gocv.NewMat()
	defer scaled.Close()
	gocv.Resize(full, &scaled, image.Pt(1152, 648), 0, 0, gocv.InterpolationArea)
	corner := full.Region(image.Rect(0, 0, 1152, 648))
	defer corner.Close()
	whole, cut := psnrBelow(shot, scaled, 160), psnrBelow(shot, corner, 160)
	t.Logf("window vs the whole picture scaled %.1f dB, vs its top-left corner %.1f dB", whole, cut)
	if whole < 30 || cut > whole-10 {
		t.Fatalf("the window does not show the whole picture: %.1f dB against it scaled, %.1f against its corner", whole, cut)
	}
}
