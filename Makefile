# Interlock: `make test` is the one command that runs every test (CI runs it too).
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 10s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN := $(CURDIR)/bin
LIBSIGNAL_PEER := node $(CURDIR)/interop/libsignal/peer.js

.PHONY: test unit vectors interop mutants fuzz-smoke bench generate lint peers tools clean

## The stages run in this order, each timed. The vectors under testdata/ run in unit (every
## test, with -race); `make vectors` runs the known-answer tests alone.
TEST_STAGES := lint unit interop fuzz-smoke
test:
	@t0=$$(date +%s); for s in $(TEST_STAGES); do \
		echo "make test: $$s started $$(date -u +%H:%M:%S) UTC"; t=$$(date +%s); \
		$(MAKE) --no-print-directory $$s || { echo "make test: $$s FAILED after $$(( $$(date +%s) - t )) s"; exit 1; }; \
		echo "make test: $$s passed in $$(( $$(date +%s) - t )) s"; \
	done; echo "make test: all stages passed in $$(( $$(date +%s) - t0 )) s"

## unit: the library's tests with the race detector (vectors under testdata/ included).
## PostgreSQL comes from scripts/start-postgres.sh (installed and started if needed); the
## store tests fail without it here. The race detector slows the pure-Go SQLite tenfold, so
## the full-size store stress test (50,000 messages) runs once more without it, and so does
## the multi-process soak (issue #19: 4 workers, SIGKILLed and restarted, ~1 minute; its
## closing lines state messages, kills and duplicates). So does the full conformance run
## of cmd/interlock (no concurrency of its own; ~10x slower under -race), side by side
## with the store stress test, and the 200-kill crash test of DecryptAndCommit (issue #16;
## 20 kills under -race, where the race-built children mostly die before decrypting).
## go test starts packages in the order given: the longest under -race go first, so that
## the last minutes do not run one package on one core. internal/kem and session also run
## with -tags purego (issue #18: the fallback without the VZEROUPPER stub stays tested).
UNIT_FIRST := ./store/sqlstore/ ./session/ ./cmd/interlock/ ./media/
unit:
	url=$$(scripts/start-postgres.sh) && soak=$$(mktemp) && \
	INTERLOCK_REQUIRE_POSTGRES=1 INTERLOCK_POSTGRES_URL="$$url" \
		$(GO) test -race -count=1 -skip '^TestLiveReport' $(UNIT_FIRST) ./... && \
	$(GO) test -tags purego -count=1 ./internal/kem/ ./session/ && \
	INTERLOCK_REQUIRE_POSTGRES=1 INTERLOCK_POSTGRES_URL="$$url" \
		$(GO) test -count=1 -timeout 20m -run '^(TestConcurrentConversations|TestIssue16AppCommitCrash|TestIssue17Item1ConformanceExitStatus)$$' \
		./store/sqlstore/ ./cmd/interlock/ && \
	INTERLOCK_REQUIRE_POSTGRES=1 INTERLOCK_POSTGRES_URL="$$url" \
		$(GO) test -count=1 -v -timeout 300s -run '^TestMultiProcessSoak$$' ./store/sqlstore/ > "$$soak"; \
	rc=$$?; grep -E '^(soak |--- |\s+soak_test|FAIL|ok|panic)' "$$soak" 2>/dev/null; rm -f "$$soak"; exit $$rc

## vectors: the known-answer tests only (also part of unit); a missing vector file fails.
vectors:
	$(GO) test -count=1 -run 'Vector|Recorded|Libsignal|Wycheproof|RFC|KAT' -skip '^TestLiveReport' ./...

peers: $(BIN)/interlock $(BIN)/mau-peer $(BIN)/interop-driver interop/libsignal/node_modules/.installed \
	interop/baileys/node_modules/.installed

$(BIN)/interlock: FORCE
	$(GO) build -o $@ ./cmd/interlock
$(BIN)/mau-peer: FORCE
	cd interop/mau && $(GO) build -o $@ ./cmd/mau-peer
