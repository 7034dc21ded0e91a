package media

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf16"
)

// MaxProfile bounds the colour profile a picture may carry (the largest
// camera and display profiles are a few hundred kilobytes; a printer's
// lookup tables a few megabytes).
const MaxProfile = 8 << 20

// Profile is a picture's ICC colour profile: what its pixel values mean
// (Display P3 from a phone, Adobe RGB from a camera). A styled picture
// that keeps its input's profile shows its colours as the input does.
type Profile struct {
	Data []byte // the whole profile, as embedded
	Name string // its description ("Display P3"), or ""
}

// SRGB reports whether the profile is (by its name) an sRGB one, whose
// loss changes nothing a viewer sees: untagged pictures are taken as sRGB.
func (p *Profile) SRGB() bool {
	return p != nil && strings.Contains(strings.ToLower(p.Name), "srgb")
}

// String names the profile for messages.
func (p *Profile) String() string {
	if p.Name != "" {
		return fmt.Sprintf("%q", p.Name)
	}
	return fmt.Sprintf("of %d bytes", len(p.Data))
}

// ReadProfile returns the RGB colour profile embedded in a JPEG, PNG,
// WebP or TIFF file, nil when it has none (or one of another colour
// space: a CMYK or grey profile does not describe the BGR frames read
// from it), or an error saying why the one it has is not a profile.
func ReadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readProfile(f)
}

// readProfile is ReadProfile of an open file.
func readProfile(f io.ReadSeeker) (*Profile, error) {
	head := make([]byte, 12)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, nil // too short to be any of them
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var data []byte
	var err error
	switch {
	case head[0] == 0xFF && head[1] == 0xD8:
		data, err = jpegProfile(f)
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		data, err = pngProfile(f)
	case string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		data, err = webpProfile(f)
	case string(head[:4]) == "II*\x00" || string(head[:4]) == "MM\x00*":
		data, err = tiffProfile(f)
	default:
		return nil, nil
	}
	if err != nil || data == nil {
		return nil, err
	}
	if err := checkProfile(data); err != nil {
		return nil, err
	}
	if string(data[16:20]) != "RGB " {
		return nil, nil
	}
	return &Profile{Data: data, Name: profileName(data)}, nil
}

var errNoProfile = errors.New("not an ICC profile")

// checkProfile checks an ICC profile's header: its size, signature and
// class (a device link or abstract profile describes no picture).
func checkProfile(p []byte) error {
	if len(p) < 132 || int(binary.BigEndian.Uint32(p)) != len(p) || string(p[36:40]) != "acsp" {
		return errNoProfile
	}
	switch string(p[12:16]) {
	case "mntr", "scnr", "prtr", "spac":
		return nil
	}
	return fmt.Errorf("%w of a picture (class %q)", errNoProfile, p[12:16])
}

// profileName reads a profile's 'desc' tag: ICC v2's ASCII text or v4's
// first localized string.
func profileName(p []byte) string {
	n := int(binary.BigEndian.Uint32(p[128:]))
	for i := 0; i < n && i < 100 && 132+12*i+12 <= len(p); i++ {
		e := p[132+12*i:]
		if string(e[:4]) != "desc" {
			continue
		}
		off, size := int(binary.BigEndian.Uint32(e[4:])), int(binary.BigEndian.Uint32(e[8:]))
		if off < 0 || size < 12 || off > len(p)-size {
			return ""
		}
		t := p[off : off+size]
		var s string
		switch string(t[:4]) {
		case "desc":
			l := int(binary.BigEndian.Uint32(t[8:]))
			if l < 0 || l > len(t)-12 { // negative past 2 GB where int has 32 bits
				return ""
			}
			s = string(bytes.TrimRight(t[12:12+l], "\x00"))
		case "mluc":
			if len(t) < 28 {
				return ""
			}
			l, o := int(binary.BigEndian.Uint32(t[20:])), int(binary.BigEndian.Uint32(t[24:]))
			if o < 0 || l < 0 || o > len(t)-l {
				return ""
			}
			u := make([]uint16, l/2)
			for j := range u {
				u[j] = binary.BigEndian.Uint16(t[o+2*j:])
			}
			s = string(utf16.Decode(u))
		}
		s = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, s))
		if len(s) > 80 {
			s = s[:80]
		}
		return s
	}
	return ""
}

