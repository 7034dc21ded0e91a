package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// still is what a file's first bytes say about it as a picture, the way
// a browser or ffmpeg's probe tells formats apart: by content, not by
// the name (a JPEG saved as .jfif, a PNG that is an animation).
type still int

const (
	// notStill: none of the formats below; the name decides.
	notStill still = iota
	// stillOpenCV: JPEG, PNG, BMP, WebP, TIFF, PNM/PAM, JPEG 2000 or Sun
	// raster, one picture, which OpenCV reads.
	stillOpenCV
	// stillFFmpeg: a picture ffmpeg decodes and OpenCV does not: AVIF
	// (AV1 in HEIF), JPEG XL, QOI, OpenEXR, Photoshop, DirectDraw, SGI.
	stillFFmpeg
	// stillHEIF: a HEIC/HEIF photo (HEVC in HEIF), which neither OpenCV
	// nor ffmpeg 5.1 decodes.
	stillHEIF
	// animatedPNG: an APNG, a video ffmpeg reads (OpenCV would show its
	// first picture only).
	animatedPNG
	// animatedWebP: an animated WebP, whose frames neither OpenCV nor
	// ffmpeg 5.1 decodes.
	animatedWebP
	// heifSequence: a HEIF image sequence (a phone's burst or live
	// photo), which neither decodes either.
	heifSequence
	// cmyk16: a 16-bit CMYK TIFF, which OpenCV 4.6 cannot read and ffmpeg
	// 5.1 reads with its inks taken for red, green and blue.
	cmyk16
	// video: a container of video (MP4/MOV, Matroska/WebM, AVI, GIF),
	// whatever its name says.
	video
)

// sniff reads as much of path as it takes to tell what it is; notStill
// for what it cannot open or read.
func sniff(path string) still {
	// Only a regular file: opening a FIFO waits for a writer, and what
	// comes through one can be read once (Open says so).
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return notStill
	}
	f, err := os.Open(path)
	if err != nil {
		return notStill
	}
	defer f.Close()
	var head [32]byte
	n, _ := io.ReadFull(f, head[:])
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte{0xff, 0xd8, 0xff}) && mjpegExt(path):
		// JPEG after JPEG: an IP camera's or a capture card's motion
		// JPEG, which starts as a photo does.
		return video
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		if pngFrames(f) > 1 {
			return animatedPNG
		}
		return stillOpenCV
	case len(h) >= 21 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WEBP":
		// An extended WebP (VP8X) says in its flags whether it animates.
		if string(h[12:16]) == "VP8X" && h[20]&0x02 != 0 {
			return animatedWebP
		}
		return stillOpenCV
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		return heifBrand(f, h)
	case bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")): // TIFF
		order := binary.ByteOrder(binary.LittleEndian)
		if h[0] == 'M' {
			order = binary.BigEndian
		}
		if tiffCMYK16(f, order) {
			return cmyk16
		}
		return stillOpenCV
	case bytes.HasPrefix(h, []byte{0xff, 0x0a}), bytes.HasPrefix(h, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")), // JPEG XL
		bytes.HasPrefix(h, []byte("qoif")), bytes.HasPrefix(h, []byte{0x76, 0x2f, 0x31, 0x01}), // QOI, OpenEXR
		bytes.HasPrefix(h, []byte("8BPS")), bytes.HasPrefix(h, []byte("DDS ")), bytes.HasPrefix(h, []byte{0x01, 0xda}), // Photoshop, DirectDraw, SGI
		// A PAM: OpenCV 4.6 reads its RGB with red and blue swapped, and
		// its alpha layouts as garbage.
		len(h) >= 3 && h[0] == 'P' && h[1] == '7' && (h[2] == '\n' || h[2] == ' ' || h[2] == '\r' || h[2] == '\t'),
		// A 16-bit BMP (RGB 565 or 555): OpenCV expands it without
		// repeating the high bits (white reads 248,252,248).
		bytes.HasPrefix(h, []byte("BM")) && len(h) >= 30 && bmpHeader(binary.LittleEndian.Uint32(h[14:18])) && binary.LittleEndian.Uint16(h[28:30]) == 16:
		return stillFFmpeg
	case (bytes.HasPrefix(h, []byte("GIF87a")) || bytes.HasPrefix(h, []byte("GIF89a"))) && gifFrames(f) == 1:
		// A logo or a sticker: one picture (ffmpeg decodes it, with its
		// transparent colour), written as a picture as ffmpeg would.
		return stillFFmpeg
	case bytes.HasPrefix(h, []byte("\x1a\x45\xdf\xa3")), // Matroska, WebM
		len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "AVI ",
		bytes.HasPrefix(h, []byte("GIF87a")), bytes.HasPrefix(h, []byte("GIF89a")):
		return video
	case bytes.HasPrefix(h, []byte{0xff, 0xd8, 0xff}), // JPEG
		bytes.HasPrefix(h, []byte("BM")) && len(h) >= 18 && bmpHeader(binary.LittleEndian.Uint32(h[14:18])),                       // BMP
		len(h) >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '7' && (h[2] == '\n' || h[2] == ' ' || h[2] == '\r' || h[2] == '\t'), // PNM, PAM
		bytes.HasPrefix(h, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")), bytes.HasPrefix(h, []byte{0xff, 0x4f, 0xff, 0x51}),          // JPEG 2000
		bytes.HasPrefix(h, []byte{0x59, 0xa6, 0x6a, 0x95}): // Sun raster
		return stillOpenCV
	}
	return notStill
}

