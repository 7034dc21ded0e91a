package realmedia

// ReadIndex reads the index drawn in one packed BGR frame of w×h (as
// IndexedClip draws it, in any of the eight turns), or -1 when there is
// no readable code: for frames read live, one at a time, from a stream.
func ReadIndex(pix []byte, w, h int) int {
	if w <= 0 || h <= 0 || len(pix) < 3*w*h {
		return -1
	}
	i, _, _ := readAny(bgrImage{w: w, h: h, pix: pix[:3*w*h]})
	return i
}
