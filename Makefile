# Developer shortcuts; scripts/ holds the real steps.
# A count (500000 runs, about a minute per target): a duration can end in Go
# 1.26's spurious "context deadline exceeded" (go.dev/issue/75804).
FUZZTIME ?= 500000x
FUZZ_TARGETS = models:FuzzParseSidecar models:FuzzParseGraph stream/web:FuzzWHEPOffer stream/web:FuzzAPI

SOAK_FRAMES ?= 20000

.PHONY: help setup test fuzz soak bench bench-live

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## install everything and build bin/vidstyle
	scripts/setup.sh

test: ## what CI runs: gofmt, vet, tests with -race, Mat leak checks, short fuzzing
	scripts/test.sh

fuzz: ## run each fuzz target for FUZZTIME runs (default 500000x) in a fresh network namespace
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		unshare -n sh -c "ip link set lo up && GOPROXY=off go test -run '^$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 50x ./$$pkg" || exit 1; \
	done

soak: ## the live path for SOAK_FRAMES painted frames (default 20000) with style switches and web viewers, Mat-counted
	unshare -n sh -c "ip link set lo up && VIDSTYLE_SOAK_FRAMES=$(SOAK_FRAMES) GOPROXY=off go test -tags matprofile -count=1 -timeout 0 -run '^TestSoak$$' -v ./live"

bench: ## vidstyle bench for the built-in style and udnie at 640x360
	bin/vidstyle bench -model toon
	bin/vidstyle bench -model ../shared/models/udnie.onnx -frames 16

bench-live: ## latency of the live preview under Xvfb
	scripts/bench-live.sh
