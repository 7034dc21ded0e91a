package media_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidstyle/vidstyle/internal/testicc"
	"github.com/vidstyle/vidstyle/media"
)

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// probedProfile is the size of the ICC profile ffmpeg's decoder finds in
// a picture's first frame, 0 for none.
func probedProfile(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Frames []struct {
			SideData []struct {
				Type string `json:"side_data_type"`
				Size int    `json:"size"`
			} `json:"side_data_list"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Frames) == 0 {
		t.Fatalf("ffprobe %s: %v %s", path, err, out)
	}
	for _, s := range r.Frames[0].SideData {
		if s.Type == "ICC profile" {
			return s.Size
		}
	}
	return 0
}

// decoded is ffmpeg's decoding of a picture as RGBA.
func decoded(t *testing.T, path string) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-").Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("ffmpeg decoding %s: %v", path, err)
	}
	return out
}

// TestEmbedProfileInEachType: a colour profile put into a PNG, JPEG, WebP
// (lossless and lossy, with and without alpha: simple and extended files)
// and TIFF (both byte orders) is found whole by ffmpeg's decoders (and
// carried by ffmpeg into a PNG, read back byte for byte), the pixels
// decode as they did without it, and ReadProfile reads it with its name.
// A profile over 64 KB takes three JPEG segments; one put in a second
// time replaces the first.
func TestEmbedProfileInEachType(t *testing.T) {
	dir := t.TempDir()
	src := "testsrc2=size=96x64"
	pics := map[string][]string{
		"rgb.png":           {"-pix_fmt", "rgb24"},
		"rgba.png":          {"-vf", "format=rgba,geq=r='r(X,Y)':a='X*2'", "-pix_fmt", "rgba"},
		"plain.jpg":         {"-pix_fmt", "yuvj420p"},
		"lossless.webp":     {"-c:v", "libwebp", "-lossless", "1"},
		"lossless-a.webp":   {"-vf", "format=rgba,geq=r='r(X,Y)':a='X*2'", "-c:v", "libwebp", "-lossless", "1"},
		"lossy.webp":        {"-c:v", "libwebp", "-lossless", "0"},
		"lossy-a.webp":      {"-vf", "format=yuva420p,geq=lum='lum(X,Y)':a='X*2'", "-c:v", "libwebp", "-lossless", "0"},
		"rgb.tif":           {"-pix_fmt", "rgb24"},
		"rgba-deflate.tiff": {"-pix_fmt", "rgba", "-compression_algo", "deflate"},
	}
	small := testicc.Profile(testicc.Options{Name: "Display P3"})
	large := testicc.Profile(testicc.Options{Name: "Wide RGB ‘v4’", V4: true, Pad: 150000})
	for name, args := range pics {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			ffmpeg(t, append(append([]string{"-f", "lavfi", "-i", src, "-frames:v", "1"}, args...), path)...)
			pic, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := media.ReadProfile(path); p != nil || err != nil {
				t.Fatalf("a picture without a profile: %v, %v", p, err)
			}
			want := decoded(t, path)
			ext := filepath.Ext(name)
			for _, icc := range [][]byte{small, large} {
				prof := &media.Profile{Data: icc, Name: map[bool]string{true: "Display P3", false: "Wide RGB ‘v4’"}[len(icc) == len(small)]}
				out, ok := media.EmbedProfile(ext, pic, prof)
				if !ok {
					t.Fatalf("%d bytes: not embedded", len(icc))
				}
				// Again: the second replaces the first.
				if out, ok = media.EmbedProfile(ext, out, prof); !ok {
					t.Fatalf("%d bytes: not embedded a second time", len(icc))
				}
				with := filepath.Join(dir, "with-"+name)
				if err := os.WriteFile(with, out, 0o600); err != nil {
					t.Fatal(err)
				}
				// Browsers read a WebP's ICCP chunk only when VP8X's flag says
				// there is one (Chromium asks libwebp's demuxer for the flags).
				if ext == ".webp" && (string(out[12:16]) != "VP8X" || out[20]&0x20 == 0) {
					t.Errorf("%d bytes embedded: VP8X does not flag the ICC profile: % x", len(icc), out[12:24])
				}
				if ext == ".webp" && strings.Contains(name, "-a") != (out[20]&0x10 != 0) {
					t.Errorf("%d bytes embedded: VP8X's alpha flag is wrong: % x", len(icc), out[12:24])
				}
				if got := probedProfile(t, with); got != len(icc) {
					t.Errorf("%d bytes embedded: ffmpeg finds a profile of %d", len(icc), got)
				}
				if !bytes.Equal(decoded(t, with), want) {
					t.Errorf("%d bytes embedded: the picture decodes otherwise", len(icc))
				}
				carried := filepath.Join(dir, "carried.png")
				ffmpeg(t, "-i", with, "-frames:v", "1", carried)
				if p, err := media.ReadProfile(carried); err != nil || p == nil || !bytes.Equal(p.Data, icc) {
					t.Errorf("%d bytes embedded: ffmpeg carried %v (%v)", len(icc), p, err)
				}
				p, err := media.ReadProfile(with)
				if err != nil || p == nil || !bytes.Equal(p.Data, icc) || p.Name != prof.Name {
					t.Errorf("%d bytes embedded: ReadProfile gives %v (%v), want %q", len(icc), p, err, prof.Name)
				}
			}
		})
	}
	// Big-endian TIFF, by hand: ffmpeg writes little-endian ones.
	t.Run("big-endian.tif", func(t *testing.T) {
		be := bigEndianTIFF()
		out, ok := media.EmbedProfile(".tif", be, &media.Profile{Data: small})
		path := filepath.Join(dir, "be.tif")
		if !ok || os.WriteFile(path, out, 0o600) != nil {
			t.Fatal("not embedded")
		}
		if got := probedProfile(t, path); got != len(small) {
			t.Errorf("ffmpeg finds a profile of %d bytes, want %d", got, len(small))
		}
		if p, err := media.ReadProfile(path); err != nil || p == nil || p.Name != "Display P3" {
			t.Errorf("ReadProfile: %v, %v", p, err)
		}
	})
	if _, ok := media.EmbedProfile(".bmp", []byte("BM"), &media.Profile{Data: small}); ok {
		t.Error("a BMP: embedded")
	}
}

// bigEndianTIFF is a 2×1 RGB TIFF in Motorola byte order.
func bigEndianTIFF() []byte {
	bo := binary.BigEndian
	b := []byte("MM\x00*\x00\x00\x00\x08")
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	entries := []entry{
		{256, 3, 1, 2 << 16}, {257, 3, 1, 1 << 16}, {258, 3, 3, 0}, {259, 3, 1, 1 << 16},
		{262, 3, 1, 2 << 16}, {273, 4, 1, 0}, {277, 3, 1, 3 << 16}, {278, 3, 1, 1 << 16}, {279, 4, 1, 6},
	}
	ifdLen := 2 + 12*len(entries) + 4
	bits := uint32(8 + ifdLen)
	pixels := bits + 6
	entries[2].value, entries[5].value = bits, pixels
	b = bo.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = bo.AppendUint16(b, e.tag)
		b = bo.AppendUint16(b, e.typ)
		b = bo.AppendUint32(b, e.count)
		b = bo.AppendUint32(b, e.value)
	}
	b = bo.AppendUint32(b, 0)
	b = append(b, 0, 8, 0, 8, 0, 8)
	return append(b, 255, 0, 0, 0, 0, 255)
}

// TestReadProfile: a profile written by ffmpeg's JPEG encoder (from a PNG
// made here) is read; a grey or CMYK one, which does not describe BGR
// frames, is none; a damaged one (its size, its class, a missing JPEG
// segment, a PNG chunk that inflates past 8 MB) is an error; files with
// none, or of other types, have none.
func TestReadProfile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.png")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", base)
	png, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p3 := testicc.Profile(testicc.Options{Name: "Display P3"})
	tagged := write("p3.png", testicc.PNG(png, p3, "P3"))
	jpg := filepath.Join(dir, "p3.jpg")
	ffmpeg(t, "-i", tagged, jpg)
	for _, path := range []string{tagged, jpg} {
		p, err := media.ReadProfile(path)
		if err != nil || p == nil || !bytes.Equal(p.Data, p3) || p.Name != "Display P3" || p.SRGB() {
			t.Errorf("%s: %v, %v", filepath.Base(path), p, err)
		}
	}
	if p, _ := media.ReadProfile(write("srgb.png", testicc.PNG(png, testicc.Profile(testicc.Options{Name: "sRGB IEC61966-2.1"}), "sRGB"))); p == nil || !p.SRGB() {
		t.Errorf("an sRGB profile: %v", p)
	}
	for _, space := range []string{"GRAY", "CMYK"} {
		p, err := media.ReadProfile(write(space+".png", testicc.PNG(png, testicc.Profile(testicc.Options{Name: space, Space: space}), "x")))
		if p != nil || err != nil {
			t.Errorf("a %s profile: %v, %v", space, p, err)
		}
	}
	cut := p3[:len(p3)-10]
	bomb := func() []byte {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		w.Write(p3[:128])
		w.Write(make([]byte, 20<<20))
		w.Close()
		data := append([]byte("big\x00\x00"), z.Bytes()...)
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(append(c, "iCCP"...), data...)
		c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
		return append(append(append([]byte{}, png[:33]...), c...), png[33:]...)
	}
	jpgBytes, _ := os.ReadFile(jpg)
	// The first of two segments only.
	half := append([]byte{0xFF, 0xD8, 0xFF, 0xE2}, binary.BigEndian.AppendUint16(nil, uint16(2+14+100))...)
	half = append(append(half, "ICC_PROFILE\x00\x01\x02"...), p3[:100]...)
	half = append(half, jpgBytes[2:]...)
	for name, b := range map[string][]byte{
		"cut.png":  testicc.PNG(png, cut, "cut"),
		"link.png": testicc.PNG(png, testicc.Profile(testicc.Options{Class: "link"}), "link"),
		"bomb.png": bomb(),
		"half.jpg": half,
	} {
		p, err := media.ReadProfile(write(name, b))
		if err == nil || p != nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, %v: want a one-line error", name, p, err)
		}
	}
	for _, b := range [][]byte{nil, []byte("BM\x00\x00"), []byte("hello, world"), png[:40], jpgBytes[:300]} {
		if p, err := media.ReadProfile(write("other", b)); p != nil || err != nil {
			t.Errorf("%q…: %v, %v", b[:min(len(b), 8)], p, err)
		}
	}
}
