// Package vidstyle is the engine of the vidstyle tool: it paints video in the
// style of an artwork with a neural image transform net (Johnson et al.
// 2016) run by ONNX Runtime, and can be embedded in other Go programs.
//
// An [Engine] holds what a process loads once — the ONNX Runtime library,
// the models folder, the download catalog — and does the jobs:
//
//   - [Engine.Transcode] stylizes a video file or an image into another file,
//     keeping the size, frame rate and audio; [Engine.Open] does the same in
//     steps, for a caller that wants to switch styles while it runs.
//   - [Engine.Styles] resolves a -model value (a file, a name in the models
//     folder, a built-in style or a catalog name, pulled on first use) into
//     the sessions of a [stylize.StyleSet], which the live engine in package
//     live paints with.
//   - [Engine.Pull] and [Engine.Import] store models in the models folder,
//     rewritten to run at any frame size and checked by running them.
//   - [Engine.Bench] measures a model and the whole pipeline.
//
// Configuration is typed structs; logs go to the injected *slog.Logger and
// progress to callbacks. Errors a caller caused by what it asked for are
// [*UsageError]s (the command line exits 2 for them); others are runtime
// errors.
//
// ONNX Runtime keeps one environment per process, so a process has one
// Engine at a time: Close it before making another.
package vidstyle
