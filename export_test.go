package vidstyle

// SessionDevice is where e's sessions run (Engine.sessionDevice).
func SessionDevice(e *Engine) string { return e.sessionDevice() }
