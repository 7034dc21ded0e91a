package stylize

// LibraryVersion exposes libraryVersion to the external tests.
func LibraryVersion(path string) string { return libraryVersion(path) }

// InputPlanes exposes slot i's input tensor to tests: what the model sees.
func (s *Stylizer) InputPlanes(i int) []float32 { return s.slots[i].in.GetData() }