// jpegProfile joins a JPEG's APP2 "ICC_PROFILE" segments.
func jpegProfile(r io.Reader) ([]byte, error) {
	br := &byteReader{r: bufio.NewReader(r)} // marker bytes are read one by one
	if br.u16() != 0xFFD8 {
		return nil, nil
	}
	var parts [][]byte
	total := 0
	for br.err == nil {
		m := br.u8()
		if m != 0xFF {
			break
		}
		for m == 0xFF {
			m = br.u8()
		}
		if m == 0xD9 || m == 0xDA || br.err != nil { // end, or the picture's data
			break
		}
		if m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			continue
		}
		l := int(br.u16()) - 2
		if l < 0 {
			break
		}
		seg := br.bytes(l)
		if br.err != nil {
			break
		}
		if m != 0xE2 || !bytes.HasPrefix(seg, []byte("ICC_PROFILE\x00")) || len(seg) < 14 {
			continue
		}
		seq, count := int(seg[12]), int(seg[13])
		if count == 0 || seq == 0 || seq > count {
			return nil, fmt.Errorf("%w: its JPEG segment %d of %d is misnumbered", errNoProfile, seq, count)
		}
		if parts == nil {
			parts = make([][]byte, count)
		}
		if count != len(parts) || parts[seq-1] != nil {
			return nil, fmt.Errorf("%w: its JPEG segments disagree", errNoProfile)
		}
		parts[seq-1] = seg[14:]
		if total += len(seg) - 14; total > MaxProfile {
			return nil, fmt.Errorf("%w: over %d MB", errNoProfile, MaxProfile>>20)
		}
	}
	if parts == nil {
		return nil, nil
	}
	var all []byte
	for i, p := range parts {
		if p == nil {
			return nil, fmt.Errorf("%w: its JPEG segment %d of %d is missing", errNoProfile, i+1, len(parts))
		}
		all = append(all, p...)
	}
	return all, nil
}

// pngProfile inflates a PNG's iCCP chunk.
func pngProfile(r io.Reader) ([]byte, error) {
	br := &byteReader{r: r}
	br.bytes(8)
	for br.err == nil {
		l := int(br.u32())
		typ := string(br.bytes(4))
		if br.err != nil || typ == "IDAT" || typ == "IEND" || l > 1<<30 {
			return nil, nil
		}
		if typ != "iCCP" {
			br.skip(int64(l) + 4)
			continue
		}
		if l > MaxProfile {
			return nil, fmt.Errorf("%w: over %d MB", errNoProfile, MaxProfile>>20)
		}
		c := br.bytes(l)
		i := bytes.IndexByte(c, 0)
		if br.err != nil || i < 1 || i+2 > len(c) || c[i+1] != 0 {
			return nil, fmt.Errorf("%w: a malformed PNG iCCP chunk", errNoProfile)
		}
		z, err := zlib.NewReader(bytes.NewReader(c[i+2:]))
		if err != nil {
			return nil, fmt.Errorf("%w: its PNG iCCP chunk: %w", errNoProfile, err)
		}
		p, err := io.ReadAll(io.LimitReader(z, MaxProfile+1))
		if err != nil {
			return nil, fmt.Errorf("%w: its PNG iCCP chunk: %w", errNoProfile, err)
		}
		if len(p) > MaxProfile {
			return nil, fmt.Errorf("%w: over %d MB", errNoProfile, MaxProfile>>20)
		}
		return p, nil
	}
	return nil, nil
}

// webpProfile reads a WebP's ICCP chunk.
func webpProfile(r io.Reader) ([]byte, error) {
	br := &byteReader{r: r}
	br.bytes(12)
	for br.err == nil {
		typ := string(br.bytes(4))
		l := int64(binary.LittleEndian.Uint32(pad4(br.bytes(4))))
		if br.err != nil {
			return nil, nil
		}
		if typ != "ICCP" {
			br.skip(l + l&1)
			continue
		}
		if l > MaxProfile {
			return nil, fmt.Errorf("%w: over %d MB", errNoProfile, MaxProfile>>20)
		}
		p := br.bytes(int(l))
		if br.err != nil {
			return nil, nil
		}
		return p, nil
	}
	return nil, nil
}

