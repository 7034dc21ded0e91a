#!/usr/bin/env bash
# Measures the live preview's latency (capture → on screen) under a virtual X
# server: a file played as a camera (-live -loop), one model, for each
# processing size given (default 320x180 and 640x360). Prints the last
# "live:" report of each run.
#
#   scripts/bench-live.sh [MODEL] [SIZE…]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=${1:-$root/../shared/models/udnie.onnx}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(320x180 640x360)
. "$root/scripts/common.sh"
gobin=$(find_go)
clip="$(cd "$root" && "$gobin" list -m -f '{{.Dir}}' gocv.io/x/gocv)/images/small.mp4"
for size in "${sizes[@]}"; do
	out=$(xvfb-run -a -s "-screen 0 1280x720x24 -nolisten tcp" timeout -s INT 25 \
		"$root/bin/vidstyle" -in "$clip" -live -loop -model "$model" -size "$size" -stats-period 10s 2>&1 || true)
	echo "$size: $(grep 'live: shown' <<<"$out" | tail -1)"
done
