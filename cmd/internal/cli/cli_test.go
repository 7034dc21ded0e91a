package cli

import (
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/live"
)

func TestMainRejectsStrayArguments(t *testing.T) {
	var stderr strings.Builder
	if code := Main([]string{"-in", "a.mp4", "styled.mp4"}, nil, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `unexpected argument "styled.mp4"`) {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestKeyCommands(t *testing.T) {
	cases := map[int]live.Command{
		'n': {Op: live.Next}, 'p': {Op: live.Prev}, '1': {Op: live.Pick, Index: 0}, '9': {Op: live.Pick, Index: 8},
		' ': {Op: live.TogglePause}, 's': {Op: live.Snapshot}, 'o': {Op: live.CycleView}, '+': {Op: live.Stronger},
		'=': {Op: live.Stronger}, '-': {Op: live.Weaker}, 'f': {Op: live.ToggleHUD}, 'h': {Op: live.Help},
		'q': {Op: live.Quit}, 27: {Op: live.Quit},
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
