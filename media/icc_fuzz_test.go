package media

import (
	"bytes"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testicc"
)

// FuzzProfile: any file given to the profile reader, and any picture given
// to the writer, gives a profile, nothing or an error, never a panic or a
// profile whose header does not hold.
func FuzzProfile(f *testing.F) {
	for _, s := range []string{
		"\xff\xd8\xff\xe2\x00\x20ICC_PROFILE\x00\x01\x01",
		"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05iCCP",
		"RIFF\x20\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00ICCP\xff\xff\xff\x7f",
		"RIFF\x20\x00\x00\x00WEBPVP8L\x05\x00\x00\x00\x2f\x00\x00\x00\x10",
		"II*\x00\x08\x00\x00\x00\x01\x00\x73\x87\x07\x00\xff\xff\x00\x00\x08\x00\x00\x00",
		"MM\x00*\x00\x00\x00\x08\x00\x01\x87\x73\x00\x07\x00\x00\x01\x00\x00\x00\x00\x08",
	} {
		f.Add([]byte(s))
	}
	for _, o := range []testicc.Options{{Name: "Display P3"}, {Name: "Wide", V4: true}} {
		p := testicc.Profile(o)
		seg := append([]byte("ICC_PROFILE\x00\x01\x01"), p...)
		f.Add(append(append([]byte{0xff, 0xd8, 0xff, 0xe2, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...), 0xff, 0xd9))
	}
	icc := make([]byte, 200)
	copy(icc, "\x00\x00\x00\xc8")
	copy(icc[36:], "acsp")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := readProfile(bytes.NewReader(b))
		if p != nil && (err != nil || checkProfile(p.Data) != nil) {
			t.Fatalf("%v, %v", p, err)
		}
		for _, ext := range []string{".png", ".jpg", ".webp", ".tif"} {
			EmbedProfile(ext, b, &Profile{Data: icc})
		}
	})
}
