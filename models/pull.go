package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// ErrDownload means a model could not be downloaded intact.
var ErrDownload = errors.New("download")

// DefaultMaxBytes bounds a download whose size nobody gives (a URL pulled
// without a catalog entry): 2 GiB, the most one ONNX protobuf can hold.
const DefaultMaxBytes = 2 << 30

// Download says what to fetch and what to expect.
type Download struct {
	URL    string
	Size   int64  // expected bytes; 0: not known (MaxBytes bounds it)
	SHA256 string // expected hex digest; "": not checked
	// MaxBytes bounds a download of unknown Size (0: DefaultMaxBytes).
	MaxBytes int64
	// Progress, if set, is called as bytes arrive (total is 0 if unknown).
	Progress func(done, total int64)
}

// Fetched is a download that arrived whole: a temporary file the caller
// reads and removes.
type Fetched struct {
	Path   string
	Size   int64
	SHA256 string
}

// Fetch downloads d.URL into a new temporary file in dir, checking its
// size and sha256 on the way; on any error the file is removed, so an
// interrupted, oversized or corrupt download leaves nothing behind. The
// body goes straight to the file, never whole into memory. It asks for
// the identity encoding and refuses any other (a gzip "bomb" stays what it
// is: a wrong answer), stops reading one byte past the size it expects
// (d.Size, else the Content-Length, else d.MaxBytes), and refuses a
// redirect from https to plain http.
func Fetch(ctx context.Context, client *http.Client, d Download, dir string) (Fetched, error) {
	if !strings.HasPrefix(d.URL, "http://") && !strings.HasPrefix(d.URL, "https://") {
		return Fetched{}, fmt.Errorf("%w %s: not an http(s) URL", ErrDownload, d.URL)
	}
	maxBytes := d.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return Fetched{}, fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	// Asked for explicitly, so that the transport never decompresses.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := noDowngrade(client).Do(req)
	if err != nil {
		return Fetched{}, fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, fmt.Errorf("%w %s: HTTP %s", ErrDownload, d.URL, resp.Status)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return Fetched{}, fmt.Errorf("%w %s: the server sent it with Content-Encoding %q; vidstyle asks for the file as it is (identity) and takes nothing else", ErrDownload, d.URL, enc)
	}
	if d.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != d.Size {
		return Fetched{}, fmt.Errorf("%w %s: server offers %d bytes, expected %d", ErrDownload, d.URL, resp.ContentLength, d.Size)
	}
	limit, total := d.Size, d.Size
	switch {
	case d.Size > 0:
	case resp.ContentLength > maxBytes:
		return Fetched{}, fmt.Errorf("%w %s: %d bytes is more than the %d vidstyle takes", ErrDownload, d.URL, resp.ContentLength, maxBytes)
	case resp.ContentLength >= 0:
		limit, total = resp.ContentLength, resp.ContentLength
	default:
		limit = maxBytes
	}

	f, err := os.CreateTemp(dir, ".download-*.part")
	if err != nil {
		return Fetched{}, fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := &progressWriter{f: f, h: sha256.New(), total: total, progress: d.Progress}
	n, err := io.CopyBuffer(w, io.LimitReader(resp.Body, limit+1), make([]byte, 256<<10))
	w.report()
	switch {
	case n > limit && d.Size > 0:
		return Fetched{}, fmt.Errorf("%w %s: the server sent more than the %d bytes the catalog gives", ErrDownload, d.URL, d.Size)
	case n > limit:
		return Fetched{}, fmt.Errorf("%w %s: the server sent more than the %d bytes vidstyle takes", ErrDownload, d.URL, limit)
	case err != nil && w.werr != nil:
		return Fetched{}, fmt.Errorf("%w %s: writing %s: %w", ErrDownload, d.URL, f.Name(), w.werr)
	case err != nil:
		return Fetched{}, fmt.Errorf("%w %s: connection lost after %d of %s: %w", ErrDownload, d.URL, n, byteCount(total), err)
	case total > 0 && n != total:
		return Fetched{}, fmt.Errorf("%w %s: got %d of %d bytes", ErrDownload, d.URL, n, total)
	}
	sum := hex.EncodeToString(w.h.Sum(nil))
	if d.SHA256 != "" && !strings.EqualFold(sum, d.SHA256) {
		return Fetched{}, fmt.Errorf("%w %s: sha256 %s, expected %s (corrupt or a different file)", ErrDownload, d.URL, sum, d.SHA256)
	}
	if err := f.Close(); err != nil {
		return Fetched{}, fmt.Errorf("%w %s: %w", ErrDownload, d.URL, err)
	}
	keep = true
	return Fetched{Path: f.Name(), Size: n, SHA256: sum}, nil
}

// noDowngrade returns client with a redirect policy that refuses to go
// from https to plain http (after which the client's own policy, or Go's
// default of 10 redirects, applies).
func noDowngrade(client *http.Client) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		for _, v := range via {
			if v.URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirected from https to %s: refused (the file would travel unprotected)", req.URL.Redacted())
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// progressWriter writes a download to its file and its hash, and reports
// progress at most every 100 ms.
type progressWriter struct {
	f        *os.File
	h        hash.Hash
	done     int64
	total    int64
	progress func(done, total int64)
	last     time.Time
	werr     error // the file's write error, if any
}

func (w *progressWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.done += int64(n)
	if err != nil {
		w.werr = err
		return n, err
	}
	if w.progress != nil && time.Since(w.last) > 100*time.Millisecond {
		w.report()
	}
	return n, nil
}

// report calls the progress function, if any.
func (w *progressWriter) report() {
	if w.progress != nil {
		w.progress(w.done, w.total)
		w.last = time.Now()
	}
}

func byteCount(n int64) string {
	if n <= 0 {
		return "an unknown size"
	}
	return fmt.Sprintf("%d bytes", n)
}
