package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

func fuzzServer(f *testing.F) *Server {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", MaxViewers: 1000, ReapAfter: time.Second, Log: slog.New(slog.DiscardHandler),
		Control: &fakeControl{state: State{Styles: []string{"toon", "pencil"}, Strength: 1}}}, track, func() {})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	return srv
}

// FuzzWHEPOffer: any body to POST /whep gets an HTTP answer, never a panic.
func FuzzWHEPOffer(f *testing.F) {
	srv := fuzzServer(f)
	h := srv.Handler()
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"))
	f.Add([]byte("v=0\r\nm=video x y\r\na=????\r\n"))
	f.Add([]byte("hello"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/whep", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/sdp")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			srv.drop(rec.Header().Get("Location")[len("/whep/"):])
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzAPI: the JSON API decodes any body into 200 or 400, never a panic.
func FuzzAPI(f *testing.F) {
	h := fuzzServer(f).Handler()
	paths := []string{"/api/style", "/api/strength", "/api/pause", "/api/colors"}
	for _, c := range casesAPI { // each body on each path
		for path := range paths {
			f.Add(uint8(path), []byte(c.body))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+paths[int(which)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %s %q", rec.Code, req.URL.Path, body)
		}
	})
}
