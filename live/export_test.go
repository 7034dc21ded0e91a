package live

import "context"

// DroppedForTest is the count of captured frames the paint loop never
// took (the model was slower than the source), for the tests' logs.
func (e *Engine) DroppedForTest() int64 { return e.frames.Dropped() }

// NewFileForTest is newFile, the snapshots' writer.
var NewFileForTest = newFile

// KeyForTest sends cmd as a window key does: nobody waits for its answer.
func (e *Engine) KeyForTest(ctx context.Context, cmd Command) {
	select {
	case e.requests <- request{cmd: cmd}:
	case <-ctx.Done():
	}
}
