package vidstyle

import "github.com/vidstyle/vidstyle/models"

// SessionDevice is where e's sessions run (Engine.sessionDevice).
func SessionDevice(e *Engine) string { return e.sessionDevice() }

// ParseRate is parseRate.
func ParseRate(s string) (num, den int, ok bool) {
	r, err := ParseFramerate(s)
	return r.Num, r.Den, err == nil
}

// Borrowed reports whether e's runtime is one given to UseRuntime.
func Borrowed(e *Engine) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.borrowed
}

// Mirrored is Engine.mirrored.
func Mirrored(e *Engine, entry models.CatalogEntry) models.CatalogEntry { return e.mirrored(entry) }
