// Package testicc makes ICC colour profiles and pictures that carry them
// for tests, written here apart from package media's reader and writer.
package testicc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// Options describe a made profile.
type Options struct {
	Name  string // its description
	Space string // data colour space, 4 bytes: "RGB ", "GRAY", "CMYK"
	Class string // device class, 4 bytes: "mntr", "link", …
	V4    bool   // version 4, whose description is a localized string
	Pad   int    // bytes of a private tag, to make a large profile
}

// Profile makes a matrix/TRC display profile with Display P3's primaries
// (D50-adapted), gamma 2.2 curves and the options' name, class and space.
func Profile(o Options) []byte {
	if o.Space == "" {
		o.Space = "RGB "
	}
	if o.Class == "" {
		o.Class = "mntr"
	}
	s15 := func(v float64) []byte {
		return binary.BigEndian.AppendUint32(nil, uint32(int32(v*65536+0.5)))
	}
	xyz := func(x, y, z float64) []byte {
		b := append([]byte("XYZ "), 0, 0, 0, 0)
		return append(append(append(b, s15(x)...), s15(y)...), s15(z)...)
	}
	curv := []byte("curv\x00\x00\x00\x00\x00\x00\x00\x01\x02\x33\x00\x00")
	var desc []byte
	if o.V4 {
		u := utf16.Encode([]rune(o.Name))
		desc = append([]byte("mluc"), 0, 0, 0, 0)
		desc = binary.BigEndian.AppendUint32(desc, 1)
		desc = binary.BigEndian.AppendUint32(desc, 12)
		desc = append(desc, "enUS"...)
		desc = binary.BigEndian.AppendUint32(desc, uint32(2*len(u)))
		desc = binary.BigEndian.AppendUint32(desc, 28)
		for _, c := range u {
			desc = binary.BigEndian.AppendUint16(desc, c)
		}
	} else {
		desc = append([]byte("desc"), 0, 0, 0, 0)
		desc = binary.BigEndian.AppendUint32(desc, uint32(len(o.Name)+1))
		desc = append(desc, o.Name...)
		desc = append(desc, make([]byte, 1+4+4+3+67)...)
	}
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", desc},
		{"wtpt", xyz(0.9642, 1, 0.8249)},
		{"rXYZ", xyz(0.5151, 0.2412, -0.0011)},
		{"gXYZ", xyz(0.2920, 0.6922, 0.0419)},
		{"bXYZ", xyz(0.1571, 0.0666, 0.7841)},
		{"rTRC", curv}, {"gTRC", curv}, {"bTRC", curv},
		{"cprt", []byte("text\x00\x00\x00\x00none\x00")},
	}
	if o.Pad > 0 {
		pad := make([]byte, o.Pad)
		for i := range pad {
			pad[i] = byte(i * 7)
		}
		tags = append(tags, struct {
			sig  string
			data []byte
		}{"zpad", append([]byte("data\x00\x00\x00\x00\x00\x00\x00\x01"), pad...)})
	}
	off := 128 + 4 + 12*len(tags)
	var table, data []byte
	for _, t := range tags {
		d := t.data
		for len(d)%4 != 0 {
			d = append(d, 0)
		}
		table = append(table, t.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(off+len(data)))
		table = binary.BigEndian.AppendUint32(table, uint32(len(t.data)))
		data = append(data, d...)
	}
	h := make([]byte, 128)
	binary.BigEndian.PutUint32(h, uint32(128+4+len(table)+len(data)))
	copy(h[4:], "none")
	h[8], h[9] = 2, 0x10
	if o.V4 {
		h[8], h[9] = 4, 0x30
	}
	copy(h[12:], o.Class)
	copy(h[16:], o.Space)
	copy(h[20:], "XYZ ")
	copy(h[36:], "acsp")
	copy(h[68:], s15(0.9642))
	copy(h[72:], s15(1))
	copy(h[76:], s15(0.8249))
	out := append(h, binary.BigEndian.AppendUint32(nil, uint32(len(tags)))...)
	return append(append(out, table...), data...)
}

// PNG puts an iCCP chunk of profile into a PNG after its IHDR.
func PNG(png, profile []byte, name string) []byte {
	var z bytes.Buffer
	z.WriteString(name)
	z.Write([]byte{0, 0})
	w := zlib.NewWriter(&z)
	w.Write(profile)
	w.Close()
	c := binary.BigEndian.AppendUint32(nil, uint32(z.Len()))
	c = append(append(c, "iCCP"...), z.Bytes()...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	const ihdrEnd = 8 + 8 + 13 + 4
	return append(append(append([]byte{}, png[:ihdrEnd]...), c...), png[ihdrEnd:]...)
}
