package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrDownload means a model could not be downloaded intact.
var ErrDownload = errors.New("download")

// maxModelBytes bounds a download held in memory.
const maxModelBytes = 1 << 30

// Download says what to fetch and what to expect.
type Download struct {
	URL    string
	Size   int64  // expected bytes; 0: not checked
	SHA256 string // expected hex digest; "": not checked
	// Progress, if set, is called as bytes arrive (total is 0 if unknown).
	Progress func(done, total int64)
}

// Fetch downloads d.URL and checks its size and sha256. It returns the
// bytes and their sha256; nothing is written anywhere, so an interrupted or
// corrupt download leaves nothing behind.
func Fetch(ctx context.Context, client *http.Client, d Download) ([]byte, string, error) {
	if !strings.HasPrefix(d.URL, "http://") && !strings.HasPrefix(d.URL, "https://") {
		return nil, "", fmt.Errorf("%w %s: not an http(s) URL", ErrDownload, d.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%w %s: HTTP %s", ErrDownload, d.URL, resp.Status)
	}
	total := resp.ContentLength
	if total < 0 {
		total = d.Size
	}
	if d.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != d.Size {
		return nil, "", fmt.Errorf("%w %s: server offers %d bytes, expected %d", ErrDownload, d.URL, resp.ContentLength, d.Size)
	}
	if total > maxModelBytes {
		return nil, "", fmt.Errorf("%w %s: %d bytes is more than the %d vidstyle takes", ErrDownload, d.URL, total, maxModelBytes)
	}
	h := sha256.New()
	buf := make([]byte, 0, max(total, 0))
	chunk := make([]byte, 256<<10)
	last := time.Time{}
	for {
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		h.Write(chunk[:n])
		if len(buf) > maxModelBytes {
			return nil, "", fmt.Errorf("%w %s: more than %d bytes", ErrDownload, d.URL, maxModelBytes)
		}
		if d.Progress != nil && (time.Since(last) > 100*time.Millisecond || err != nil) {
			d.Progress(int64(len(buf)), total)
			last = time.Now()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w %s: connection lost after %d of %s: %w", ErrDownload, d.URL, len(buf), byteCount(total), err)
		}
	}
	if total > 0 && int64(len(buf)) != total {
		return nil, "", fmt.Errorf("%w %s: got %d of %d bytes", ErrDownload, d.URL, len(buf), total)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if d.SHA256 != "" && !strings.EqualFold(sum, d.SHA256) {
		return nil, "", fmt.Errorf("%w %s: sha256 %s, expected %s (corrupt or a different file)", ErrDownload, d.URL, sum, d.SHA256)
	}
	return buf, sum, nil
}

func byteCount(n int64) string {
	if n <= 0 {
		return "an unknown size"
	}
	return fmt.Sprintf("%d bytes", n)
}
