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
