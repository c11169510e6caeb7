# Interlock: `make test` is the one command that runs every test (CI runs it too).
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 10s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN := $(CURDIR)/bin
LIBSIGNAL_PEER := node $(CURDIR)/interop/libsignal/peer.js

.PHONY: test unit vectors interop fuzz-smoke bench generate lint peers tools clean

test: lint unit vectors interop fuzz-smoke
	@echo "make test: all stages passed"

## unit: the library's tests with the race detector (vectors under testdata/ included).
unit:
	INTERLOCK_REQUIRE_VECTORS=1 $(GO) test -race -count=1 ./...

## vectors: the known-answer tests only (also part of unit), strict about missing files.
vectors:
	INTERLOCK_REQUIRE_VECTORS=1 $(GO) test -count=1 -run 'Vector|Recorded|Libsignal|Wycheproof|RFC|KAT' ./...

peers: $(BIN)/interlock $(BIN)/mau-peer $(BIN)/interop-driver interop/libsignal/node_modules/.installed

$(BIN)/interlock: FORCE
	$(GO) build -o $@ ./cmd/interlock
$(BIN)/mau-peer: FORCE
	cd interop/mau && $(GO) build -o $@ ./cmd/mau-peer
$(BIN)/interop-driver: FORCE
	cd interop && $(GO) build -o $@ ./cmd/interop-driver
interop/libsignal/node_modules/.installed: interop/libsignal/package-lock.json
	cd interop/libsignal && npm ci --no-audit --no-fund
	touch $@
FORCE:

## interop: the peers' own tests, then the driver over every pairing.
interop: peers
	cd interop && $(GO) test -race -count=1 ./...
	cd interop/mau && $(GO) test -count=1 ./...
	scripts/interop.sh $(BIN) "$(LIBSIGNAL_PEER)"

## fuzz-smoke: every fuzz target for $(FUZZTIME).
fuzz-smoke:
	scripts/fuzz-smoke.sh $(FUZZTIME)

## bench: the library's micro-benchmarks (side-by-side benchmarks live in bench/).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## generate: regenerate proto/signalpb from proto/*.proto (protoc from Debian's protobuf-compiler).
generate:
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=. \
		--go_opt=module=github.com/interlock-e2ee/interlock -I proto proto/wire.proto proto/storage.proto

## lint: gofmt, go vet and staticcheck over every module.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	cd interop && $(GO) vet ./...
	cd interop/mau && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd interop && $(GO) run $(STATICCHECK) ./...
	cd interop/mau && $(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN)
