package vp8

// Payloader splits VP8 frames into RTP payloads (RFC 7741). Unlike pion
// v3.3.6's, it writes the 15-bit PictureID on every packet, also when it
// is 0: pion's omits it then, and Chrome stalls after a first keyframe
// that has no PictureID.
type Payloader struct {
	pictureID uint16
}

// Payload implements rtp.Payloader.
func (p *Payloader) Payload(mtu uint16, frame []byte) [][]byte {
	const header = 4 // X|S, I, M|PictureID(15)
	max := int(mtu) - header
	if max <= 0 || len(frame) == 0 {
		return nil
	}
	var out [][]byte
	for first := true; len(frame) > 0; first = false {
		n := min(max, len(frame))
		pkt := make([]byte, header+n)
		pkt[0] = 0x80 // X: extensions follow
		if first {
			pkt[0] |= 0x10 // S: start of the frame
		}
		pkt[1] = 0x80 // I: a PictureID follows
		pkt[2] = 0x80 | byte(p.pictureID>>8)&0x7f
		pkt[3] = byte(p.pictureID)
		copy(pkt[header:], frame[:n])
		out = append(out, pkt)
		frame = frame[n:]
	}
	p.pictureID = (p.pictureID + 1) & 0x7fff
	return out
}
