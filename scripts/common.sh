# Sourced by the other scripts: where things are.

# find_go prints the path of a Go 1.24+ toolchain: on PATH, in /usr/local/go,
# or the one scripts/setup.sh fetched into .toolchain/.
find_go() {
	local g
	for g in go /usr/local/go/bin/go "$root/.toolchain/go/bin/go"; do
		if command -v "$g" >/dev/null && "$g" version 2>/dev/null | grep -Eq 'go1\.(2[4-9]|[3-9][0-9])'; then
			command -v "$g"
			return 0
		fi
	done
	return 1
}

# fetch_checked package@version folder member sha256 [member sha256 …]:
# files out of an npm package's tarball into folder, each under its base
# name and checked by its sha256 (npm pack does not run the package's install
# script). Files already there with the right sha256 are kept; the others
# come from one download. A mismatch fails and installs none of them.
fetch_checked() {
	local pkg=$1 dir=$2 tmp i
	shift 2
	if [ $# -eq 0 ] || [ $(($# % 2)) -ne 0 ]; then
		printf '%s: fetch_checked %s: want member sha256 pairs\n' "$(basename "$0")" "$pkg" >&2
		return 2
	fi
	local members=() sums=()
	while [ $# -gt 0 ]; do
		members+=("$1")
		sums+=("$2")
		shift 2
	done
	local want=()
	for i in "${!members[@]}"; do
		echo "${sums[i]}  $dir/${members[i]##*/}" | sha256sum -c --status 2>/dev/null || want+=("$i")
	done
	[ ${#want[@]} -gt 0 ] || return 0
	printf '%s: fetching %s (npm) into %s\n' "$(basename "$0")" "$pkg" "$dir" >&2
	tmp=$(mktemp -d)
	local paths=()
	for i in "${want[@]}"; do
		paths+=("${members[i]}")
	done
	if ! (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar -xzf ./*.tgz "${paths[@]}"); then
		rm -rf "$tmp"
		printf '%s: could not fetch %s\n' "$(basename "$0")" "$pkg" >&2
		return 1
	fi
	for i in "${want[@]}"; do
		if ! echo "${sums[i]}  $tmp/${members[i]}" | sha256sum -c --status; then
			rm -rf "$tmp"
			printf '%s: checksum mismatch for %s in %s\n' "$(basename "$0")" "${members[i]}" "$pkg" >&2
			return 1
		fi
	done
	mkdir -p "$dir"
	for i in "${want[@]}"; do
		mv "$tmp/${members[i]}" "$dir/${members[i]##*/}"
	done
	rm -rf "$tmp"
}
