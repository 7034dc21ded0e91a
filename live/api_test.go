package live_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/live"
	"github.com/vidstyle/vidstyle/stream/web"
)

// startLive runs a live engine on small.mp4 (looped at its frame rate,
// toon and pencil at 64x36) with the web preview on loopback; it returns
// the engine and the server's base URL. The engine stops when the test
// ends.
func startLive(t *testing.T) (*live.Engine, string) {
	t.Helper()
	return startLiveLog(t, nil)
}

// startLiveLog is startLive logging to log.
func startLiveLog(t *testing.T, log *slog.Logger) (*live.Engine, string) {
	t.Helper()
	src, err := capture.Open(testmedia.SmallMP4(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := src.Props()
	styles := builtinStyles(t, p.Width, p.Height, 64, 36, "toon", "pencil")
	listening := make(chan string, 1)
	e, err := live.New(live.Config{Source: src, Styles: styles, Loop: true, Web: &web.Config{Addr: "127.0.0.1:0"},
		OnListen: func(url string) { listening <- url }, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case url := <-listening:
		return e, strings.TrimSuffix(url, "/")
	case err := <-done:
		t.Fatalf("live engine ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the web preview did not start in 20 s")
	}
	return nil, ""
}

// call POSTs a JSON body (or GETs when body is "") and decodes the state
// in the reply.
func call(t *testing.T, url, body string) web.State {
	t.Helper()
	var res *http.Response
	var err error
	if body == "" {
		res, err = http.Get(url)
	} else {
		res, err = http.Post(url, "application/json", strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", url, body, res.Status)
	}
	var st web.State
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAPIAnswersWithTheNewState: every command's reply is the state after
// it took effect, and a style switched while paused shows in /api/state.
// (Before the live engine answered commands, 8 of 8 replies were stale.)
func TestAPIAnswersWithTheNewState(t *testing.T) {
	_, base := startLive(t)
	if st := call(t, base+"/api/strength", `{"value":0.3}`); st.Strength != 0.3 {
		t.Errorf("strength reply: %+v", st)
	}
	if st := call(t, base+"/api/pause", `{"paused":true}`); !st.Paused || st.Strength != 0.3 {
		t.Errorf("pause reply: %+v", st)
	}
	if st := call(t, base+"/api/style", `{"index":1}`); st.Style != 1 || !st.Paused {
		t.Errorf("style reply while paused: %+v", st)
	}
	if st := call(t, base+"/api/state", ""); st.Style != 1 || !st.Paused || st.Strength != 0.3 {
		t.Errorf("state while paused, after the switch: %+v", st)
	}
	if st := call(t, base+"/api/style", `{"name":"toon"}`); st.Style != 0 {
		t.Errorf("style by name: %+v", st)
	}
	if st := call(t, base+"/api/pause", `{"paused":false}`); st.Paused {
		t.Errorf("resume reply: %+v", st)
	}
	if st := call(t, base+"/api/strength", `{"value":1}`); st.Strength != 1 || st.Style != 0 {
		t.Errorf("strength reply: %+v", st)
	}
}

// TestKeepColorsFromTheWebAndTheKey: the web switch and the window's key
// (ToggleColors) turn colour preservation on and off for the styles, and
// the state says so.
func TestKeepColorsFromTheWebAndTheKey(t *testing.T) {
	e, base := startLive(t)
	if st := call(t, base+"/api/colors", `{"keep":true}`); !st.KeepColors {
		t.Errorf("colours reply: %+v", st)
	}
	st, err := e.Do(context.Background(), live.Command{Op: live.ToggleColors})
	if err != nil || st.KeepColors {
		t.Errorf("after the key: %+v, %v", st, err)
	}
	if st := call(t, base+"/api/state", ""); st.KeepColors {
		t.Errorf("state: %+v", st)
	}
}

// TestCommandsFromManyCallers: switches asked for at once from several
// goroutines are each answered, and the last one asked for wins.
func TestCommandsFromManyCallers(t *testing.T) {
	e, _ := startLive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := e.Do(ctx, live.Command{Op: live.Pick, Index: i % 2})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.Do(ctx, live.Command{Op: live.Pick, Index: 1})
	if err != nil || st.Style != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := e.Do(ctx, live.Command{Op: live.Pick, Index: 5}); err == nil {
		t.Error("style 6 of 2 accepted")
	}
	if _, err := e.Do(ctx, live.Command{Op: live.Pick, Index: math.MaxInt}); err == nil || !strings.Contains(err.Error(), "no style 9223372036854775808 (index 9223372036854775807; the API counts from 0): there are 2") {
		t.Errorf("style MaxInt+1 of 2: %v", err)
	}
	if st, _ := e.Do(ctx, live.Command{Op: live.Next}); st.Style != 0 {
		t.Errorf("next after 1 of 2: %+v", st)
	}
}

// TestBadStyleRequestsDoNotFloodTheLog: out-of-range style numbers from the
// web API are answered 400, each with its error, and logged by nobody
// (the caller got the answer; a page could otherwise send thousands). A
// window key's, which nobody answers, is still logged.
func TestBadStyleRequestsDoNotFloodTheLog(t *testing.T) {
	var logs syncBuffer
	_, base := startLiveLog(t, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, index := range []string{"2", "-1", "9223372036854775807", "-9223372036854775808"} {
		res, err := http.Post(base+"/api/style", "application/json", strings.NewReader(`{"index":`+index+`}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("index %s: %s %s", index, res.Status, body)
		}
		if index == "9223372036854775807" && !strings.Contains(string(body), "no style 9223372036854775808 (index 9223372036854775807; the API counts from 0): there are 2") {
			t.Errorf("index %s: %s", index, body)
		}
	}
	if strings.Contains(logs.String(), "no style") {
		t.Errorf("answered requests were logged:\n%s", logs.String())
	}
}
