package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmodels"
)

// modelServer serves a model in the ways a download can go wrong.
func modelServer(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	body := testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224})
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	srv := modelServer(t, body)
	var calls int
	data, got, err := Fetch(context.Background(), srv.Client(), Download{URL: srv.URL + "/good.onnx", Size: int64(len(body)), SHA256: good,
		Progress: func(done, total int64) { calls++ }})
	if err != nil || got != good || len(data) != len(body) || calls == 0 {
		t.Fatalf("good: %d bytes, sha %s, %d progress calls, %v", len(data), got, calls, err)
	}
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, _, err := Fetch(context.Background(), srv.Client(), c.d)
			if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), c.want) || data != nil {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
