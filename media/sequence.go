package media

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// SequenceName splits the file name of a numbered picture sequence
// ("img_%04d.png") around its one printf %d verb, as ffmpeg names
// sequences: %d with or without a width up to 12 (ffmpeg pads with zeros
// to the width whether or not it starts with one: "%3d" gives 001), and
// %% for a literal % (made % in before and after). ok is false for a name
// with no such verb or with two.
func SequenceName(base string) (before string, width int, after string, ok bool) {
	var parts [2]strings.Builder
	verbs := 0
	for i := 0; i < len(base); i++ {
		c := base[i]
		if c != '%' {
			parts[verbs].WriteByte(c)
			continue
		}
		if i+1 < len(base) && base[i+1] == '%' {
			parts[verbs].WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(base) && base[j] >= '0' && base[j] <= '9' {
			j++
		}
		if j >= len(base) || base[j] != 'd' || verbs == 1 || j-i > 4 {
			return "", 0, "", false
		}
		w, _ := strconv.Atoi(strings.TrimLeft(base[i+1:j], "0"))
		if w > 12 {
			return "", 0, "", false
		}
		width, verbs, i = w, 1, j
	}
	if verbs != 1 {
		return "", 0, "", false
	}
	return parts[0].String(), width, parts[1].String(), true
}

// SequenceFile is the name of picture n of the sequence path names, or ""
// when its file name is no sequence's (SequenceName).
func SequenceFile(path string, n int) string {
	before, width, after, ok := SequenceName(filepath.Base(path))
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(path), before+fmt.Sprintf("%0*d", width, n)+after)
}
