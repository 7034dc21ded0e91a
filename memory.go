package vidstyle

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/vidstyle/vidstyle/models"
)

// Memory a job needs, measured with /usr/bin/time (peak RSS) on 1000×1000
// and 2000×1500 photos, ONNX Runtime 1.24 on the CPU (BENCHMARKS.md):
// the built-in styles take about 200 bytes a processed pixel over a base
// of about 120 MB, a Johnson-style network (32 channels at full size,
// instance norm) about 315 bytes over 160 MB since its transposed convs
// run in sub-pixel form (models.FasterFP32; 2026-12-02, 1000×1000,
// 1600×1200 and 3200×1800 photos: 515, 733 and 2207 MB peak; with the
// transposed convs' col2im buffers it was 535 bytes over 350 MB). The
// estimate rounds both up (by 30-60 %: the peak varies from run to run
// with the thread count and the allocator, and a model that cannot be
// rewritten needs the old amount).
const (
	builtinBytesPerPixel = 240
	builtinBase          = 160 << 20
	neuralBytesPerPixel  = 400
	neuralBase           = 300 << 20
	// frameBytesPerPixel: the frame pools (input and result: 12 BGR Mats
	// of the input size), the writer's copy of the last picture and the
	// conversion buffers.
	frameBytesPerPixel = 3 * 14
	// alphaBytesPerPixel is what a video with transparency adds: its
	// frames are BGRA, and each slot keeps a BGR copy, the alpha and the
	// stylized BGR (keepAlpha).
	alphaBytesPerPixel = 14 + 2*7
)

// ErrMemory means a job would need more memory than is free.
var ErrMemory = errors.New("not enough memory")

// estimateMemory estimates a job on frames of fw×fh processed at w×h with
// the styles of spec (several at once when preloaded).
func estimateMemory(spec string, fw, fh, w, h int, preload, alpha bool) int64 {
	per, base := int64(builtinBytesPerPixel), int64(builtinBase)
	styles := strings.Split(spec, ",")
	for _, s := range styles {
		if _, ok := models.LookupBuiltin(strings.TrimSpace(s)); !ok {
			per, base = neuralBytesPerPixel, neuralBase
		}
	}
	n := int64(1)
	if preload {
		n = int64(len(styles))
	}
	frame := int64(frameBytesPerPixel)
	if alpha {
		frame += alphaBytesPerPixel
	}
	return base + n*per*int64(w)*int64(h) + frame*int64(fw)*int64(fh)
}

// checkMemory refuses a job that would need more memory than the machine
// has free, with the estimate and a processing size that fits.
func (e *Engine) checkMemory(spec string, fw, fh int, size Size, preload, force, alpha bool) error {
	w, h, err := size.For(fw, fh)
	if err != nil {
		return err
	}
	need := estimateMemory(spec, fw, fh, w, h, preload, alpha)
	avail := availableMemory()
	e.log.Debug(fmt.Sprintf("memory: the job needs about %d MB, %d MB are free", need>>20, avail>>20))
	if force || avail <= 0 || need <= avail*9/10 {
		return nil
	}
	hint := ""
	// The largest scale of the processing size (in 5 % steps) that fits.
	for s := 0.95; s >= 0.05; s -= 0.05 {
		sw, sh := int(float64(w)*s+0.5), int(float64(h)*s+0.5)
		if estimateMemory(spec, fw, fh, sw, sh, preload, alpha) <= avail*9/10 {
			// -scale is relative to the frame, whatever gave w×h.
			scale := math.Floor(min(float64(sw)/float64(fw), float64(sh)/float64(fh))*100) / 100
			hint = fmt.Sprintf(": stylize at a smaller size (-size %dx%d or -scale %.2g fits)", sw, sh, scale)
			break
		}
	}
	if hint == "" {
		hint = ": the frames alone do not fit"
	}
	return fmt.Errorf("%w: %dx%d through %s needs about %s and %s is free%s, or -force to try anyway",
		ErrMemory, w, h, spec, gib(need), gib(avail), hint)
}

func gib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// availableMemory is the memory a new job can take: the kernel's
// MemAvailable, or less when a cgroup or address-space limit leaves less;
// 0 if unknown.
func availableMemory() int64 {
	avail := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				avail = kb << 10
			}
		}
		f.Close()
	}
	// An address-space limit (ulimit -v) stops a job as surely. What
	// the process has mapped already is taken, and address space runs
	// ahead of resident memory (thread stacks, Go's and ONNX Runtime's
	// arenas): a margin of half a gigabyte.
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_AS, &rl) == nil && rl.Cur < math.MaxInt64 {
		lim := int64(rl.Cur) - statusKB("VmSize:")<<10 - 512<<20
		if avail == 0 || lim < avail {
			avail = max(lim, 1)
		}
	}
	if limit := cgroupInt("/sys/fs/cgroup/memory.max"); limit > 0 {
		// The page cache a cgroup charges (a video just copied in) is
		// given back under pressure: inactive file pages are free.
		left := limit - cgroupInt("/sys/fs/cgroup/memory.current") + cgroupStat("/sys/fs/cgroup/memory.stat", "inactive_file")
		if avail == 0 || left < avail {
			avail = max(left, 0)
		}
	}
	return avail
}

// statusKB reads a "Name: N kB" line of /proc/self/status (0 if absent).
func statusKB(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cgroupStat reads one counter of a cgroup v2 memory.stat (0 if absent).
func cgroupStat(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// cgroupInt reads a cgroup v2 number ("max" and errors give 0).
func cgroupInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// outOfMemory turns ONNX Runtime's allocation failure (a long message
// with a buffer size in it) into one ErrMemory line; other errors pass.
func outOfMemory(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "Failed to allocate memory") || strings.Contains(msg, "bad_alloc") {
		return fmt.Errorf("%w: ONNX Runtime could not allocate what the model needs at this size: stylize at a smaller size (-size or -scale)", ErrMemory)
	}
	return err
}
