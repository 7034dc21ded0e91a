package stylize

// SharedRuntime gives the external tests the runtime TestMain loaded.
func SharedRuntime() *Runtime { return testRT }

// InputPlanes exposes slot i's input tensor to tests: what the model sees.
func (s *Stylizer) InputPlanes(i int) []float32 { return s.slots[i].in.GetData() }
