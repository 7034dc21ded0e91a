package stylize

import (
	"errors"
	"testing"
)

// TestOneLineDropsSourceLocations: ONNX Runtime's errors lose the C++
// file, line and signature, and keep what a user can act on.
func TestOneLineDropsSourceLocations(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Error creating session: [ONNXRuntimeError] : 1 : FAIL : Load model from memory failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:181 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 999, max supported IR version: 13",
			"Load model from memory failed: Unsupported model IR version: 999, max supported IR version: 13"},
		{"Error running network: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running MaxPool node. Name:'pool' Status Message: /onnxruntime_src/onnxruntime/core/framework/execution_frame.cc:173 onnxruntime::common::Status onnxruntime::IExecutionFrame::GetOrCreateNodeOutputMLValue(int, int, const onnxruntime::TensorShape*, OrtValue*&, const onnxruntime::Node&) shape mismatch",
			"Non-zero status code returned while running MaxPool node. Name:'pool' Status Message: shape mismatch"},
		{"/onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:666 void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 3 by 5",
			"axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 3 by 5"},
		{"Non-zero status code returned while running Conv node. Name:'c1' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/nn/conv_attributes.h:140 onnxruntime::common::Status onnxruntime::ConvAttributes::ValidateInputShape(const onnxruntime::TensorShape&, const onnxruntime::TensorShape&, bool, bool) const [with T = float] X num_dims does not match W num_dims. X: {1,3,64} W: {32,3,9,9}",
			"Non-zero status code returned while running Conv node. Name:'c1' Status Message: X num_dims does not match W num_dims. X: {1,3,64} W: {32,3,9,9}"},
		{"Error running network: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: input for the following indices\n index: 2 Got: 120 Expected: 256\n Please fix either the inputs/outputs or the model.",
			"Got invalid dimensions for input: input for the following indices; index: 2 Got: 120 Expected: 256"},
		{"a plain message", "a plain message"},
		// The prefix is the first line's only: a later line is kept.
		{"first line\nsecond\n[ONNXRuntimeError] : 1 : FAIL : third", "first line; second; [ONNXRuntimeError] : 1 : FAIL : third"},
	} {
		if got := oneLine(errors.New(c.in)); got != c.want {
			t.Errorf("oneLine:\n got %q\nwant %q", got, c.want)
		}
	}
}

// TestProviderReasonNamesTheMissingLibrary: a GPU provider that is there but
// cannot find CUDA is told apart from a runtime with no providers at all.
func TestProviderReasonNamesTheMissingLibrary(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Failed to load library /opt/v/lib/gpu/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory",
			"needs libcublasLt.so.13, not found (" + gpuNeeds + "; or add their folder to LD_LIBRARY_PATH)"},
		{"Failed to load library /opt/v/lib/libonnxruntime_providers_cuda.so with error: /opt/v/lib/libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory",
			noGPUProviders},
		{"libonnxruntime_providers_shared.so: cannot open shared object file: No such file or directory", noGPUProviders},
		{"CUDA failure 100: no CUDA-capable device is detected", "CUDA failure 100: no CUDA-capable device is detected"},
	} {
		if got := (&providerError{"cuda", errors.New(c.in)}).reason(); got != c.want {
			t.Errorf("reason(%q):\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
