package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vidstyle/vidstyle/capture"
	"github.com/vidstyle/vidstyle/stream"
)

// checkPublish applies the publish rule: a URL (rtmp://, rtmps://, srt://,
// rtsp://) or a .m3u8 path is a live output, whether it is given as
// -publish or as -out. It goes out through the live engine beside the
// window and -serve; a file input without -live is streamed once, at its
// own pace, and vidstyle exits at its end.
// maxKbps is the most -bitrate takes: 100 Mbit/s, past what any live
// stream needs and below what the encoders refuse.
const maxKbps = 100000

func (o *options) checkPublish(set map[string]bool) error {
	kind, err := stream.PublishTarget(o.out)
	if err != nil {
		return fmt.Errorf("-out: %s", strings.TrimPrefix(err.Error(), stream.ErrOutput.Error()+" "))
	}
	if kind != "" {
		if o.publish != "" {
			return errors.New("give one publish target: -out URL or -publish URL, not both")
		}
		o.publish, o.out = o.out, ""
	}
	// Checked with -serve too (its VP8 and H.264), and bounded: a rate the
	// encoder refuses made the publisher reconnect for ever.
	if o.bitrate < 0 || o.bitrate > maxKbps {
		return fmt.Errorf("-bitrate %d: give 0 (from the frame size) to %d kbit/s", o.bitrate, maxKbps)
	}
	if o.publish == "" {
		if set["publish-fps"] {
			return errors.New("-publish-fps goes with -publish (or -out URL)")
		}
		return nil
	}
	if o.out != "" {
		return errors.New("-publish is live: leave out -out (a URL or an .m3u8 path as -out publishes too)")
	}
	switch kind, err := stream.PublishTarget(o.publish); {
	case err != nil:
		return fmt.Errorf("-publish: %s", strings.TrimPrefix(err.Error(), stream.ErrOutput.Error()+" "))
	case kind == "":
		return fmt.Errorf("-publish %s: give a URL (rtmp:// rtmps:// srt:// rtsp://) or DIR/NAME.m3u8 for HLS; a file is -out", o.publish)
	}
	if set["publish-fps"] && !(o.publishFPS > 0 && o.publishFPS <= 120) {
		return fmt.Errorf("-publish-fps %v: must be above 0 and at most 120", o.publishFPS)
	}
	_, numErr := strconv.Atoi(o.in)
	file := !strings.HasPrefix(o.in, "cam:") && !capture.IsURL(o.in) && numErr != nil
	o.stopAtEnd = file && !o.live
	return nil
}

// publishConfig is the publisher's part the command line sets (nil
// without -publish).
func (o *options) publishConfig() *stream.PublishConfig {
	if o.publish == "" {
		return nil
	}
	cfg := &stream.PublishConfig{Target: o.publish, Kbps: o.bitrate, Threads: o.encThreads}
	if o.publishFPS > 0 {
		cfg.Rate = capture.RateFromFloat(o.publishFPS)
	}
	return cfg
}
