# Every module of the repository, each tested on its own; go.work joins them.
MODULES := $(patsubst %/go.mod,%,$(wildcard go.mod */go.mod))
MODULES := . $(filter-out go.mod,$(MODULES))
# FUZZTIME is each fuzz target's budget: a count of executions (20000x) or a
# duration (5s).
FUZZTIME ?= 20000x

.PHONY: test bench fuzz lint consumer

# test runs every module's tests with the race detector. The Redis tests use
# $$REDIS_ADDR when set, or start a redis-server of their own on loopback.
test:
	@set -e; for m in $(MODULES); do \
		echo "== go test -race $$m"; (cd $$m && go test -race -count=1 ./...); \
	done

# bench reproduces BENCHMARKS.md (see scripts/bench.sh for its knobs).
bench:
	bash scripts/bench.sh

# fuzz runs every fuzz target of every module for FUZZTIME, found with
# go test -list, so a new target is fuzzed without being listed here.
fuzz:
	@set -e; for m in $(MODULES); do \
		(cd $$m && go test -list '^Fuzz' ./... | awk '/^Fuzz/ {t = t " " $$1} /^ok/ {if (t != "") print $$2 t; t = ""}') | \
		while read -r pkg targets; do \
			for t in $$targets; do \
				echo "== fuzz $$pkg $$t"; \
				(cd $$m && go test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) -timeout=10m "$$pkg"); \
			done; \
		done; \
	done

lint:
	@set -e; test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }; \
	for m in $(MODULES); do \
		(cd $$m && go vet ./... && staticcheck ./...); \
	done

# consumer proves that a module outside the repository that requires the
# store modules builds with only what a user would write.
consumer:
	bash scripts/consumer-check.sh