// tiffProfile reads tag 34675 (InterColorProfile) of a TIFF's first page.
func tiffProfile(f io.ReadSeeker) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[0] == 'M' {
		bo = binary.BigEndian
	}
	if _, err := f.Seek(int64(bo.Uint32(head[4:])), io.SeekStart); err != nil {
		return nil, nil
	}
	br := &byteReader{r: f}
	n := int(bo.Uint16(pad4(br.bytes(2))[:2]))
	for i := 0; i < n && br.err == nil; i++ {
		e := br.bytes(12)
		if br.err != nil || bo.Uint16(e) != tagICC {
			continue
		}
		typ, count, off := bo.Uint16(e[2:]), bo.Uint32(e[4:]), bo.Uint32(e[8:])
		if typ != 7 && typ != 1 || count > MaxProfile || count <= 4 {
			return nil, fmt.Errorf("%w: a malformed TIFF tag", errNoProfile)
		}
		if _, err := f.Seek(int64(off), io.SeekStart); err != nil {
			return nil, nil
		}
		p := make([]byte, count)
		if _, err := io.ReadFull(f, p); err != nil {
			return nil, fmt.Errorf("%w: its TIFF tag points past the file's end", errNoProfile)
		}
		return p, nil
	}
	return nil, nil
}

const tagICC = 34675

// pad4 gives b at least 4 bytes (a short read's zeros).
func pad4(b []byte) []byte {
	for len(b) < 4 {
		b = append(b, 0)
	}
	return b
}

// byteReader reads big-endian fields and keeps the first error.
type byteReader struct {
	r   io.Reader
	err error
}

func (b *byteReader) bytes(n int) []byte {
	if b.err != nil || n < 0 {
		b.err = io.ErrUnexpectedEOF
		return nil
	}
	p := make([]byte, n)
	if _, b.err = io.ReadFull(b.r, p); b.err != nil {
		return nil // never a part read and zeros
	}
	return p
}

func (b *byteReader) skip(n int64) {
	if b.err == nil {
		_, b.err = io.CopyN(io.Discard, b.r, n)
	}
}

func (b *byteReader) u8() byte {
	if p := b.bytes(1); b.err == nil {
		return p[0]
	}
	return 0
}

