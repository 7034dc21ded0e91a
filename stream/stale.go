package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// lockedTemp is tempBeside for a writer that fills the file for a while:
// the hidden file is held under an exclusive flock until lock is closed,
// so that a later writer of the same path can tell it from one that a
// killed run left (SIGKILL, a power cut: nothing could remove it). Those
// are removed first, with one line on log. Where the file system has no
// flock, lock is nil and nothing is ever removed.
func lockedTemp(path string, log *slog.Logger) (tmp string, lock *os.File, err error) {
	removeStale(path, log)
	return createTemp(path, true)
}

// lockFile opens path and takes an exclusive flock on it; nil when it
// cannot (the lock is a courtesy to later runs, not needed for this one).
func lockFile(path string) *os.File {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	return f
}

// removeStale removes the hidden files beside path that earlier writers
// of path left (".BASE.<digits>.part.EXT", and its ".trim") and that no
// writer holds: its own flock succeeds on them. A writer still running
// (another vidstyle on the same output) holds its file's lock; a file
// whose lock cannot be taken for another reason is left alone.
func removeStale(path string, log *slog.Logger) {
	dir, base := filepath.Split(outputTarget(path))
	if dir == "" {
		dir = "."
	}
	pattern := tempPattern(base) // ".BASE.*.part.EXT"
	// os.CreateTemp puts its digits at the last "*" (BASE may hold one).
	star := strings.LastIndex(pattern, "*")
	prefix, suffix := pattern[:star], pattern[star+1:]
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		digits, ok := strings.CutSuffix(rest, suffix)
		if !ok {
			digits, ok = strings.CutSuffix(rest, suffix+".trim")
		}
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		p := filepath.Join(dir, name)
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			if err := os.Remove(p); err == nil || errors.Is(err, os.ErrNotExist) {
				removed = append(removed, name)
			}
		}
		f.Close()
	}
	if len(removed) > 0 && log != nil {
		what := "an unfinished file"
		if len(removed) > 1 {
			what = fmt.Sprintf("%d unfinished files", len(removed))
		}
		log.Info(fmt.Sprintf("removed %s that an earlier run writing %s left when it was killed: %s", what, path, strings.Join(removed, ", ")))
	}
}
