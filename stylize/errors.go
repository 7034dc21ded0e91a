package stylize

import "errors"

// Errors callers can test with errors.Is.
var (
	// ErrLibrary means the ONNX Runtime shared library could not be used.
	ErrLibrary = errors.New("ONNX Runtime library")
	// ErrModel means a model could not be loaded or does not follow the
	// image contract.
	ErrModel = errors.New("model")
	// ErrDevice means the asked-for execution provider is not available.
	ErrDevice = errors.New("device")
	// ErrClosed means the Stylizer or Runtime was used after Close.
	ErrClosed = errors.New("closed")
	// ErrFrame means a frame does not fit the Stylizer (size, type).
	ErrFrame = errors.New("frame")
)