// gifFrames counts a GIF's pictures, up to 2 (0 when it cannot tell).
func gifFrames(f io.ReadSeeker) int {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0
	}
	r := bufio.NewReader(f)
	hdr := make([]byte, 13)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0
	}
	skip := func(n int) bool { _, err := r.Discard(n); return err == nil }
	if hdr[10]&0x80 != 0 && !skip(3<<(hdr[10]&7+1)) { // the global colour table
		return 0
	}
	subBlocks := func() bool {
		for {
			n, err := r.ReadByte()
			if err != nil {
				return false
			}
			if n == 0 {
				return true
			}
			if !skip(int(n)) {
				return false
			}
		}
	}
	frames := 0
	for frames < 2 {
		b, err := r.ReadByte()
		if err != nil {
			return 0
		}
		switch b {
		case 0x21: // an extension: its label, its sub-blocks
			if !skip(1) || !subBlocks() {
				return 0
			}
		case 0x2c: // a picture: its descriptor, colour table, LZW data
			d := make([]byte, 9)
			if _, err := io.ReadFull(r, d); err != nil {
				return 0
			}
			if d[8]&0x80 != 0 && !skip(3<<(d[8]&7+1)) {
				return 0
			}
			if !skip(1) || !subBlocks() {
				return 0
			}
			frames++
		case 0x3b: // the end
			return frames
		default:
			return 0
		}
	}
	return frames
}

// tiffCMYK16 reports whether a TIFF's first image is CMYK (photometric
// interpretation 5, "separated") at 16 bits a sample.
func tiffCMYK16(f io.ReaderAt, order binary.ByteOrder) bool {
	tags, ok := tiffTags(f, order)
	return ok && tags[262] == 5 && tags[258] == 16
}

// tiffTags reads the SHORT and LONG tags of a TIFF's first directory,
// each its first value (read from where the file keeps it when they do
// not fit in the entry: BitsPerSample of 3 or more samples).
func tiffTags(f io.ReaderAt, order binary.ByteOrder) (map[uint16]int, bool) {
	ifd, ok := tiffDirectory(f, order)
	if !ok {
		return nil, false
	}
	tags := make(map[uint16]int, len(ifd)/12)
	for i := 0; i+12 <= len(ifd); i += 12 {
		e := ifd[i:]
		tag, typ, cnt := order.Uint16(e), order.Uint16(e[2:]), order.Uint32(e[4:])
		switch {
		case typ == 3 && cnt <= 2: // SHORT, in the entry
			tags[tag] = int(order.Uint16(e[8:]))
		case typ == 4 && cnt <= 1: // LONG, in the entry
			tags[tag] = int(order.Uint32(e[8:]))
		case typ == 3 || typ == 4: // kept elsewhere
			var v [4]byte
			if _, err := f.ReadAt(v[:], int64(order.Uint32(e[8:]))); err == nil {
				if typ == 3 {
					tags[tag] = int(order.Uint16(v[:]))
				} else {
					tags[tag] = int(order.Uint32(v[:]))
				}
			}
		}
	}
	return tags, true
}

