package vp8

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncodeDecodesWithFFmpeg: 30 frames written as IVF decode with the
// real ffmpeg; the first and a forced frame are keyframes.
func TestEncodeDecodesWithFFmpeg(t *testing.T) {
	const w, h, n = 320, 180, 30
	e, err := NewEncoder(w, h, 500)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var ivf bytes.Buffer
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	binary.LittleEndian.PutUint16(hdr[6:], 32)
	copy(hdr[8:], "VP80")
	binary.LittleEndian.PutUint16(hdr[12:], w)
	binary.LittleEndian.PutUint16(hdr[14:], h)
	binary.LittleEndian.PutUint32(hdr[16:], 30)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], n)
	ivf.Write(hdr)
	img := make([]byte, w*h*3/2)
	for i := range n {
		for y := range h {
			for x := range w {
				img[y*w+x] = byte(x + y + 4*i) // a moving gradient
			}
		}
		frame, key, err := e.Encode(img, int64(i)*3000, i == 10)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0 || i == 10) != key && (i == 0 || i == 10) {
			t.Errorf("frame %d: keyframe %v", i, key)
		}
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(frame)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		ivf.Write(fh)
		ivf.Write(frame)
	}
	path := filepath.Join(t.TempDir(), "out.ivf")
	os.WriteFile(path, ivf.Bytes(), 0o644)
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "vp8,320,180,30" {
		t.Fatalf("ffprobe: %q", got)
	}
	if _, err := NewEncoder(321, 180, 500); err == nil {
		t.Error("odd width accepted")
	}
	e.Close()
	if _, _, err := e.Encode(img, 0, false); err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

func TestPayloaderAlwaysWritesPictureID(t *testing.T) {
	p := &Payloader{}
	frame := bytes.Repeat([]byte{1}, 2500)
	pkts := p.Payload(1200, frame)
	if len(pkts) != 3 {
		t.Fatalf("%d packets", len(pkts))
	}
	var joined []byte
	for i, pkt := range pkts {
		start := pkt[0]&0x10 != 0
		if pkt[0]&0x80 == 0 || pkt[1]&0x80 == 0 || pkt[2]&0x80 == 0 || start != (i == 0) {
			t.Fatalf("packet %d header % x", i, pkt[:4])
		}
		if id := int(pkt[2]&0x7f)<<8 | int(pkt[3]); id != 0 {
			t.Fatalf("packet %d picture id %d, want 0 (and written)", i, id)
		}
		joined = append(joined, pkt[4:]...)
	}
	if !bytes.Equal(joined, frame) {
		t.Fatal("payloads do not add up to the frame")
	}
	p.pictureID = 0x7fff
	p.Payload(1200, frame)
	if pkts := p.Payload(1200, frame); pkts[0][2] != 0x80 || pkts[0][3] != 0 {
		t.Errorf("picture id did not wrap to 0: % x", pkts[0][:4])
	}
}
