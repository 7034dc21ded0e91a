package vidstyle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle"
	"github.com/vidstyle/vidstyle/internal/testmedia"
	"github.com/vidstyle/vidstyle/internal/testmodels"
	"github.com/vidstyle/vidstyle/models"
)

// catalogServer serves one model on loopback and returns a catalog that
// names it.
func catalogServer(t *testing.T, name string, body []byte) []models.CatalogEntry {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+name+".onnx" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(body)
	return []models.CatalogEntry{{Name: name, File: name + ".onnx", URL: srv.URL + "/" + name + ".onnx",
		Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), License: "test"}}
}

// TestCatalogModelOnFirstUseInAnImageJob: a catalog model that is not
// stored yet is pulled (which loads ONNX Runtime to check it) and then
// paints the image, in one job. Before the engine remembered its runtime,
// the second load failed with "already loaded in this process".
func TestCatalogModelOnFirstUseInAnImageJob(t *testing.T) {
	dir := t.TempDir()
	var downloads []vidstyle.DownloadProgress
	e := newEngine(t, vidstyle.Config{
		Catalog:    catalogServer(t, "net", testmodels.JohnsonGraph(testmodels.JohnsonOptions{Size: 224, Seed: 3})),
		OnDownload: func(p vidstyle.DownloadProgress) { downloads = append(downloads, p) },
	})
	photo := filepath.Join(filepath.Dir(testmedia.SmallMP4(t)), "face.jpg")
	res, err := e.Transcode(context.Background(), vidstyle.Job{In: photo, Out: filepath.Join(dir, "o.png"), Model: "net", Size: vidstyle.Size{Width: 96, Height: 96}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 1 {
		t.Fatalf("%d frames written", res.Frames)
	}
	out := gocv.IMRead(res.Out, gocv.IMReadColor)
	defer out.Close()
	in := gocv.IMRead(photo, gocv.IMReadColor)
	defer in.Close()
	if out.Cols() != in.Cols() || out.Rows() != in.Rows() {
		t.Fatalf("output %dx%d, input %dx%d", out.Cols(), out.Rows(), in.Cols(), in.Rows())
	}
	if !e.Store().Has("net") {
		t.Error("the pulled model is not in the models folder")
	}
	if len(downloads) == 0 || downloads[len(downloads)-1].Done != downloads[len(downloads)-1].Total {
		t.Errorf("download progress: %+v", downloads)
	}
	// A second job finds it stored: no download.
	downloads = nil
	if _, err := e.Transcode(context.Background(), vidstyle.Job{In: photo, Out: filepath.Join(dir, "o2.png"), Model: "net", Size: vidstyle.Size{Width: 64, Height: 64}}); err != nil || len(downloads) != 0 {
		t.Fatalf("second job: %v, %d progress calls", err, len(downloads))
	}
}

// TestOwnCatalogReplacesTheBuiltIn: with Config.Catalog, a name only the
// built-in catalog has is unknown.
func TestOwnCatalogReplacesTheBuiltIn(t *testing.T) {
	e := newEngine(t, vidstyle.Config{Catalog: []models.CatalogEntry{}})
	_, err := e.Models(context.Background(), "candy")
	if !errors.Is(err, models.ErrUnknownModel) {
		t.Fatalf("candy with an empty catalog: %v", err)
	}
}

// TestUsageErrorsAreTyped: what the caller asked for wrongly is a
// UsageError, the machine's trouble is not.
func TestUsageErrorsAreTyped(t *testing.T) {
	e := newEngine(t, vidstyle.Config{})
	small := testmedia.SmallMP4(t)
	// One file under three names: writing any of them replaces the input.
	links := t.TempDir()
	orig, sym, hard := filepath.Join(links, "a.mp4"), filepath.Join(links, "link.mp4"), filepath.Join(links, "hard.mp4")
	data, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orig, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.mp4", sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(orig, hard); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		job   vidstyle.Job
		usage bool
		want  string
	}{
		{vidstyle.Job{In: small, Out: "x.png"}, true, "is a video: give a video output"},
		{vidstyle.Job{In: small, Out: small}, true, "would overwrite the input"},
		{vidstyle.Job{In: sym, Out: orig}, true, "would overwrite the input"},
		{vidstyle.Job{In: orig, Out: sym}, true, "would overwrite the input"},
		{vidstyle.Job{In: hard, Out: orig}, true, "would overwrite the input"},
		{vidstyle.Job{In: filepath.Join(links, ".", "a.mp4"), Out: orig}, true, "would overwrite the input"},
		{vidstyle.Job{In: small, Out: filepath.Join(t.TempDir(), "o.mp4"), Frames: -5}, true, "cannot be negative"},
		{vidstyle.Job{In: small, Out: filepath.Join(t.TempDir(), "o.mp4"), Size: vidstyle.Size{Scale: 0.01}}, true, "below the 16x16 minimum"},
		{vidstyle.Job{In: small, Out: filepath.Join(t.TempDir(), "o.mp4"), Model: ""}, false, ""},
		{vidstyle.Job{In: "nope.mp4", Out: filepath.Join(t.TempDir(), "o.mp4")}, false, "no such file"},
		{vidstyle.Job{In: filepath.Join(links, "frame_%04d.png"), Out: filepath.Join(t.TempDir(), "o.mp4")}, false, "no such file, nor a numbered image sequence"},
	} {
		tr, err := e.Open(context.Background(), c.job)
		if err == nil {
			tr.Close()
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.job, err)
			}
			continue
		}
		if err == nil || vidstyle.IsUsage(err) != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v (usage %v), want usage=%v %q", c.job, err, vidstyle.IsUsage(err), c.usage, c.want)
		}
	}
	if after, err := os.ReadFile(orig); err != nil || !bytes.Equal(after, data) {
		t.Errorf("the linked input changed (%v)", err)
	}
	if _, err := vidstyle.New(vidstyle.Config{Device: "tpu"}); !vidstyle.IsUsage(err) {
		t.Errorf("device tpu: %v", err)
	}
	if _, err := e.Bench(context.Background(), vidstyle.BenchConfig{Frames: -5}); !vidstyle.IsUsage(err) {
		t.Errorf("bench with -5 frames: %v", err)
	}
}
