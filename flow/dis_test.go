package flow_test

import (
	"errors"
	"image"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vidstyle/vidstyle/flow"
	"github.com/vidstyle/vidstyle/internal/testmedia"
)

// shifted crops two w×h views of big such that the second is the first
// moved by (dx, dy): next(x+dx, y+dy) = prev(x, y).
func shifted(big gocv.Mat, w, h, dx, dy int) (prev, next gocv.Mat) {
	x0, y0 := 20, 20
	p := big.Region(image.Rect(x0, y0, x0+w, y0+h))
	n := big.Region(image.Rect(x0-dx, y0-dy, x0-dx+w, y0-dy+h))
	prev, next = p.Clone(), n.Clone()
	p.Close()
	n.Close()
	return prev, next
}

func TestDISFindsAKnownShift(t *testing.T) {
	big := testmedia.Texture(t, 200, 160, 1, 1)
	defer big.Close()
	const w, h, dx, dy = 160, 120, 3, -2
	prev, next := shifted(big, w, h, dx, dy)
	defer prev.Close()
	defer next.Close()
	for _, preset := range []flow.Preset{flow.PresetFast, flow.PresetMedium} {
		d, err := flow.NewDIS(preset, 1)
		if err != nil {
			t.Fatal(err)
		}
		f := gocv.NewMatWithSize(h, w, gocv.MatTypeCV32FC2)
		if err := d.Calc(prev, next, &f); err != nil {
			t.Fatal(err)
		}
		v, _ := f.DataPtrFloat32()
		var sx, sy float64
		n := 0
		for y := 10; y < h-10; y++ {
			for x := 10; x < w-10; x++ {
				i := 2 * (y*w + x)
				sx += float64(v[i])
				sy += float64(v[i+1])
				n++
			}
		}
		mx, my := sx/float64(n), sy/float64(n)
		if math.Abs(mx-dx) > 0.2 || math.Abs(my-dy) > 0.2 {
			t.Errorf("preset %d: mean flow (%.2f, %.2f), want (%d, %d)", preset, mx, my, dx, dy)
		}
		if f.Ptr() == nil || f.Cols() != w || f.Rows() != h {
			t.Errorf("flow Mat replaced")
		}
		f.Close()
		d.Close()
	}
}

func TestDISCalcAllocatesNothing(t *testing.T) {
	a, b := gocv.NewMatWithSize(60, 80, gocv.MatTypeCV8UC1), gocv.NewMatWithSize(60, 80, gocv.MatTypeCV8UC1)
	defer a.Close()
	defer b.Close()
	f := gocv.NewMatWithSize(60, 80, gocv.MatTypeCV32FC2)
	defer f.Close()
	d, err := flow.NewDIS(flow.PresetMedium, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ptr := f.DataPtrUint8
	before, _ := ptr()
	if n := testing.AllocsPerRun(20, func() {
		if err := d.Calc(a, b, &f); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Calc allocates %.0f times per call", n)
	}
	after, _ := ptr()
	if &before[0] != &after[0] {
		t.Error("Calc reallocated the caller's flow Mat")
	}
}

func TestDISRefusesBadInputAndUseAfterClose(t *testing.T) {
	d, err := flow.NewDIS(flow.PresetFast, 1)
	if err != nil {
		t.Fatal(err)
	}
	grey := gocv.NewMatWithSize(40, 40, gocv.MatTypeCV8UC1)
	defer grey.Close()
	small := gocv.NewMatWithSize(30, 40, gocv.MatTypeCV8UC1)
	defer small.Close()
	colour := gocv.NewMatWithSize(40, 40, gocv.MatTypeCV8UC3)
	defer colour.Close()
	good := gocv.NewMatWithSize(40, 40, gocv.MatTypeCV32FC2)
	defer good.Close()
	wrong := gocv.NewMatWithSize(40, 40, gocv.MatTypeCV32F)
	defer wrong.Close()
	for name, c := range map[string]struct {
		a, b gocv.Mat
		f    *gocv.Mat
	}{
		"colour frame": {grey, colour, &good},
		"two sizes":    {grey, small, &good},
		"flow type":    {grey, grey, &wrong},
		"flow size":    {small, small, &good},
		"no flow Mat":  {grey, grey, nil},
	} {
		if err := d.Calc(c.a, c.b, c.f); !errors.Is(err, flow.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
	if _, err := flow.NewDIS(7, 1); !errors.Is(err, flow.ErrInput) {
		t.Errorf("preset 7: %v", err)
	}
	d.Close()
	d.Close()
	if err := d.Calc(grey, grey, &good); !errors.Is(err, flow.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}
