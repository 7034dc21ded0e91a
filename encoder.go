package vidstyle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/stream"
)

// x264Presets are the values x264 takes for Job.Preset, fastest first.
const x264Presets = "ultrafast superfast veryfast faster fast medium slow slower veryslow placebo"

// MaxEncodeThreads is the most encoder threads a job takes
// (Job.EncodeThreads): VP9's encoder runs at most 64, and x264 warns
// above 16.
const MaxEncodeThreads = 64

// CheckEncoder checks, from the names alone and before anything is
// opened, that vidstyle can write the job's output type and that the
// encoder takes its settings: a Preset x264 knows, a CRF in the codec's
// range (x264 0-51; VP9, for .webm, 0-63; none for a GIF), at most
// MaxEncodeThreads, and a video output (not an image) for a video. Every
// error is a UsageError. A missing or read-only output folder is not its
// to say: Open says that of the output (capture's and stream's ErrOutput).
// Open checks it; the command line checks its flags with it.
func (j Job) CheckEncoder() error {
	if presets := strings.Fields(x264Presets); j.Preset != "" && !slices.Contains(presets, j.Preset) {
		return usagef("-preset %q: x264 takes %s", j.Preset, strings.Join(presets, ", "))
	}
	if j.EncodeThreads > MaxEncodeThreads {
		return usagef("-encode-threads %d: use 0 (ffmpeg's choice) to %d", j.EncodeThreads, MaxEncodeThreads)
	}
	if j.Out == "" || capture.IsImagePath(j.Out) || stream.SequencePattern(j.Out) {
		return nil // (a picture sequence: no encoder settings)
	}
	if st, err := os.Stat(j.In); err == nil && st.Mode().IsRegular() && capture.IsStillImage(j.In) && !capture.StillGIF(j.In) {
		// The advice a video type would get (.mp4, …) is wrong for a
		// photo, whose output must be a picture.
		return usagef("input %s is an image: give an image output (.png, .jpg, .webp, .tif, …), not %s", j.In, j.Out)
	}
	// Which video types there are is stream's to say (one list): it is
	// asked about the name alone, in a scratch folder.
	scratch, err := os.MkdirTemp("", "vidstyle-check-")
	if err != nil {
		return fmt.Errorf("checking the output %s: %w", j.Out, err)
	}
	defer os.RemoveAll(scratch)
	probe := filepath.Join(scratch, "out"+filepath.Ext(j.Out))
	if err := stream.CheckVideoPath(probe); err != nil {
		// stream's own words, about the job's path.
		return &UsageError{errors.New(strings.ReplaceAll(err.Error(), probe, j.Out))}
	}
	if strings.EqualFold(filepath.Ext(j.Out), ".gif") {
		return nil // no quality setting: said when it is written
	}
	if j.CRF != nil && strings.EqualFold(filepath.Ext(j.Out), ".mkv") && j.Alpha != "drop" && *j.CRF <= 63 {
		return nil // VP9 if the input has transparency to keep, x264 if not: Open checks again once it knows
	}
	return checkCRF(j.CRF, filepath.Ext(j.Out), false)
}

// checkCRF checks a CRF against the range of the codec an output type is
// written with: x264's 0 to 51, or VP9's 0 to 63 (.webm, and .mkv with
// transparency).
func checkCRF(crf *int, ext string, alpha bool) error {
	codec, most, def := "x264", 51, 18
	if strings.EqualFold(ext, ".webm") || alpha && strings.EqualFold(ext, ".mkv") {
		codec, most, def = "VP9", 63, 32
	}
	if crf != nil && *crf > most {
		return usagef("-crf %d: %s takes 0 to %d, lower is better (default %d)", *crf, codec, most, def)
	}
	return nil
}
