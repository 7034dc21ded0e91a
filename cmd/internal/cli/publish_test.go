package cli

import (
	"flag"
	"strings"
	"testing"
)

// TestPublishFlags: one rule for -publish and -out URL, and the options
// that do not go together refused before anything loads (exit 2, one
// line).
func TestPublishFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-in", "a.mp4", "-publish", "http://example.com/x"}, "rtmp://, rtmps://, srt:// and rtsp://"},
		{[]string{"-in", "a.mp4", "-out", "udp://127.0.0.1:5000"}, "-out: udp://127.0.0.1:5000: vidstyle publishes to"},
		{[]string{"-in", "a.mp4", "-publish", "out.mp4"}, "a file is -out"},
		{[]string{"-in", "a.mp4", "-out", "b.mp4", "-publish", "rtmp://h/app/k"}, "-publish is live: leave out -out"},
		{[]string{"-in", "a.mp4", "-out", "rtmp://h/app/k", "-publish", "srt://h:1"}, "give one publish target"},
		{[]string{"-in", "a.mp4", "-out", "b.mp4", "-publish-fps", "30"}, "-publish-fps goes with -publish"},
		{[]string{"-in", "cam:0", "-publish", "rtmp://h/app/k", "-publish-fps", "0"}, "-publish-fps 0: must be above 0"},
		// Bounded (the encoder refused 999999999 and the publisher
		// reconnected for ever), and checked with -serve too.
		{[]string{"-in", "a.mp4", "-live", "-publish", "hls/s.m3u8", "-bitrate", "999999999"}, "-bitrate 999999999: give 0"},
		{[]string{"-in", "a.mp4", "-live", "-serve", "-bitrate", "-5"}, "-bitrate -5: give 0"},
	} {
		var stderr strings.Builder
		if code := Main(c.args, nil, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d: %q, want exit 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// TestPublishRule: a URL or .m3u8 as -out is -publish; a file without
// -live is then streamed once, a camera or -live plays on.
func TestPublishRule(t *testing.T) {
	for _, c := range []struct {
		args      []string
		publish   string
		stopAtEnd bool
	}{
		{[]string{"-in", "a.mp4", "-out", "rtmp://h/app/k"}, "rtmp://h/app/k", true},
		{[]string{"-in", "a.mp4", "-out", "hls/stream.m3u8"}, "hls/stream.m3u8", true},
		{[]string{"-in", "a.mp4", "-live", "-loop", "-publish", "srt://h:9000?streamid=x"}, "srt://h:9000?streamid=x", false},
		{[]string{"-in", "cam:0", "-publish", "rtsp://h/live"}, "rtsp://h/live", false},
		{[]string{"-in", "a.mp4", "-out", "b.mp4"}, "", false},
	} {
		var o options
		fs := newFlagSet(&o)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if _, err := o.validate(set); err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if o.publish != c.publish || o.stopAtEnd != c.stopAtEnd || (c.publish != "" && o.out != "") {
			t.Errorf("%v: publish %q, stop at end %v, out %q; want %q, %v, none", c.args, o.publish, o.stopAtEnd, o.out, c.publish, c.stopAtEnd)
		}
	}
}
