package capture

import (
	"math"
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
//
// The output's frames are laid on the video's own grid, the way ffmpeg's
// fps filter starts at the first picture: times are moved by less than a
// frame (Props gives Start and End moved with them) so that the first
// picture falls on a frame boundary. A video that starts part of a frame
// after the file (an AAC encoder's 21 ms of priming, which ffmpeg's
// Matroska, MPEG-TS and FLV muxers put before the video) would
// otherwise sit half a frame off the grid, where millisecond timestamps
// round two neighbours into one frame and leave the next one empty. A
// start offset of whole frames (video after the audio) is kept; the
// part of a frame left over is dropped, so that the picture comes that
// much early against the sound (the side lip sync tolerates), when it is
// at most 45 ms and under 0.9 of a frame; otherwise the start is rounded
// to the nearest frame.
func Retime(src Source, rate pipeline.Rate) *Retimed {
	p := src.Props()
	r := &Retimed{Source: src, rate: rate, last: -1, end: p.End}
	if p.Start > 0 && rate.Num > 0 && rate.Den > 0 {
		r.phase = gridPhase(p.Start, rate)
		r.shift = r.phase
	}
	if r.end > 0 {
		r.end += r.shift
	}
	return r
}

// gridPhase is what moves a video starting at start onto the frames of
// rate (see Retime): less than a frame either way.
func gridPhase(start time.Duration, rate pipeline.Rate) time.Duration {
	const early = 45 * time.Millisecond // the most the picture is moved ahead of the sound
	f := start.Seconds() * rate.FPS()
	first := math.Floor(f)
	if left := f - first; left >= 0.9 || time.Duration(left*float64(time.Second)/rate.FPS()) > early {
		first = math.Round(f)
	}
	return rate.Time(int64(first)) - start
}

// Props is the source's, with Start and End on the output's grid.
func (r *Retimed) Props() Props {
	p := r.Source.Props()
	p.Start += r.phase
	if p.End > 0 {
		p.End += r.phase
	}
	return p
}

// Retimed is a source after Retime.
type Retimed struct {
	Source
	rate    pipeline.Rate
	last    int64 // the slot of the last frame delivered
	index   int64
	shift   time.Duration // added to times: the grid's phase, and after a jump
	phase   time.Duration // the part of shift that lays the first picture on the grid
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

// Decimate keeps one frame in k of a constant-rate source (Retime's): the
// first whose slot on the source's grid falls in each run of k slots (0,
// k, 2k, … when none is missing), so that its frames lie on a grid k
// times coarser, whose rate its Props give (a 60 fps clip to a 30 fps
// GIF: the even frames), each at its slot's time. The frames left out are
// not stylized.
func Decimate(src Source, k int) Source {
	if k <= 1 {
		return src
	}
	return &decimated{Source: src, k: int64(k), last: -1}
}

type decimated struct {
	Source
	k, last, index int64
}

func (d *decimated) Props() Props {
	p := d.Source.Props()
	if p.Frames > 0 {
		p.Frames = (p.Frames + d.k - 1) / d.k
	}
	p.Rate = p.Rate.Slower(int(d.k))
	return p
}

func (d *decimated) Read(dst *gocv.Mat) (pipeline.Timing, error) {
	rate := d.Source.Props().Rate
	for {
		tm, err := d.Source.Read(dst)
		if err != nil {
			return tm, err
		}
		slot := rate.Slot(tm.PTS) / d.k
		if slot <= d.last {
			continue
		}
		d.last = slot
		// On the coarse grid: a frame kept in place of a missing one (7
		// for 6) is its slot's, not the next's.
		tm.PTS = rate.Time(slot * d.k)
		tm.Index = d.index
		d.index++
		return tm, nil
	}
}
