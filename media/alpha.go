package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// HasAlpha reports whether a pixel format (ffprobe's pix_fmt) can carry
// transparency: the RGBA orders, YUV and planar RGB with alpha, grey with
// alpha, and a palette (whose entries may have it).
func HasAlpha(pixFmt string) bool {
	for _, p := range []string{"yuva", "gbrap", "ya", "rgba", "bgra", "argb", "abgr"} {
		if strings.HasPrefix(pixFmt, p) {
			return true
		}
	}
	return pixFmt == "pal8"
}

// ReadAlpha decodes the first picture of stream index of path (as ffmpeg
// is given it: FileArg) and returns its alpha channel, 8 bits a pixel,
// scaled to w×h (the size its colour was read at), row by row.
func ReadAlpha(ctx context.Context, ffmpeg, path string, index, w, h int) ([]byte, error) {
	if ffmpeg == "" {
		ffmpeg = "ffmpeg"
	}
	cmd := command(ctx, ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-i", path,
		"-map", "0:"+strconv.Itoa(index), "-frames:v", "1",
		// alphaextract takes no palette: a pal8 picture (a TIFF's, a
		// PNG's with tRNS) is unpacked to RGBA first.
		"-vf", fmt.Sprintf("format=pix_fmts=rgba|bgra|argb|abgr|yuva420p|yuva422p|yuva444p|gbrap,alphaextract,scale=%d:%d:flags=bicubic,format=gray", w, h),
		"-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w %s: alpha: %w", ErrProbe, path, ctx.Err())
		}
		return nil, fmt.Errorf("%w %s: alpha: %s", ErrProbe, path, lastLine(stderr.String()))
	}
	if len(out) != w*h {
		return nil, fmt.Errorf("%w %s: alpha: %d bytes, want %dx%d", ErrProbe, path, len(out), w, h)
	}
	return out, nil
}

// A Place is where AlphaUsed reads: Frames frames (every one to the end
// when Frames < 0) from At (the input is seeked there; 0 is its start),
// or with FromEnd from At before its end.
type Place struct {
	At      time.Duration
	Frames  int
	FromEnd bool
}

// AlphaUsed reports whether stream index of arg (as ffmpeg is given it:
// FileArg) shows any transparency in the frames read at places. before
// goes before -i: the decoder that reads the alpha (libvpx for VP8 and
// VP9), an image sequence's -framerate. A pixel less than nearly opaque
// anywhere in them is enough (the alpha plane is read as it comes, and
// ffmpeg stopped at the first such pixel). Many files carry an alpha
// channel that is opaque throughout (PNG in MOV, screen captures,
// editors' ProRes 4444 exports, most GIFs): those are better written as
// opaque video.
func AlphaUsed(ctx context.Context, ffmpeg, arg string, index int, places []Place, before ...string) (bool, error) {
	if ffmpeg == "" {
		ffmpeg = "ffmpeg"
	}
	for _, p := range places {
		args := []string{"-nostdin", "-hide_banner", "-v", "error"}
		args = append(args, before...)
		switch secs := strconv.FormatFloat(p.At.Seconds(), 'f', 3, 64); {
		case p.FromEnd:
			args = append(args, "-sseof", "-"+secs)
		case p.At > 0:
			args = append(args, "-ss", secs)
		}
		args = append(args, "-i", arg, "-map", "0:"+strconv.Itoa(index))
		if p.Frames >= 0 {
			args = append(args, "-frames:v", strconv.Itoa(p.Frames))
		}
		args = append(args, "-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
		used, err := anyBelowOpaque(ctx, ffmpeg, args)
		if used || err != nil {
			return used, err
		}
	}
	return false, nil
}

// nearlyOpaque is the least alpha that hides nothing: 250 to 255 (2 %
// transparent at most) is a lossy coder's noise on an opaque picture (a
// canvas that Chromium's MediaRecorder records as VP8 with alpha comes
// back 254 here and there), not transparency anyone made.
const nearlyOpaque = 250

// anyBelowOpaque runs ffmpeg with args, which write alpha planes (8 bits
// a pixel) on stdout, and reports whether a pixel is below nearlyOpaque:
// at the first, it stops ffmpeg.
func anyBelowOpaque(ctx context.Context, ffmpeg string, args []string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := command(ctx, ffmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, fmt.Errorf("%w: alpha: %w", ErrProbe, err)
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("%w: alpha: %w", ErrProbe, err)
	}
	used, read := false, 0
	buf := make([]byte, 256<<10)
	for !used {
		k, err := out.Read(buf)
		read += k
		for _, a := range buf[:k] {
			if a < nearlyOpaque {
				used = true
				cancel() // seen: the rest need not be decoded
				break
			}
		}
		if err != nil {
			break
		}
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	switch {
	case used:
		return true, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("%w: alpha: %w", ErrProbe, ctx.Err())
	case err != nil:
		return false, fmt.Errorf("%w: alpha: %s", ErrProbe, lastLine(stderr.String()))
	case read == 0:
		return false, fmt.Errorf("%w: alpha: no frame read", ErrProbe)
	}
	return false, nil
}
