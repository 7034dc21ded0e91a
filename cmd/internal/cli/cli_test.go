package cli

import (
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/capture"
)

func TestProcessingSize(t *testing.T) {
	p := capture.Props{Width: 560, Height: 320}
	cases := []struct {
		o          options
		w, h       int
		wantErrSub string
	}{
		{options{}, 560, 320, ""},
		{options{scale: 0.5}, 280, 160, ""},
		{options{size: "320x180"}, 320, 180, ""},
		{options{size: "17X33"}, 17, 33, ""},
		{options{scale: 0.02}, 0, 0, "below the 16x16 minimum"},
		{options{size: "15x100"}, 0, 0, "must be 16 to 16384"},
		{options{size: "640"}, 0, 0, "want WIDTHxHEIGHT"},
	}
	for _, c := range cases {
		w, h, err := c.o.processingSize(p)
		if c.wantErrSub != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
				t.Errorf("%+v: err = %v, want %q", c.o, err, c.wantErrSub)
			}
			continue
		}
		if err != nil || w != c.w || h != c.h {
			t.Errorf("%+v: %dx%d %v, want %dx%d", c.o, w, h, err, c.w, c.h)
		}
	}
}

func TestMainRejectsStrayArguments(t *testing.T) {
	var stderr strings.Builder
	if code := Main([]string{"-in", "a.mp4", "styled.mp4"}, nil, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `unexpected argument "styled.mp4"`) {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestKeyCommands(t *testing.T) {
	cases := map[int]command{
		'n': {kind: "next"}, 'p': {kind: "prev"}, '1': {kind: "pick", arg: 0}, '9': {kind: "pick", arg: 8},
		' ': {kind: "pause"}, 's': {kind: "snapshot"}, 'o': {kind: "view"}, '+': {kind: "stronger"},
		'=': {kind: "stronger"}, '-': {kind: "weaker"}, 'f': {kind: "hud"}, 'h': {kind: "help"},
		'q': {kind: "quit"}, 27: {kind: "quit"},
	}
	for key, want := range cases {
		if got, ok := keyCommand(key); !ok || got != want {
			t.Errorf("key %q: %+v %v, want %+v", rune(key), got, ok, want)
		}
	}
	for _, key := range []int{'x', 13, 82, -1} {
		if _, ok := keyCommand(key); ok {
			t.Errorf("key %d should do nothing", key)
		}
	}
}
