package main_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	vs "github.com/vidstyle/vidstyle"
)

// TestBenchCommand: vidstyle bench -json at a small size reports sane
// numbers for every field it promises.
func TestBenchCommand(t *testing.T) {
	code, out, stderr := vidstyleOut(t, t.TempDir(), "bench", "-model", "toon", "-size", "160x96", "-frames", "20", "-scales", "1,0.5", "-json", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Raw     float64 `json:"raw_fps"`
		Pipe    float64 `json:"pipeline_fps"`
		Over    float64 `json:"pipeline_over_raw"`
		Allocs  float64 `json:"go_allocs_per_frame"`
		GFLOPS  float64 `json:"gflops"`
		Peak    float64 `json:"peak_gflops"`
		Formula string  `json:"peak_formula"`
		Stages  []struct {
			Name   string  `json:"name"`
			Median float64 `json:"median_ms"`
			P95    float64 `json:"p95_ms"`
		} `json:"stages"`
		Scales []struct {
			Width  int     `json:"width"`
			RawFPS float64 `json:"raw_fps"`
		} `json:"scales"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Raw <= 0 || r.Pipe <= 0 || r.Over <= 0 || r.GFLOPS <= 0 || r.Peak <= 0 || r.Formula == "" || r.Allocs < 0 {
		t.Errorf("result %+v", r)
	}
	if len(r.Stages) != 5 || r.Stages[2].Name != "infer" || r.Stages[2].Median <= 0 || r.Stages[2].P95 < r.Stages[2].Median {
		t.Errorf("stages %+v", r.Stages)
	}
	if len(r.Scales) != 2 || r.Scales[1].Width != 80 || r.Scales[1].RawFPS <= 0 {
		t.Errorf("scales %+v", r.Scales)
	}
}

// TestBenchSweep: -sweep runs every setting in every round and reports the
// settings it was given.
func TestBenchSweep(t *testing.T) {
	code, out, stderr := vidstyleOut(t, t.TempDir(), "bench", "-model", "toon", "-size", "64x36", "-frames", "6",
		"-sweep", "default; -serial; -threads 1 -encode-threads 1 -temporal 0", "-rounds", "2", "-json", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []struct {
		Setting string  `json:"setting"`
		Ratio   float64 `json:"pipeline_over_raw"`
		Min     float64 `json:"pipeline_over_raw_min"`
		Max     float64 `json:"pipeline_over_raw_max"`
		Runs    []struct {
			Serial   bool    `json:"serial"`
			Threads  int     `json:"threads"`
			Encode   int     `json:"encode_threads"`
			Temporal float64 `json:"temporal"`
			Ratio    float64 `json:"pipeline_over_raw"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rows) != 3 || rows[0].Setting != "default" || rows[1].Setting != "-serial" {
		t.Fatalf("rows %+v", rows)
	}
	for i, row := range rows {
		if len(row.Runs) != 2 || row.Ratio <= 0 || row.Min > row.Ratio || row.Max < row.Ratio {
			t.Errorf("row %d: %+v", i, row)
		}
	}
	if r := rows[1].Runs[0]; !r.Serial {
		t.Errorf("-serial not applied: %+v", r)
	}
	if r := rows[2].Runs[1]; r.Threads != 1 || r.Encode != 1 || r.Serial || r.Temporal != 0 {
		t.Errorf("-threads 1 -encode-threads 1 -temporal 0 not applied: %+v", r)
	}
	if r := rows[0].Runs[0]; r.Temporal != vs.DefaultTemporal {
		t.Errorf("the default pipeline run's temporal blend is %v, want %v", r.Temporal, vs.DefaultTemporal)
	}
	code, _, stderr = vidstyleOut(t, t.TempDir(), "bench", "-sweep", "default; -fast")
	if code != 2 || !strings.Contains(stderr, `-sweep entry "-fast"`) {
		t.Errorf("bad -sweep entry: exit %d: %s", code, stderr)
	}
	code, _, stderr = vidstyleOut(t, t.TempDir(), "bench", "-sweep", "default; -temporal 1")
	if code != 2 || !strings.Contains(stderr, `-sweep entry "-temporal 1"`) {
		t.Errorf("-temporal 1 in -sweep: exit %d: %s", code, stderr)
	}
}

// TestBenchFramerate: bench reads a numbered image sequence at the rate
// -framerate gives, as a job does; a rate with a video, with no -in, or out
// of range is a usage error (exit 2) before anything is measured.
func TestBenchFramerate(t *testing.T) {
	dir := t.TempDir()
	seq := filepath.Join(dir, "f_%03d.png")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=12:d=1", seq).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	video := filepath.Join(dir, "v.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=12:d=1", "-pix_fmt", "yuv420p", video).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	base := []string{"bench", "-model", "toon", "-size", "96x64", "-frames", "5", "-scales", "1", "-json", "-q"}
	if code, out, stderr := vidstyleOut(t, dir, append(base, "-in", seq, "-framerate", "12")...); code != 0 || !strings.Contains(out, "pipeline_fps") {
		t.Errorf("a sequence at 12 fps: exit %d: %s%s", code, stderr, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-in", video, "-framerate", "12"}, "only a numbered image sequence"},
		{[]string{"-framerate", "12"}, "given with -in"},
		{[]string{"-in", seq, "-framerate", "0"}, "between 0.001 and 1000"},
	} {
		code, _, stderr := vidstyleOut(t, dir, append(base, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want 2 and one line with %q", c.args, code, stderr, c.want)
		}
	}
}
