package flow

// Mask fills valid (w×h, 1 or 0) with the pixels a warp along the backward
// flow b can be trusted on, given the forward flow ft already warped along
// b (both interleaved x, y per pixel), and returns how many it kept. The
// tests are Ruder et al. 2016's ("Artistic style transfer for videos"): the
// pixel's source x+b(x) must lie inside the frame; it must pass the
// forward–backward check |b+ft|² ≤ 0.01(|b|²+|ft|²)+0.5 (else it was
// occluded or the flow is wrong); and it must not sit on a motion boundary,
// |∇b|² ≤ 0.01|b|²+0.002 (central differences, one-sided at the edges).
func Mask(valid, b, ft []float32, w, h int) int {
	return MaskRows(valid, b, ft, w, h, 0, h)
}

// MaskRows is Mask on rows y0 to y1 (exclusive) alone, reading the rows
// around them: bands of one frame may be done at once on several
// goroutines.
func MaskRows(valid, b, ft []float32, w, h, y0, y1 int) int {
	kept := 0
	for y := y0; y < y1; y++ {
		yu, yd := max(y-1, 0), min(y+1, h-1)
		dy := 1 / float32(max(yd-yu, 1))
		for x := range w {
			i := y*w + x
			bx, by := b[2*i], b[2*i+1]
			px, py := float32(x)+bx, float32(y)+by
			ok := px >= 0 && py >= 0 && px <= float32(w-1) && py <= float32(h-1)
			if ok {
				fx, fy := ft[2*i], ft[2*i+1]
				sx, sy := bx+fx, by+fy
				ok = sx*sx+sy*sy <= 0.01*(bx*bx+by*by+fx*fx+fy*fy)+0.5
			}
			if ok {
				xl, xr := max(x-1, 0), min(x+1, w-1)
				dx := 1 / float32(max(xr-xl, 1))
				ux := (b[2*(y*w+xr)] - b[2*(y*w+xl)]) * dx
				vx := (b[2*(y*w+xr)+1] - b[2*(y*w+xl)+1]) * dx
				uy := (b[2*(yd*w+x)] - b[2*(yu*w+x)]) * dy
				vy := (b[2*(yd*w+x)+1] - b[2*(yu*w+x)+1]) * dy
				ok = ux*ux+vx*vx+uy*uy+vy*vy <= 0.01*(bx*bx+by*by)+0.002
			}
			if ok {
				valid[i] = 1
				kept++
			} else {
				valid[i] = 0
			}
		}
	}
	return kept
}

// Sources fills maps (interleaved x, y) with each pixel's position plus
// its flow b: the map cv::remap takes to pull a frame along b.
func Sources(maps, b []float32, w, h int) {
	SourcesRows(maps, b, w, 0, h)
}

// SourcesRows is Sources on rows y0 to y1 (exclusive) alone.
func SourcesRows(maps, b []float32, w, y0, y1 int) {
	for y := y0; y < y1; y++ {
		for x := range w {
			i := 2 * (y*w + x)
			maps[i] = float32(x) + b[i]
			maps[i+1] = float32(y) + b[i+1]
		}
	}
}
