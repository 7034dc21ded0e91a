package stylize

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// The first two members of OrtApiBase, stable across every ONNX Runtime
// release.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} vidstyle_api_base;

typedef const vidstyle_api_base *(*vidstyle_get_api_base)(void);

// vidstyle_ort_version opens the library and returns its version string
// without asking for an API version (a too-old library prints its own
// complaint on stderr when asked). NULL when it is not ONNX Runtime; the
// handle stays open: the binding opens the same library right after.
static const char *vidstyle_ort_version(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return NULL;
	vidstyle_get_api_base get = (vidstyle_get_api_base)dlsym(h, "OrtGetApiBase");
	if (!get) return NULL;
	const vidstyle_api_base *base = get();
	if (!base || !base->GetVersionString) return NULL;
	return base->GetVersionString();
}
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"
)

// APIVersion is the ONNX Runtime C API version the binding is built
// against; a library must be at least 1.APIVersion.
const APIVersion = 24

// libraryVersion returns the version string of the ONNX Runtime library at
// path, or "" when it cannot be opened or is not ONNX Runtime (the binding's
// own load then says why).
func libraryVersion(path string) string {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	v := C.vidstyle_ort_version(cpath)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}

// checkVersion refuses a library older than the C API the binding needs,
// naming both versions.
func checkVersion(version string) error {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return nil // unknown form: let the binding decide
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	if major < 1 || (major == 1 && minor < APIVersion) {
		return fmt.Errorf("version %s is too old: vidstyle needs ONNX Runtime 1.%d or newer (C API version %d)", version, APIVersion, APIVersion)
	}
	return nil
}
