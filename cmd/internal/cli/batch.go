package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/stream"
)

// isFolder reports whether p names a folder.
func isFolder(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// batchItem is one file of a folder given as -in, and where it goes.
type batchItem struct {
	in, out string
	name    string // out's file name as written (out has a picture's % as %%)
}

// batchPlan lists the pictures and videos in folder in (not its
// subfolders, not hidden files), by name, each with its output in out: the
// same name, with its extension when vidstyle writes that type (.jpg,
// .png, .mp4, .gif, …), else .png for a picture and .mp4 for a video
// (.avif, .tga, .heic; .avi, .ts, .mts). skipped counts the other files.
func batchPlan(in, out string) (items []batchItem, skipped int, err error) {
	key := func(s string) string { return s }
	if foldsCase(out) {
		key = strings.ToLower // x.jpg and X.jpg are one file there
	}
	entries, err := os.ReadDir(in)
	if err != nil {
		return nil, 0, fmt.Errorf("input folder %s: %w", in, err)
	}
	type plan struct {
		name, out string
		converted bool // written as another type than its own
	}
	var plans []plan
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(in, name)
		regular := e.Type().IsRegular()
		if e.Type()&os.ModeSymlink != 0 { // a link to a file is that file
			st, err := os.Stat(p)
			if err == nil && st.IsDir() {
				continue // a folder: not gone into, as no folder is
			}
			regular = err == nil && st.Mode().IsRegular()
		}
		if e.IsDir() {
			continue
		}
		if strings.HasPrefix(name, ".") || !regular || !capture.IsMedia(p) {
			skipped++
			continue
		}
		ext := strings.ToLower(filepath.Ext(name))
		base := strings.TrimSuffix(name, filepath.Ext(name))
		switch {
		case capture.StillGIF(p): // a logo GIF stays a GIF (a video of one frame)
		case capture.IsStillImage(p) && !capture.IsImagePath(name):
			ext = ".png"
		case capture.IsStillImage(p):
		case !slices.Contains([]string{".mp4", ".m4v", ".mov", ".mkv", ".webm", ".gif"}, ext):
			ext = ".mp4"
		}
		converted := !strings.EqualFold(ext, filepath.Ext(name))
		if !converted {
			ext = filepath.Ext(name) // IMG_0001.JPG stays .JPG, as its name
		}
		plans = append(plans, plan{name: name, out: base + ext, converted: converted})
	}
	// A file written as its own type keeps its name; one converted to a
	// name already taken (clip.avi beside clip.mp4) gets its old type in
	// it: clip-avi.mp4.
	taken := map[string]string{} // output name → the input it is for
	for _, pl := range plans {
		if !pl.converted {
			if first, ok := taken[key(pl.out)]; ok {
				// x.mp4 and X.mp4, written in a folder that ignores case.
				return nil, 0, fmt.Errorf("input folder %s: %s and %s would both be written as %s in %s, a folder that ignores case: rename one", in, first, pl.name, pl.out, out)
			}
			taken[key(pl.out)] = pl.name
		}
	}
	for i, pl := range plans {
		if !pl.converted {
			continue
		}
		if _, ok := taken[key(pl.out)]; ok {
			ext := filepath.Ext(pl.out)
			pl.out = strings.TrimSuffix(pl.name, filepath.Ext(pl.name)) + "-" + strings.TrimPrefix(strings.ToLower(filepath.Ext(pl.name)), ".") + ext
			if first, again := taken[key(pl.out)]; again {
				return nil, 0, fmt.Errorf("input folder %s: %s and %s would both be written as %s", in, first, pl.name, pl.out)
			}
			plans[i] = pl
		}
		taken[key(pl.out)] = pl.name
	}
	for _, pl := range plans {
		name := pl.out
		if capture.IsImagePath(name) {
			// A picture's name is read as a numbered sequence's when it
			// holds a %d (20%discount.jpg): its % are written %%.
			name = strings.ReplaceAll(name, "%", "%%")
		}
		items = append(items, batchItem{in: filepath.Join(in, pl.name), out: filepath.Join(out, name), name: pl.out})
	}
	return items, skipped, nil
}

