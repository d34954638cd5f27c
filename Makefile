# mispdesk: build, run and test. "make help" lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO      ?= go
BIN     := bin/mispdesk
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X mispdesk/assets.Version=$(VERSION)

# staticcheck is a tool binary, not a module dependency. 2026.2.2 (v0.8.2) is
# the first release line built for Go 1.26.
STATICCHECK_VERSION := v0.8.2
GOBIN       := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
STATICCHECK := $(GOBIN)/staticcheck

.PHONY: build run test race mutate bench bench-all lint help staticcheck clean

build: ## build bin/mispdesk: static (CGO_ENABLED=0), version stamped from git
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mispdesk

run: build ## build, then open the console on the default database (ARGS="..." to pass arguments)
	./$(BIN) $(ARGS)

# staticcheck is installed (built from source on a fresh machine) and run in the
# background while go vet and the tests run, so its build overlaps theirs; its output is
# printed after the tests and its exit status decides with theirs.
# Every test runs once without the race detector; then the race detector runs, with
# -short, the tests of the packages whose code starts goroutines (RACE_PKGS: the store's
# writers, the engine, outbox and daemon, feed fetches, the client, serve and log
# --follow; the REST handlers run concurrently under the engine's tests). -short leaves
# out the data-heavy tests (whole fixture feeds, bombs, 10,000 property sequences, 200
# events where 40 show the same): instrumented, the pure-Go SQLite makes them 10-20
# times slower while they exercise no concurrency the others do not. RACE_SKIP leaves out,
# for the same reason, the sharing-rule scenario tables run over the wire (MISP's sync
# suite, item by item, and the book's tables): many instances doing what the smaller
# two- and three-instance tests that stay in the race pass already do at once.
RACE_PKGS := ./store ./syncer ./syncer/feed ./syncer/remote ./cmd/...
RACE_SKIP := ^TestSuite|^TestScenarioTablesOverTheWire$$
test: ## go vet, staticcheck (alongside the tests), go test ./..., go test -race -short on RACE_PKGS but RACE_SKIP
	@sclog="$$(mktemp)"; trap 'rm -f "$$sclog"' EXIT; \
	{ $(MAKE) --no-print-directory staticcheck && $(STATICCHECK) ./...; } > "$$sclog" 2>&1 & sc=$$!; \
	status=0; \
	$(GO) vet ./... || status=$$?; \
	$(GO) test ./... || status=$$?; \
	$(GO) test -race -short -skip '$(RACE_SKIP)' $(RACE_PKGS) || status=$$?; \
	scstatus=0; wait $$sc || scstatus=$$?; \
	echo "staticcheck:"; cat "$$sclog"; \
	if [ $$scstatus -ne 0 ]; then echo "staticcheck failed (exit $$scstatus)"; status=1; fi; \
	exit $$status

race: ## the race detector over every package and every test (slow: the instrumented SQLite)
	$(GO) test -race ./...

mutate: ## the mutation check of the sharing rules: plants one-line bugs in policy and the gate, and fails unless the tests catch every one
	$(GO) run ./.ci/mutate

bench: ## import speed vs raw inserts and as the store grows; 2,000 events synced by pull and push; a 200,000-attribute event; nothing new over 100,000; correlation's cost on import and pull; then the ratios
	@out="$$(mktemp)"; trap 'rm -f "$$out"' EXIT; \
	$(GO) test -run '^$$' -bench 'BenchmarkImportFeed|BenchmarkRawAttributeInsert|BenchmarkCorrelationImport' -benchtime 5x ./store/ | tee "$$out"; \
	$(GO) test -run '^$$' -bench 'BenchmarkImportGrowth|BenchmarkCorrelateMany' -benchtime 1x -timeout 60m ./store/ | tee -a "$$out"; \
	$(GO) test -run '^$$' -bench 'BenchmarkSync$$|BenchmarkSyncCorrelation|BenchmarkPullBigEvent|BenchmarkPullNothingNew' -benchtime 1x -timeout 60m ./syncer/ | tee -a "$$out"; \
	awk -f .ci/bench-ratios.awk "$$out"

bench-all: ## every benchmark of every package, with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

lint: staticcheck ## check formatting (gofmt -l), go vet and staticcheck
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

staticcheck: ## install the pinned staticcheck into GOBIN when missing or of another version
	@if ! "$(STATICCHECK)" -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))'; then \
		echo "installing staticcheck $(STATICCHECK_VERSION) into $(GOBIN)"; \
		GOBIN="$(GOBIN)" $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi

clean: ## remove bin/
	rm -rf bin

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
