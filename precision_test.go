package vidstyle

import "testing"

// TestHasVNNI: the flags line decides, either extension counts, a flag
// that merely contains the word does not.
func TestHasVNNI(t *testing.T) {
	for _, c := range []struct {
		info string
		want bool
	}{
		{"processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n", true},
		{"flags\t\t: fpu avx2 avx_vnni\n", true},
		{"flags\t\t: fpu avx2 avx512f\nbugs\t\t: avx512_vnni\n", false},
		{"flags\t\t: fpu avx512_vnnix\n", false},
		{"", false},
	} {
		if got := HasVNNI([]byte(c.info)); got != c.want {
			t.Errorf("%q: %v", c.info, got)
		}
	}
}
