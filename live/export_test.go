package live

// DroppedForTest is the count of captured frames the paint loop never
// took (the model was slower than the source), for the tests' logs.
func (e *Engine) DroppedForTest() int64 { return e.frames.Dropped() }

// NewFileForTest is newFile, the snapshots' writer.
var NewFileForTest = newFile
