package models

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// gzipBomb is a gzip stream of n MiB of zeros (about n KiB long): one
// member of 1 MiB, n times (gzip members may follow each other).
func gzipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	z, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := z.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(b.Bytes(), n)
}

// modelServer serves a model in the ways a download can go wrong. It
// records the Accept-Encoding of the last request.
func modelServer(t *testing.T, body []byte, encoding *atomic.Value) *httptest.Server {
	t.Helper()
	bomb := gzipBomb(t, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encoding.Store(r.Header.Get("Accept-Encoding"))
		switch r.URL.Path {
		case "/good.onnx":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
		case "/short.onnx": // promises more than it sends
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/3])
		case "/cut.onnx": // the connection drops halfway
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "/chunked.onnx": // no length, and far more than the model: 16 MiB
			w.(http.Flusher).Flush()
			chunk := bytes.Repeat([]byte{0x42}, 64<<10)
			for range 256 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/chunked-short.onnx": // no length, and less than the model
			w.(http.Flusher).Flush()
			w.Write(body[:len(body)/2])
		case "/bomb.onnx": // 64 MiB of zeros in 64 KiB of gzip
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", fmt.Sprint(len(bomb)))
			w.Write(bomb)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// noFiles fails the test if dir holds anything.
func noFiles(t *testing.T, dir string) {
	t.Helper()
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("left in %s: %v %v", dir, entries, err)
	}
}

func TestFetch(t *testing.T) {
	body := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224})
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	var encoding atomic.Value
	srv := modelServer(t, body, &encoding)
	dir := t.TempDir()
	var calls int
	f, err := Fetch(context.Background(), srv.Client(), Download{URL: srv.URL + "/good.onnx", Size: int64(len(body)), SHA256: good,
		Progress: func(done, total int64) { calls++ }}, dir)
	if err != nil || f.SHA256 != good || f.Size != int64(len(body)) || calls == 0 {
		t.Fatalf("good: %+v, %d progress calls, %v", f, calls, err)
	}
	if data, err := os.ReadFile(f.Path); err != nil || !bytes.Equal(data, body) {
		t.Fatalf("the file holds %d bytes, want %d: %v", len(data), len(body), err)
	}
	if got := encoding.Load(); got != "identity" {
		t.Errorf("Accept-Encoding %q, want identity", got)
	}
	os.Remove(f.Path)
	size := int64(len(body))
	cases := []struct {
		name string
		d    Download
		want string
	}{
		{"wrong hash", Download{URL: srv.URL + "/good.onnx", SHA256: strings.Repeat("0", 64)}, "sha256 " + good + ", expected 000"},
		{"wrong size", Download{URL: srv.URL + "/good.onnx", Size: 6728029}, "expected 6728029"},
		{"short body", Download{URL: srv.URL + "/short.onnx"}, "connection lost after"},
		{"cut", Download{URL: srv.URL + "/cut.onnx"}, "connection lost after"},
		{"missing", Download{URL: srv.URL + "/nope.onnx"}, "HTTP 404"},
		{"not http", Download{URL: "ftp://example/x.onnx"}, "not an http(s) URL"},
		// (a) chunked, far more than the catalog says: cut one byte past it.
		{"chunked, more than the catalog size", Download{URL: srv.URL + "/chunked.onnx", Size: size}, fmt.Sprintf("the server sent more than the %d bytes the catalog gives", size)},
		{"chunked, unknown size over the cap", Download{URL: srv.URL + "/chunked.onnx", MaxBytes: 1 << 20}, "the server sent more than the 1048576 bytes vidstyle takes"},
		{"chunked, less than the catalog size", Download{URL: srv.URL + "/chunked-short.onnx", Size: size}, fmt.Sprintf("got %d of %d bytes", size/2, size)},
		{"Content-Length over the cap", Download{URL: srv.URL + "/good.onnx", MaxBytes: 1000}, "is more than the 1000 vidstyle takes"},
		// (b) a gzip bomb is refused as it comes, never inflated.
		{"gzip bomb", Download{URL: srv.URL + "/bomb.onnx"}, `the server sent it with Content-Encoding "gzip"; vidstyle asks for the file as it is (identity)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			f, err := Fetch(context.Background(), srv.Client(), c.d, dir)
			if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), c.want) || f.Path != "" {
				t.Fatalf("err = %v (%+v), want %q", err, f, c.want)
			}
			noFiles(t, dir)
		})
	}
}

// TestFetchRefusesARedirectToPlainHTTP: (c) an https server that
// redirects to http is not followed (the file would arrive unprotected and
// could be swapped on the way); https to https still is.
func TestFetchRefusesARedirectToPlainHTTP(t *testing.T) {
	body := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224})
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		w.Write(body)
	}))
	t.Cleanup(plain.Close)
	var tls *httptest.Server
	tls = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down.onnx":
			http.Redirect(w, r, plain.URL+"/m.onnx", http.StatusFound)
		case "/twice.onnx": // https → https → http
			http.Redirect(w, r, tls.URL+"/down.onnx", http.StatusMovedPermanently)
		case "/up.onnx":
			http.Redirect(w, r, tls.URL+"/m.onnx", http.StatusFound)
		case "/m.onnx":
			w.Write(body)
		}
	}))
	t.Cleanup(tls.Close)
	client := tls.Client() // trusts the test server's certificate
	for _, path := range []string{"/down.onnx", "/twice.onnx"} {
		dir := t.TempDir()
		_, err := Fetch(context.Background(), client, Download{URL: tls.URL + path}, dir)
		if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "redirected from https to "+plain.URL+"/m.onnx: refused") {
			t.Errorf("%s: %v", path, err)
		}
		noFiles(t, dir)
	}
	if n := plainHits.Load(); n != 0 {
		t.Errorf("the plain http server was asked %d times", n)
	}
	f, err := Fetch(context.Background(), client, Download{URL: tls.URL + "/up.onnx", Size: int64(len(body))}, t.TempDir())
	if err != nil || f.Size != int64(len(body)) {
		t.Fatalf("https to https: %+v %v", f, err)
	}
	// The client's own policy still applies after the https check.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("no redirects here") }
	if _, err := Fetch(context.Background(), client, Download{URL: tls.URL + "/up.onnx"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no redirects here") {
		t.Errorf("the client's CheckRedirect was not used: %v", err)
	}
}
