#!/usr/bin/env bash
# Installs everything vidstyle needs on Debian 12 and builds bin/vidstyle.
# Idempotent: a second run only checks. Run as root (or with sudo).
#
#   scripts/setup.sh          system packages, ONNX Runtime (CPU) into lib/, bin/vidstyle
#   scripts/setup.sh --demo   the same, then stylize the clip that ships inside gocv
#                             into ./styled.mp4 (in the folder you ran it from)
#   scripts/setup.sh --gpu    also the CUDA/TensorRT provider libraries (about 230 MB)
set -euo pipefail

here=$(pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. scripts/common.sh

gpu=0
demo=0
for arg in "$@"; do
	case $arg in
	--gpu) gpu=1 ;;
	--demo) demo=1 ;;
	-h | --help)
		sed -n '2,9p' "$0"
		exit 0
		;;
	*)
		echo "setup: unknown option $arg (use --demo, --gpu)" >&2
		exit 2
		;;
	esac
done

say() { printf 'setup: %s\n' "$*" >&2; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# System packages. Everything the binary and the tests use comes from Debian
# (the last line: a virtual X server, key presses and screenshots for the
# preview window's tests, ip to bring up loopback in the tests' own network
# namespace, and Chromium for the web page's tests; nginx with its RTMP
# module is the media server the publish tests push to, run by the tests
# themselves, unprivileged: Debian's own nginx service is not needed).
packages=(
	ca-certificates git gcc g++ libc6-dev pkg-config
	libopencv-dev libx11-dev libxinerama-dev ffmpeg libvpx-dev
	xvfb xdotool imagemagick iproute2 chromium
	nginx libnginx-mod-rtmp
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm only fetches ONNX Runtime; a Node.js from elsewhere brings its own.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Go 1.24 or newer. Debian 12 ships 1.19, so when no recent Go is present the
# toolchain is taken from the Go module proxy (module golang.org/toolchain),
# fetched with Debian's Go.
go_version=1.26.8
if ! gobin=$(find_go); then
	say "no Go 1.24+ found: fetching go$go_version through the Go module proxy"
	command -v go >/dev/null || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends golang-go
	tmp=$(mktemp -d)
	dir=$(GOPATH="$tmp" GOFLAGS=-modcacherw go mod download -json "golang.org/toolchain@v0.0.1-go$go_version.linux-amd64" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { say "could not fetch the Go toolchain"; exit 1; }
	rm -rf "$root/.toolchain/go"
	mkdir -p "$root/.toolchain"
	cp -r "$dir" "$root/.toolchain/go"
	chmod -R u+w "$root/.toolchain/go"
	chmod +x "$root/.toolchain/go/bin/"* "$root/.toolchain/go/pkg/tool/"*/*
	rm -rf "$tmp"
	gobin=$(find_go) || { say "the fetched Go does not run"; exit 1; }
fi
say "using $("$gobin" version)"

# ONNX Runtime CPU library from the onnxruntime-node npm package (MIT), checked
# by sha256. npm pack fetches the tarball without running its install script.
ort_version=1.24.1
ort_sha256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
fetch_checked "onnxruntime-node@$ort_version" lib package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$ort_sha256"

# GPU providers (only on request; never in CI), checked by sha256 like the CPU
# library: the CUDA, TensorRT and shared provider libraries (about 230 MB) and
# the matching core library (1.29). At run time they need CUDA 13 and cuDNN 9
# from the system.
if [ "$gpu" = 1 ]; then
	gpu_dir=package/Plugins/Linux/x64
	fetch_checked com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 lib/gpu \
		"$gpu_dir/libonnxruntime_providers_cuda.so" 56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037 \
		"$gpu_dir/libonnxruntime_providers_shared.so" c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772 \
		"$gpu_dir/libonnxruntime_providers_tensorrt.so" ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320
	fetch_checked onnxruntime-node@1.29.0 lib/gpu \
		package/bin/napi-v6/linux/x64/libonnxruntime.so.1 89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d
	say "GPU libraries in lib/gpu: run with -ort-lib lib/gpu/libonnxruntime.so.1 -device cuda (needs CUDA 13 + cuDNN 9)"
fi

# The binary finds lib/ through ../lib next to bin/.
say "building bin/vidstyle"
"$gobin" build -o bin/vidstyle ./cmd/vidstyle
say "ready: $root/bin/vidstyle"

if [ "$demo" = 1 ]; then
	clip="$("$gobin" list -m -f '{{.Dir}}' gocv.io/x/gocv)/images/small.mp4"
	cd "$here"
	"$root/bin/vidstyle" -in "$clip" -out styled.mp4
fi
