package temporal

// OnFlow sets the hook the flow's goroutine and Output call at each
// FlowEvent. Set it before the first Input.
func OnFlow(s *Stabilizer, fn func(ev FlowEvent, slot int)) { s.onFlow = fn }
