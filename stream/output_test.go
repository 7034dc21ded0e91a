package stream

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// TestOutputIsWrittenAsInPlace: an output is finished (a temporary file
// renamed over it) with the permissions a file written in place has: a
// new one what the umask leaves of 0666, an existing one its own mode;
// through a symbolic link the target is written and the link stays, as
// ffmpeg writes; a link to nowhere yet makes its target.
func TestOutputIsWrittenAsInPlace(t *testing.T) {
	dir := t.TempDir()
	write := func(path string) {
		t.Helper()
		tmp, err := tempBeside(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tmp, []byte("new"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := finish(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	mode := func(path string) os.FileMode {
		t.Helper()
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode()
	}
	old := syscall.Umask(0o027)
	fresh := filepath.Join(dir, "new.mp4")
	write(fresh)
	syscall.Umask(old)
	if m := mode(fresh).Perm(); m != 0o640 {
		t.Errorf("a new output under umask 027 has mode %o, want 640", m)
	}
	kept := filepath.Join(dir, "kept.mp4")
	os.WriteFile(kept, []byte("old"), 0o600)
	os.Chmod(kept, 0o604)
	write(kept)
	if m := mode(kept).Perm(); m != 0o604 {
		t.Errorf("a replaced output has mode %o, want its 604", m)
	}
	target, link := filepath.Join(dir, "target.mp4"), filepath.Join(dir, "link.mp4")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink("target.mp4", link)
	write(link)
	if data, _ := os.ReadFile(target); string(data) != "new" || mode(link)&os.ModeSymlink == 0 {
		t.Errorf("through a link: the target holds %q, the link's mode is %v; want the target written, the link kept", data, mode(link))
	}
	dangling := filepath.Join(dir, "dangling.png")
	os.Symlink("made.png", dangling)
	write(dangling)
	if data, _ := os.ReadFile(filepath.Join(dir, "made.png")); string(data) != "new" {
		t.Errorf("a link to nowhere yet: its target holds %q", data)
	}
	// A chain of links to nowhere, in a folder reached through a link.
	real := filepath.Join(dir, "real", "sub")
	os.MkdirAll(real, 0o755)
	os.Symlink(real, filepath.Join(dir, "alias"))
	os.Symlink("b.mp4", filepath.Join(real, "a.mp4"))
	os.Symlink("../c.mp4", filepath.Join(real, "b.mp4"))
	write(filepath.Join(dir, "alias", "a.mp4"))
	if data, _ := os.ReadFile(filepath.Join(dir, "real", "c.mp4")); string(data) != "new" || mode(filepath.Join(real, "b.mp4"))&os.ModeSymlink == 0 {
		t.Errorf("a chain of links: real/c.mp4 holds %q, b.mp4 is %v; want c written, the links kept", data, mode(filepath.Join(real, "b.mp4")))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReadOnlyOutputIsRefused: an existing output its user may not write
// is refused before any work, as ffmpeg refuses it, not replaced. Root may
// write anything, so the check runs as nobody, in a copy of this test
// binary.
func TestReadOnlyOutputIsRefused(t *testing.T) {
	if dir := os.Getenv("VIDSTYLE_TEST_READONLY"); dir != "" {
		ro := filepath.Join(dir, "ro.mp4")
		_, err := tempBeside(ro)
		if err == nil || !errors.Is(err, ErrOutput) || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("a read-only output: %v, want a read-only error", err)
		}
		if _, err := tempBeside(filepath.Join(dir, "rw.mp4")); err != nil {
			t.Fatalf("a writable output: %v", err)
		}
		return
	}
	dir, err := os.MkdirTemp("", "vidstyle-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "ro.mp4"), []byte("keep"), 0o444)
	os.WriteFile(filepath.Join(dir, "rw.mp4"), []byte("keep"), 0o666)
	os.Chmod(filepath.Join(dir, "rw.mp4"), 0o666)
	os.Chmod(dir, 0o777)
	var cred *syscall.Credential
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		// Root may write anything: run as nobody, from a copy it can run.
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		copyExe := filepath.Join(dir, "stream.test")
		in, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(copyExe, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(out, in)
		in.Close()
		out.Close()
		exe = copyExe
	}
	cmd := exec.Command(exe, "-test.run=^TestReadOnlyOutputIsRefused$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIDSTYLE_TEST_READONLY="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ro.mp4")); string(data) != "keep" {
		t.Errorf("the read-only file now holds %q", data)
	}
}

// TestLongOutputNamesCanBeWritten: an output whose name is as long as the
// file system allows (255 bytes; a long downloaded title, CJK at 3 bytes
// a character) is written: the hidden temporary beside it is shortened,
// not refused with "file name too long" (before: names over 234 bytes).
func TestLongOutputNamesCanBeWritten(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		strings.Repeat("a", 251) + ".mp4",
		strings.Repeat("日本語", 27) + "-styled.mp4", // 243 + 11 bytes, cut inside no character
		"s.mp4",
	} {
		path := filepath.Join(dir, name)
		tmp, err := tempBeside(path)
		if err != nil {
			t.Fatalf("%d-byte name: %v", len(name), err)
		}
		if b := filepath.Base(tmp); len(b) > 255 || !strings.HasPrefix(b, ".") || !strings.HasSuffix(b, ".part.mp4") || !utf8.ValidString(b) {
			t.Errorf("temporary %q (%d bytes)", b, len(b))
		}
		if err := os.WriteFile(tmp, []byte("new"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := finish(tmp, path); err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(path); err != nil || string(data) != "new" {
			t.Errorf("%d-byte name: %q %v", len(name), data, err)
		}
	}
}

// TestOutputOntoAPipeOrDeviceIsRefused: an output that is a named pipe, a
// device node, or a link to one is refused before anything is written,
// and stays what it was. Before, the finished file was renamed onto it:
// a FIFO a reader waited on, or a link to a null device (as root,
// /dev/null itself), became an MP4. The device node is made in the test's
// folder (as root), never /dev's.
func TestOutputOntoAPipeOrDeviceIsRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.mp4")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	paths := map[string]os.FileMode{fifo: os.ModeNamedPipe, filepath.Join(dir, "to-fifo.mkv"): os.ModeNamedPipe}
	if err := os.Symlink("fifo.mp4", filepath.Join(dir, "to-fifo.mkv")); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(null, filepath.Join(dir, "to-null.mp4")); err != nil {
			t.Fatal(err)
		}
		paths[filepath.Join(dir, "to-null.mp4")] = os.ModeDevice | os.ModeCharDevice
	} else {
		t.Log("not root: no device node made, the pipe only")
	}
	for path, kind := range paths {
		err := CheckVideoPath(path)
		if err == nil || !errors.Is(err, ErrOutput) || !strings.Contains(err.Error(), "vidstyle writes files") {
			t.Errorf("%s: %v, want a refusal", filepath.Base(path), err)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Type() != kind {
			t.Errorf("%s is no longer what it was: %v %v", filepath.Base(path), st.Mode(), err)
		}
	}
	if names, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(names) > 0 {
		t.Errorf("left %v", names)
	}
}