// tiffDirectory reads the entries (12 bytes each, at most 512) of a
// TIFF's first directory.
func tiffDirectory(f io.ReaderAt, order binary.ByteOrder) ([]byte, bool) {
	var hdr [8]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, false
	}
	off := int64(order.Uint32(hdr[4:]))
	var n [2]byte
	if _, err := f.ReadAt(n[:], off); err != nil {
		return nil, false
	}
	ifd := make([]byte, 12*min(int(order.Uint16(n[:])), 512))
	if _, err := f.ReadAt(ifd, off+2); err != nil {
		return nil, false
	}
	return ifd, true
}

// mjpegExt reports whether a name is a raw motion JPEG's (ffmpeg's mjpeg
// demuxer's extensions).
func mjpegExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mjpeg", ".mjpg", ".mjp":
		return true
	}
	return false
}

// bmpHeader reports whether n is the size of a BMP info header (core, v1
// to v5, OS/2 v2).
func bmpHeader(n uint32) bool {
	switch n {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// pngFrames is the frame count of an APNG's acTL chunk (which comes before
// the first image data), or 1 for a plain PNG.
func pngFrames(f io.ReadSeeker) uint32 {
	if _, err := f.Seek(8, io.SeekStart); err != nil {
		return 1
	}
	var hdr [12]byte
	for range 1000 { // ancillary chunks before IDAT: a few, or a few dozen
		if _, err := io.ReadFull(f, hdr[:8]); err != nil {
			return 1
		}
		size := binary.BigEndian.Uint32(hdr[:4])
		switch string(hdr[4:8]) {
		case "acTL":
			if _, err := io.ReadFull(f, hdr[8:12]); err != nil {
				return 1
			}
			return max(1, binary.BigEndian.Uint32(hdr[8:12]))
		case "IDAT", "IEND":
			return 1
		}
		if _, err := f.Seek(int64(size)+4, io.SeekCurrent); err != nil { // data and CRC
			return 1
		}
	}
	return 1
}

// heifBrand tells an ISO BMFF file by its brands: AVIF and HEIC/HEIF
// photos from the MP4s, MOVs and image sequences that ffmpeg reads as
// video. head holds the file's first bytes.
func heifBrand(f io.ReaderAt, head []byte) still {
	size := binary.BigEndian.Uint32(head[:4])
	if size < 16 || size > 4096 {
		return video
	}
	box := make([]byte, size)
	if _, err := f.ReadAt(box, 0); err != nil {
		return video
	}
	brands := [][]byte{box[8:12]}
	for i := 16; i+4 <= len(box); i += 4 {
		brands = append(brands, box[i:i+4])
	}
	heif := false
	for i, b := range brands {
		switch string(b) {
		case "avif":
			return stillFFmpeg
		case "avis":
			if i == 0 {
				return video // an AVIF sequence
			}
		case "heic", "heix", "heim", "heis", "mif1":
			heif = true
		case "hevc", "hevx", "msf1":
			if i == 0 {
				return heifSequence
			}
			heif = true
		}
	}
	if heif {
		return stillHEIF
	}
	return video
}

// IsMedia reports whether the file at p is a picture or a video, by its
// first bytes or, when they say nothing, by its name: what a folder given
// as the input holds that is stylized (text, subtitles and the sidecar
// files cameras and editors leave are not).
func IsMedia(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".thm", ".lrv":
		return false // a camera's thumbnail (a JPEG) and low-resolution proxy
	}
	if sniff(p) != notStill || IsImagePath(p) || ffmpegImageExt(p) {
		return true
	}
	switch strings.ToLower(filepath.Ext(p)) {
	case ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".vob",
		".wmv", ".asf", ".flv", ".3gp", ".3g2", ".ogv", ".dv", ".mxf", ".y4m", ".gif", ".apng", ".heic", ".heif":
		return true
	}
	return false
}
