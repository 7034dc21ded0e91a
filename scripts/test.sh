#!/usr/bin/env bash
# Runs every check CI runs: gofmt, go vet, go mod tidy, all tests with the
# race detector, the OpenCV Mat leak checks (-tags matprofile), and each
# fuzz target for a few seconds.
# Needs what scripts/setup.sh installs. Extra arguments go to both go test runs
# (for example -run TestBadInput).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/common.sh
gobin=$(find_go) || { echo "test: no Go 1.24+ found: run scripts/setup.sh first" >&2; exit 1; }
export PATH="$(dirname "$gobin"):$PATH" # the tests run go build and go list
[ -f lib/libonnxruntime.so.1 ] || { echo "test: lib/libonnxruntime.so.1 is missing: run scripts/setup.sh first" >&2; exit 1; }
# An ONNX Runtime older than the binding's C API, for the test of that error.
fetch_checked onnxruntime-node@1.16.3 lib/test \
	package/bin/napi-v3/linux/x64/libonnxruntime.so.1.16.3 ce3752ba35018ee6d8127ff4cba955b68b9c8b8b0fed8798a8f2e5c4c5a35fa5
[ -d ../shared/models ] || echo "test: ../shared/models is absent: tests with pretrained models will be skipped" >&2

step() { printf '\n== %s\n' "$*" >&2; }
step gofmt
bad=$(gofmt -l .)
[ -z "$bad" ] || { echo "not gofmt-ed: $bad" >&2; exit 1; }
step go vet
go vet ./...
go vet -tags matprofile ./...
step go mod tidy
go mod tidy -diff
# The tests run in a fresh network namespace with only loopback up, so that
# no WebRTC, HTTP or browser packet can leave the machine. Modules are
# fetched first; inside, the Go proxy is off.
go mod download
in_netns() {
	if unshare -n true 2>/dev/null; then
		GOPROXY=off unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
	else
		echo "test: cannot create a network namespace (needs root): running on the host's loopback" >&2
		"$@"
	fi
}
step "go test -race (in a fresh network namespace)"
# -timeout: the binary's tests (cmd/vidstyle) run for several minutes under
# -race on 2 cores, past go test's default of 10 per package.
in_netns go test -race -count=1 -timeout 30m "$@" ./...
step "go test -tags matprofile (Mat leaks)"
# Without -race: it also runs the binary's tests of what it makes of media
# and models (TestRealWorld, TestModelsQuantize…), which the -race pass
# skips (cmd/vidstyle's notUnderRace).
# -timeout as above: cmd/vidstyle's tests run past 10 minutes here too.
in_netns go test -tags matprofile -count=1 -timeout 30m "$@" . ./capture ./stylize ./live ./flow ./eval ./temporal ./cmd/vidstyle
if [ $# -eq 0 ]; then
	step "fuzzing, a few seconds per target (make fuzz runs them longer)"
	# New inputs are minimized for at most 50 runs: with Go's default (60 s
	# each) an input whose new coverage does not reproduce exactly stalls
	# the workers at 0 execs/s for a minute.
	# The budget is a count, not a duration: with -fuzztime 30000x, Go 1.26's
	# coordinator can report its own deadline as a failure ("context
	# deadline exceeded", no crasher written; go.dev/issue/75804, fixed in
	# 1.27). 30000 runs take about 4 s per target on 2 cores.
	for t in models:FuzzParseSidecar models:FuzzParseGraph stream/web:FuzzWHEPOffer stream/web:FuzzAPI; do
		in_netns go test -run '^$' -fuzz "^${t##*:}\$" -fuzztime 30000x -fuzzminimizetime 50x "./${t%%:*}"
	done
fi