// foldsCase reports whether the folder out, or the nearest folder above it
// that exists (out is made later), takes names that differ only in case
// for one (a FAT or exFAT card, a Samba share): a file made in it with a
// lower-case name is found by its upper-case one.
func foldsCase(out string) bool {
	dir := out
	for !isFolder(dir) {
		up := filepath.Dir(dir)
		if up == dir {
			return false
		}
		dir = up
	}
	f, err := os.CreateTemp(dir, ".vidstyle-case-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	_, err = os.Stat(filepath.Join(dir, strings.ToUpper(filepath.Base(name))))
	return err == nil
}

// writableFolder says, before any work, why files cannot be made in the
// folder out when it exists: one line, not one a file.
func writableFolder(out string) error {
	if !isFolder(out) {
		return nil
	}
	f, err := os.CreateTemp(out, ".vidstyle-write-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("output folder %s: cannot write in it: %w", out, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// checkBatchOut is the command line's mistakes in a folder job's -out,
// said before anything loads: the input folder itself, or a file (or a
// name like one, o.mp4) instead of a folder.
func checkBatchOut(o options) error {
	if sameFolder(o.in, o.out) {
		return errors.New("-out is the input folder: give another folder for the stylized files")
	}
	if o.framerate != "" {
		return fmt.Errorf("-framerate is an image sequence's (-in img_%%04d.png): -in %s is a folder, whose files are stylized one by one", o.in)
	}
	st, err := os.Stat(o.out)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("-out %s: a file, or a link, stands where its folder would be: give a folder", o.out)
	}
	if lst, lerr := os.Lstat(strings.TrimRight(o.out, "/")); errors.Is(err, fs.ErrNotExist) && lerr == nil && lst.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("-out %s is a link to nothing: give a folder", o.out)
	}
	if err == nil && !st.IsDir() || err != nil && (capture.IsImagePath(o.out) || stream.IsVideoType(o.out) || stream.SequencePattern(o.out)) {
		return fmt.Errorf("-in %s is a folder: -out must be a folder too, not the file %s", o.in, o.out)
	}
	return nil
}

// runBatch stylizes every picture and video in the folder o.in into the
// folder o.out (made when missing), one after another with the same
// options, as vidstyle would one file: a file that fails is said in one
// line and the rest go on; Ctrl-C stops the file being written (keeping
// what it holds, as for one file) and the batch. The exit code is 0 when
// every file was done, 1 when one failed, 130 when stopped.
func runBatch(o options, set map[string]bool, eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
	if o.window {
		if err := stream.CheckDisplay(); err != nil {
			return exitError, err // once, not for every file
		}
	}
	items, skipped, err := batchPlan(o.in, o.out)
	if err != nil {
		return exitError, err
	}
	if len(items) == 0 {
		return exitError, fmt.Errorf("input folder %s holds no picture or video", o.in)
	}
	// The options are checked on every file (an encoder's settings
	// depend on its output's type): a wrong one stops the batch before
	// anything is written, whichever file comes first.
	for _, it := range items {
		one := o
		one.in, one.out = it.in, it.out
		if _, err := one.validate(set); err != nil {
			return exitUsage, fmt.Errorf("%s: %w", filepath.Base(it.in), err)
		}
	}
	if err := writableFolder(o.out); err != nil {
		return exitError, err
	}
	if err := os.MkdirAll(o.out, 0o777); err != nil {
		return exitError, fmt.Errorf("output folder: %w", err)
	}
	// Caught for the whole batch: between two files a Ctrl-C stops it
	// instead of killing vidstyle.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var failed []string
	done := 0
	for i, it := range items {
		select {
		case <-sigs:
			return exitInterrupted, fmt.Errorf("batch stopped: %d of %d files done in %s", done, len(items), o.out)
		default:
		}
		log.Info(fmt.Sprintf("batch: %d of %d: %s", i+1, len(items), filepath.Base(it.in)))
		one := o
		one.in, one.out = it.in, it.out
		var code int
		if n := len(it.name); n > nameMax {
			// Said before the file is encoded, not at its rename.
			code, err = exitError, fmt.Errorf("output name %s is %d bytes, more than a file name can hold (%d): rename the input shorter", it.name, n, nameMax)
		} else {
			code, err = batchOne(one, set, eng, c, log)
		}
		switch {
		case errors.Is(err, vidstyle.ErrAborted):
			return exitInterrupted, err // a second Ctrl-C: at once
		case code == exitInterrupted:
			c.clearBar()
			c.line("vidstyle: " + errorLine(code, err))
			return exitInterrupted, fmt.Errorf("batch stopped: %d of %d files done in %s", done, len(items), o.out)
		case err != nil:
			c.clearBar()
			log.Error(fmt.Sprintf("%s: %s", filepath.Base(it.in), oneLine(err)))
			failed = append(failed, filepath.Base(it.in))
		default:
			done++
		}
	}
	note := ""
	switch {
	case skipped == 1:
		note = "; 1 other file left alone"
	case skipped > 1:
		note = fmt.Sprintf("; %d other files left alone", skipped)
	}
	if len(failed) > 0 {
		return exitError, fmt.Errorf("batch: %d of %d files done in %s, %d failed (%s)%s", done, len(items), o.out, len(failed), strings.Join(failed, ", "), note)
	}
	log.Info(fmt.Sprintf("batch: all %d files done in %s%s", done, o.out, note))
	return exitOK, nil
}

// nameMax is the longest file name in bytes (NAME_MAX of ext4, XFS, Btrfs).
const nameMax = 255

// batchOne checks one file's options as vidstyle checks a single job's,
// then runs it.
func batchOne(o options, set map[string]bool, eng *vidstyle.Engine, c *console, log *slog.Logger) (int, error) {
	size, err := o.validate(set)
	if err != nil {
		return exitUsage, err
	}
	return transcode(o, size, eng, c, log)
}

// sameFolder reports whether a and b are one folder (through a link).
func sameFolder(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
