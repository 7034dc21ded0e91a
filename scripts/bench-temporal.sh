#!/usr/bin/env bash
# The temporal stabilisation table of BENCHMARKS.md: for each clip and
# style, stylize lossless with -temporal 0 (off) and with the default (on),
# then judge both with vidstyle eval (Farneback flow, not the stabiliser's
# DIS). Prints one Markdown row per clip × style.
#
#   scripts/bench-temporal.sh [-size WxH] [-frames N] [-temporal A] CLIP... -- MODEL...
#
# Real clips: gocv's small.mp4, and opencv-doc's (apt-get install
# opencv-doc) vtest.avi (walking people), cup.mp4.gz (a hand-held cup,
# gunzip it first) and Megamind.avi (a film scene).
set -euo pipefail
size=320x240 frames=60 temporal=""
while [ $# -gt 0 ]; do
	case $1 in
	-size) size=$2; shift 2 ;;
	-frames) frames=$2; shift 2 ;;
	-temporal) temporal="-temporal $2"; shift 2 ;;
	--) shift; break ;;
	*) clips+=("$1"); shift ;;
	esac
done
models=("$@")
bin=${VIDSTYLE:-bin/vidstyle}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| clip | style | E_warp off ×10⁻³ | on | floor | reduction | texture kept | deviation (moving) |"
echo "|---|---|---|---|---|---|---|---|"
for clip in "${clips[@]}"; do
	for model in "${models[@]}"; do
		"$bin" -q -in "$clip" -out "$tmp/off.mkv" -model "$model" -size "$size" -frames "$frames" -crf 0 -temporal 0
		# shellcheck disable=SC2086
		"$bin" -q -in "$clip" -out "$tmp/on.mkv" -model "$model" -size "$size" -frames "$frames" -crf 0 $temporal
		"$bin" eval -q -json -in "$clip" -out "$tmp/on.mkv" -ref "$tmp/off.mkv" >"$tmp/r.json"
		python3 - "$tmp/r.json" "$(basename "$clip")" "$(basename "$model" .onnx)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
clip, style = sys.argv[2], sys.argv[3]
print(f"| {clip} | {style} | {1e3*r['ref_e_warp']:.3f} | {1e3*r['e_warp']:.3f} | {1e3*r['e_warp_floor']:.3f} | "
      f"{-100*r.get('reduction',0):+.0f} % | {r.get('texture_kept',0):.2f} | {r.get('deviation',0):.2f} ({r.get('deviation_moving',0):.2f}) |")
PY
	done
done
