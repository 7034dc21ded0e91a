package stylize_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/internal/testort"
	"github.com/vidstyle/vidstyle/models"
	"github.com/vidstyle/vidstyle/stylize"
)

// TestExternalDataNeverReachesTheRuntime: a model whose weights are kept in
// ../../../../etc/passwd is refused before ONNX Runtime sees it (which,
// given the bytes, would read the file from the working directory):
// by New, by a style set that preloads it, and by a live switch to it in a
// set that builds styles on demand, which keeps painting the style it had.
func TestExternalDataNeverReachesTheRuntime(t *testing.T) {
	evil := stylize.Model{Name: "evil", ONNX: testmodels.ExternalDataGraph("../../../../etc/passwd")}
	cfg := stylize.Config{FrameWidth: 64, FrameHeight: 48, Device: stylize.DeviceCPU}
	want := `model evil: tensor "external_1" keeps its data in an external file ("../../../../etc/passwd"): vidstyle loads only self-contained models`
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, models.ErrNotSelfContained) || !errors.Is(err, stylize.ErrModel) || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%s: %v, want it to end in %q", what, err, want)
		}
	}
	s, err := stylize.New(sharedRT, evil, cfg)
	if err == nil {
		s.Close()
	}
	check("New", err)

	ms := append(testort.Models(t, "toon"), evil)
	if set, err := stylize.NewStyleSet(sharedRT, ms, cfg, true); err == nil {
		set.Close()
		t.Error("a preloading style set took the model")
	} else {
		check("preload", err)
	}
	set, err := stylize.NewStyleSet(sharedRT, ms, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	check("switch", set.Switch(1))
	if set.Current() != 0 || set.Swap().Active() != "toon" {
		t.Errorf("after the refused switch: style %d (%s), want 0 (toon)", set.Current(), set.Swap().Active())
	}
}