func (b *byteReader) u16() uint16 {
	if p := b.bytes(2); b.err == nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (b *byteReader) u32() uint32 {
	if p := b.bytes(4); b.err == nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// HoldsProfile reports whether EmbedProfile writes a profile into the
// picture type ext names.
func HoldsProfile(ext string) bool {
	switch strings.ToLower(ext) {
	case ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".tif", ".tiff":
		return true
	}
	return false
}

// EmbedProfile puts a colour profile into an encoded picture (as OpenCV
// writes them) of the type ext names (".png", ".jpg"/".jpeg"/".jpe",
// ".webp", ".tif"/".tiff"). ok is false for another type, or an encoding
// it does not know, which is then returned as it is.
func EmbedProfile(ext string, pic []byte, p *Profile) (out []byte, ok bool) {
	if p == nil {
		return pic, false
	}
	var err error
	switch strings.ToLower(ext) {
	case ".png":
		out, err = pngEmbed(pic, p)
	case ".jpg", ".jpeg", ".jpe", ".jfif":
		out, err = jpegEmbed(pic, p.Data)
	case ".webp":
		out, err = webpEmbed(pic, p.Data)
	case ".tif", ".tiff":
		out, err = tiffEmbed(pic, p.Data)
	default:
		return pic, false
	}
	if err != nil {
		return pic, false
	}
	return out, true
}

var errLayout = errors.New("an unexpected layout")

// pngEmbed writes an iCCP chunk after IHDR (and drops an sRGB chunk, which
// the PNG standard does not allow beside it).
func pngEmbed(pic []byte, p *Profile) ([]byte, error) {
	if len(pic) < 33 || string(pic[12:16]) != "IHDR" {
		return nil, errLayout
	}
	name := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, p.Name)
	name = strings.TrimSpace(name)
	if len(name) > 79 {
		name = name[:79]
	}
	if name == "" {
		name = "ICC profile"
	}
	var z bytes.Buffer
	z.WriteString(name)
	z.Write([]byte{0, 0})
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(p.Data)
	zw.Close()
	out := append([]byte{}, pic[:33]...)
	out = append(out, pngChunk("iCCP", z.Bytes())...)
	for i := 33; i+12 <= len(pic); {
		l := int(binary.BigEndian.Uint32(pic[i:]))
		if l < 0 || i+12+l > len(pic) {
			return nil, errLayout
		}
		if typ := string(pic[i+4 : i+8]); typ != "sRGB" && typ != "iCCP" && typ != "gAMA" && typ != "cHRM" {
			out = append(out, pic[i:i+12+l]...)
		}
		i += 12 + l
	}
	return out, nil
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// jpegEmbed writes APP2 ICC_PROFILE segments after SOI and any APP0
// (JFIF's), in place of any it has.
func jpegEmbed(pic, icc []byte) ([]byte, error) {
	if len(pic) < 4 || pic[0] != 0xFF || pic[1] != 0xD8 {
		return nil, errLayout
	}
	const chunk = 65535 - 2 - 14
	count := (len(icc) + chunk - 1) / chunk
	if count > 255 {
		return nil, errLayout
	}
	var segs []byte
	for i := range count {
		part := icc[i*chunk : min(len(icc), (i+1)*chunk)]
		segs = append(segs, 0xFF, 0xE2)
		segs = binary.BigEndian.AppendUint16(segs, uint16(2+14+len(part)))
		segs = append(segs, "ICC_PROFILE\x00"...)
		segs = append(segs, byte(i+1), byte(count))
		segs = append(segs, part...)
	}
	out := append(make([]byte, 0, len(pic)+len(segs)), pic[:2]...)
	i, placed := 2, false
	for i+4 <= len(pic) && pic[i] == 0xFF {
		m := pic[i+1]
		if m == 0xDA || m == 0xD9 || m < 0xC0 { // the picture's data from here
			break
		}
		end := i + 2 + int(binary.BigEndian.Uint16(pic[i+2:]))
		if end > len(pic) || end < i+4 {
			return nil, errLayout
		}
		if m != 0xE0 && !placed {
			out, placed = append(out, segs...), true
		}
		if m != 0xE2 || !bytes.HasPrefix(pic[i+4:end], []byte("ICC_PROFILE\x00")) {
			out = append(out, pic[i:end]...)
		}
		i = end
	}
	if !placed {
		out = append(out, segs...)
	}
	return append(out, pic[i:]...), nil
}

// webpEmbed writes an ICCP chunk after VP8X, making a simple (VP8 or
// VP8L) file an extended one.
func webpEmbed(pic, icc []byte) ([]byte, error) {
	if len(pic) < 30 || string(pic[:4]) != "RIFF" || string(pic[8:12]) != "WEBP" {
		return nil, errLayout
	}
	var chunks [][]byte
	var vp8x []byte
	for i := 12; i+8 <= len(pic); {
		l := int(binary.LittleEndian.Uint32(pic[i+4:]))
		if l < 0 || l > len(pic)-i-8 { // before adding: 32-bit ints wrap
			return nil, errLayout
		}
		end := i + 8 + l + l&1
		if end > len(pic) {
			if i+8+l == len(pic) { // an odd last chunk without its pad
				end = len(pic)
			} else {
				return nil, errLayout
			}
		}
		c := pic[i:end]
		switch string(c[:4]) {
		case "VP8X":
			vp8x = append([]byte{}, c...)
		case "ICCP":
		default:
			chunks = append(chunks, c)
		}
		i = end
	}
	if len(chunks) == 0 {
		return nil, errLayout
	}
	if vp8x == nil {
		c := chunks[0]
		var w, h int
		var alpha bool
		switch {
		case string(c[:4]) == "VP8 " && len(c) >= 18 && c[11] == 0x9d && c[12] == 0x01 && c[13] == 0x2a:
			w = int(binary.LittleEndian.Uint16(c[14:]) & 0x3fff)
			h = int(binary.LittleEndian.Uint16(c[16:]) & 0x3fff)
		case string(c[:4]) == "VP8L" && len(c) >= 13 && c[8] == 0x2f:
			b := binary.LittleEndian.Uint32(c[9:])
			w, h = int(b&0x3fff)+1, int(b>>14&0x3fff)+1
			alpha = b>>28&1 == 1
		default:
			return nil, errLayout
		}
		if w == 0 || h == 0 {
			return nil, errLayout
		}
		vp8x = []byte("VP8X\x0a\x00\x00\x00")
		flags := byte(0)
		if alpha {
			flags |= 0x10
		}
		vp8x = append(vp8x, flags, 0, 0, 0)
		vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
		vp8x = append(vp8x, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	}
	if len(vp8x) < 18 {
		return nil, errLayout
	}
	vp8x[8] |= 0x20 // ICC
	out := append([]byte{}, pic[:12]...)
	out = append(out, vp8x...)
	out = append(out, "ICCP"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(icc)))
	out = append(out, icc...)
	if len(icc)&1 == 1 {
		out = append(out, 0)
	}
	for _, c := range chunks {
		out = append(out, c...)
		if len(c)&1 == 1 {
			out = append(out, 0)
		}
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}

// tiffEmbed adds tag 34675 (the profile) to the first page.
func tiffEmbed(pic, icc []byte) ([]byte, error) {
	return tiffSetTag(pic, tagICC, 7, uint32(len(icc)), icc) // UNDEFINED
}

// TIFFUnassociatedAlpha marks an encoded TIFF's fourth sample as alpha,
// unassociated (tag 338, ExtraSamples = 2): OpenCV's encoder writes four
// samples without saying what the fourth is, which the TIFF standard
// leaves to readers to guess (libtiff warns). ok is false for a layout it
// does not know, which is then returned as it is.
func TIFFUnassociatedAlpha(pic []byte) (out []byte, ok bool) {
	bo, err := tiffOrder(pic)
	if err != nil {
		return pic, false
	}
	v := make([]byte, 2)
	bo.PutUint16(v, 2)
	out, err = tiffSetTag(pic, 338, 3, 1, v) // SHORT
	if err != nil {
		return pic, false
	}
	return out, true
}

func tiffOrder(pic []byte) (binary.ByteOrder, error) {
	if len(pic) >= 8 {
		switch string(pic[:4]) {
		case "II*\x00":
			return binary.LittleEndian, nil
		case "MM\x00*":
			return binary.BigEndian, nil
		}
	}
	return nil, errLayout // BigTIFF, or not a TIFF
}

// tiffSetTag sets a tag of the first page (in place of any it has): a
// copy of the page's directory with the tag goes at the file's end, with
// the tag's value when it is over 4 bytes, and the header points at the
// copy (the values of the other tags stay where they are).
func tiffSetTag(pic []byte, tag, typ uint16, count uint32, value []byte) ([]byte, error) {
	bo, err := tiffOrder(pic)
	if err != nil {
		return nil, err
	}
	ifd := int(bo.Uint32(pic[4:]))
	if ifd < 8 || ifd+2 > len(pic) {
		return nil, errLayout
	}
	n := int(bo.Uint16(pic[ifd:]))
	if ifd+2+12*n+4 > len(pic) {
		return nil, errLayout
	}
	entries := make([][]byte, 0, n+1)
	for i := range n {
		e := pic[ifd+2+12*i : ifd+2+12*i+12]
		if bo.Uint16(e) != tag {
			entries = append(entries, e)
		}
	}
	next := pic[ifd+2+12*n : ifd+2+12*n+4]
	out := append([]byte{}, pic...)
	if len(out)&1 == 1 {
		out = append(out, 0)
	}
	if uint64(len(out))+uint64(len(value))+uint64(12*n+20) > 1<<32-1 {
		return nil, errLayout
	}
	e := make([]byte, 12)
	bo.PutUint16(e, tag)
	bo.PutUint16(e[2:], typ)
	bo.PutUint32(e[4:], count)
	if len(value) <= 4 {
		copy(e[8:], value)
	} else {
		bo.PutUint32(e[8:], uint32(len(out)))
		out = append(out, value...)
		if len(out)&1 == 1 {
			out = append(out, 0)
		}
	}
	entries = append(entries, e)
	sort.SliceStable(entries, func(i, j int) bool { return bo.Uint16(entries[i]) < bo.Uint16(entries[j]) })
	dir := len(out)
	out = append(out, 0, 0)
	bo.PutUint16(out[dir:], uint16(len(entries)))
	for _, e := range entries {
		out = append(out, e...)
	}
	out = append(out, next...)
	bo.PutUint32(out[4:], uint32(dir))
	return out, nil
}
