# Every module of the repository, each tested on its own.
MODULES := . redisstore faulttest otelexample

.PHONY: test bench fuzz lint

# test runs every module's tests with the race detector. The Redis tests use
# $$REDIS_ADDR when set, or start a redis-server of their own on loopback.
test:
	@set -e; for m in $(MODULES); do \
		if [ -f $$m/go.mod ]; then echo "== go test -race $$m"; (cd $$m && go test -race -count=1 ./...); fi; \
	done

lint:
	@set -e; test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }; \
	for m in $(MODULES); do \
		if [ -f $$m/go.mod ]; then (cd $$m && go vet ./... && staticcheck ./...); fi; \
	done
