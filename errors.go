package vidstyle

import (
	"errors"
	"fmt"
)

// UsageError means the job was asked for wrongly (conflicting options, a
// size out of range, an output type that does not fit the input): the
// request has to change, not the machine.
type UsageError struct{ Err error }

// Error is the cause's text.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// usagef makes a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// IsUsage reports whether err (or an error it wraps) is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// ErrAborted means a job was aborted: nothing was written.
var ErrAborted = errors.New("aborted: no output written")

// ErrInUse means Engine.Close was called while a job, a live preview, a
// style set or a bench still used ONNX Runtime: it stays loaded.
var ErrInUse = errors.New("engine in use")
