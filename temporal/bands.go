package temporal

import "sync"

// bandRows is the height of the bands the per-pixel steps are cut into. It
// is fixed, not set by the number of goroutines, so that the sums over a
// frame are added in the same order, and the frames come out the same to
// the bit, however many goroutines run the bands.
const bandRows = 32

// bandsOf is the number of bands of h rows.
func bandsOf(h int) int { return (h + bandRows - 1) / bandRows }

// rowsOf is the rows of band b of h: y0 to y1, exclusive.
func rowsOf(b, h int) (y0, y1 int) { return b * bandRows, min((b+1)*bandRows, h) }

// pool runs the parts of a step on long-lived goroutines, so that a frame
// starts none and allocates nothing. A pool of one runs everything on the
// caller's goroutine.
type pool struct {
	tasks   chan task
	stopped sync.WaitGroup
}

type task struct {
	fn func(i int)
	i  int
	wg *sync.WaitGroup
}

func newPool(workers int) *pool {
	p := &pool{}
	if workers > 1 {
		p.tasks = make(chan task, 256)
		for range workers - 1 { // the caller is the last one
			p.stopped.Add(1)
			go p.work()
		}
	}
	return p
}

func (p *pool) work() {
	defer p.stopped.Done()
	for t := range p.tasks {
		t.fn(t.i)
		t.wg.Done()
	}
}

// run calls fn(0) … fn(n−1) and returns when all have returned: fn(0) on
// the caller's goroutine, the others on the pool's. wg is the caller's own
// (one for each goroutine that calls run); fn must not call run. fn is made
// once, not per frame: a closure made per call would be an allocation.
func (p *pool) run(wg *sync.WaitGroup, n int, fn func(i int)) {
	if p.tasks == nil || n == 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	wg.Add(n - 1)
	for i := 1; i < n; i++ {
		p.tasks <- task{fn, i, wg}
	}
	fn(0)
	wg.Wait()
}

// close stops the goroutines once they are done with what they were given.
func (p *pool) close() {
	if p.tasks != nil {
		close(p.tasks)
		p.stopped.Wait()
	}
}