$(BIN)/interop-driver: FORCE
	cd interop && $(GO) build -o $@ ./cmd/interop-driver
interop/libsignal/node_modules/.installed: interop/libsignal/package-lock.json
	cd interop/libsignal && npm ci --no-audit --no-fund
	touch $@
## interop/baileys: Baileys 7.0.0-rc14 over npm libsignal 6.0.0, for the Baileys import proof (#15).
interop/baileys/node_modules/.installed: interop/baileys/package-lock.json
	cd interop/baileys && npm ci --ignore-scripts --no-audit --no-fund
	touch $@
FORCE:

## interop: the peers' own tests, then the driver over every pairing.
interop: peers
	cd interop && $(GO) test -race -count=1 ./...
	cd interop/mau && $(GO) test -count=1 ./...
	scripts/interop.sh $(BIN) "$(LIBSIGNAL_PEER)"
	f=$$(mktemp) && $(GO) run ./sealedsender/internal/v2gen -o $$f && node interop/libsignal/check-sealed-v2.js $$f; rc=$$?; rm -f $$f; exit $$rc
	INTERLOCK_PEERS_BIN=$(BIN) $(GO) test -count=1 -run '^TestLiveReport' -skip '^TestLiveReportMutants$$' ./conformance/ ./conformance/live/
	$(MAKE) --no-print-directory mutants

## mutants: the mutation test of the conformance report (issue #21): Interlock
## built with -tags interlock_mutants, `interlock conformance --mutants` runs the
## report against each planted defect; every mutant must be killed. The score is
## in the report's own JSON, bin/conformance-mutants.json.
mutants: $(BIN)/interlock
	set -o pipefail; INTERLOCK_PEERS_BIN=$(BIN) INTERLOCK_MUTANTS_REPORT=$(BIN)/conformance-mutants.json \
		$(GO) test -count=1 -v -run '^TestLiveReportMutants$$' ./conformance/ | tee $(BIN)/mutants.log
	@grep -o 'mutants: [0-9]* killed / [0-9]* total' $(BIN)/mutants.log | tail -1

## fuzz-smoke: every fuzz target for $(FUZZTIME).
fuzz-smoke:
	scripts/fuzz-smoke.sh $(FUZZTIME)

## bench: Interlock side by side with go.mau.fi/libsignal v0.2.1 (bench/ module)
## and libsignal 0.90/0.103 (interop/libsignal/bench.js), then one table with
## the Interlock/mau and protocol/primitives ratios (bench/cmd/benchtable).
## BENCHCOUNT runs per benchmark (noise: see bench/README.md); BENCH selects
## benchmarks, e.g. BENCH='Setup|Steady|PingPong|Reverse|Record|Primitives'.
BENCHCOUNT ?= 5
BENCHTIME ?= 1s
BENCH ?= .
bench: interop/libsignal/node_modules/.installed
	@mkdir -p $(BIN)
	set -o pipefail; cd bench && $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) -benchtime $(BENCHTIME) . | tee $(BIN)/bench-go.txt
	set -o pipefail; node interop/libsignal/bench.js --count $(BENCHCOUNT) | tee $(BIN)/bench-node.txt
	set -o pipefail; cd bench && $(GO) run ./cmd/benchtable $(BIN)/bench-go.txt $(BIN)/bench-node.txt | tee $(BIN)/bench-table.txt

## generate: regenerate proto/signalpb from proto/*.proto (protoc from Debian's protobuf-compiler).
generate:
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=. \
		--go_opt=module=github.com/interlock-e2ee/interlock -I proto proto/wire.proto proto/storage.proto proto/fingerprint.proto proto/sealed_sender.proto proto/signalservice.proto

## lint: gofmt, go vet and staticcheck over every module.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	cd interop && $(GO) vet ./...
	cd interop/mau && $(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd interop && $(GO) run $(STATICCHECK) ./...
	cd interop/mau && $(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN)
