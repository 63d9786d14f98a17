# imsguard — build, test, benchmark, fuzz.
GO       ?= go
BIN      ?= bin/imsguard
FUZZTIME ?= 10s
BENCHTIME ?= 1s
ROUNDS   ?= 6
ROUND    ?= 2s

.PHONY: help build run test bench bench-proxy load fuzz vet fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/imsguard
	$(GO) build -o $(BIN) ./cmd/imsguard

run: build ## build, then run the proxy demo (embedded default config, IMS stand-in)
	./$(BIN) demo

vet: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test: vet ## vet + all tests with the race detector (Go, Rego and end-to-end)
	$(GO) test -race -count=1 ./...

bench: ## run the benchmarks (BENCHTIME=1s)
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

bench-proxy: ## imsguard vs a tuned bare reverse proxy: the three-row throughput table (ROUNDS=6 rounds of ROUND=2s), then the tails at 2,000 req/s
	IMSGUARD_BENCH_ROUNDS=$(ROUNDS) $(GO) test -run='^$$' -bench='^BenchmarkProxy$$' -benchtime=$(ROUND) -count=1 -timeout=30m ./proxy/
	IMSGUARD_LOADTEST=1 $(GO) test -run='^TestLoadTail$$' -v -count=1 -timeout=30m ./proxy/

load: ## every load test (throughput, tails, shedding, 1 GiB uploads); minutes, wants an idle machine
	IMSGUARD_LOADTEST=1 $(GO) test -run='^Test(Load|E2EUploadMemory)' -v -count=1 -timeout=30m ./proxy/ ./cmd/imsguard/

fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output
	rm -rf bin
