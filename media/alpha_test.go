package media

import "testing"

// TestHasAlpha: the formats ffmpeg's decoders give pictures with
// transparency, and none of the opaque ones.
func TestHasAlpha(t *testing.T) {
	for f, want := range map[string]bool{
		"rgba": true, "bgra": true, "argb": true, "abgr": true, "rgba64be": true, "bgra64le": true,
		"yuva420p": true, "yuva444p16le": true, "gbrap": true, "gbrap16le": true, "ya8": true, "ya16be": true, "pal8": true,
		"rgb24": false, "bgr24": false, "yuv420p": false, "yuvj444p": false, "gbrp": false, "gray": false, "gray16be": false, "rgb48le": false, "": false,
	} {
		if got := HasAlpha(f); got != want {
			t.Errorf("HasAlpha(%q) = %v, want %v", f, got, want)
		}
	}
}
