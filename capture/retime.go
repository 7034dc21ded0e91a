package capture

import (
	"time"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/pipeline"
)

// Retime prepares a source for a constant-rate output at rate: a frame
// that would land on an output frame already taken by the one before it
// (frames closer together than the output's frame duration) is skipped
// before anyone stylizes it, so no work is spent on a picture that is
// never shown. Gaps (a slower stretch, a start offset) are the writer's
// to fill by showing the previous picture longer (stream.VideoConfig
// Retime). Dropped counts the frames skipped.
func Retime(src Source, rate pipeline.Rate) *Retimed {
	return &Retimed{Source: src, rate: rate, last: -1, end: src.Props().End}
}

// Retimed is a source after Retime.
type Retimed struct {
	Source
	rate    pipeline.Rate
	last    int64 // the slot of the last frame delivered
	index   int64
	shift   time.Duration // added to times after a jump
	end     time.Duration // the end the file declares (0: unknown)
	Dropped int64
}

func (r *Retimed) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	for {
		tm, err := r.Source.Read(dst)
		if err != nil {
			return tm, err
		}
		tm.PTS += r.shift
		slot := r.rate.Slot(tm.PTS)
		back := r.last - slot
		past := r.end > 0 && tm.PTS > r.end+10*time.Second && slot > r.last+1
		if back > 0 && r.rate.Time(back) > time.Second || past {
			// The clock jumped back (a stream's discontinuity that
			// ffmpeg did not smooth out), or far past the end the file
			// declares (a damaged time): go on from the last frame
			// rather than drop everything until the clock catches up, or
			// repeat one picture for hours.
			jump := r.rate.Time(r.last+1) - tm.PTS
			r.shift += jump
			tm.PTS += jump
			slot = r.last + 1
		}
		if slot <= r.last {
			r.Dropped++
			continue
		}
		r.last = slot
		tm.Index = r.index
		r.index++
		return tm, nil
	}
}
