package media

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
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
		"-vf", fmt.Sprintf("alphaextract,scale=%d:%d:flags=bicubic,format=gray", w, h),
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
