# Makefile for Alluxio-Go: every target fans out over the Go modules.
MODULES  := proto common client master worker
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/alluxio-go/alluxio/common/version.Version=$(VERSION)
GO       ?= go
BIN      := $(CURDIR)/bin
TEST_TIMEOUT ?= 14m

.PHONY: all build test test-short lint vet fmt-check tidy proto proto-check build-modules bench clean

all: build

## build: the three binaries into bin/ (alluxio, alluxio-master, alluxio-worker)
build:
	cd master && $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/alluxio-master ./cmd/alluxio-master
	cd worker && $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/alluxio-worker ./cmd/alluxio-worker
	cd client && $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/alluxio ./cmd/alluxio

## build-modules: every module builds alone, without go.work
build-modules:
	@for m in $(MODULES); do echo "== GOWORK=off build $$m"; (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...) || exit 1; done

## test: the full suite (unit, component, end-to-end with the real binaries)
test: build
	@for m in $(MODULES); do echo "== test $$m"; (cd $$m && ALLUXIO_BIN_DIR=$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...) || exit 1; done

## test-short: unit tests only
test-short:
	@for m in $(MODULES); do (cd $$m && $(GO) test -short -count=1 ./...) || exit 1; done

## fuzz: each fuzz target briefly (FUZZTIME per target)
FUZZTIME ?= 10s
fuzz:
	@for m in $(MODULES); do \
	  (cd $$m && for pkg in $$($(GO) list ./...); do \
	    for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	      echo "== fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	    done; done) || exit 1; done

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: fmt-check vet

tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done

## proto: regenerate the Go code from proto/src
proto:
	proto/gen.sh

## proto-check: fail if regenerating changes the committed code
proto-check: proto
	@git diff --exit-code -- proto/alluxiopb proto/journalpb || (echo "generated protobuf code is stale: run make proto and commit" && exit 1)

## bench: the standard benchmark set (alluxio bench all, about 5 minutes) against a private local
## cluster started from bin/ (free ports, journal on the local disk, MEM tier on /dev/shm);
## rewrites its sections of docs/benchmarks.md and docs/benchmarks-create.png. BENCH_FLAGS adjusts
## sizes; the Go micro-benchmarks of every module run with bench-go.
BENCH_FLAGS ?= --clients 32 --duration 10s --step 3s --size 256MB --files 100000
bench: build
	$(BIN)/alluxio bench all --start-cluster --bin-dir $(BIN) --doc docs/benchmarks.md --plot docs/benchmarks-create.png $(BENCH_FLAGS)

## bench-memory: master memory per file and start-to-serving time at 10^6 files (about 10 minutes)
.PHONY: bench-memory bench-go
bench-memory: build
	$(BIN)/alluxio bench memory --start-cluster --bin-dir $(BIN) --files 1000000 --section memory-1m --doc docs/benchmarks.md

## bench-go: every module's Go micro-benchmarks, once each
bench-go:
	@for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchtime 1x ./...) || exit 1; done

## bench-failover: failover time (kill -9 and SIGTERM of the leader) at 10^4 and 10^6 files; writes docs/benchmarks.md
.PHONY: bench-failover
bench-failover: build
	cd client && ALLUXIO_BIN_DIR=$(BIN) ALLUXIO_BENCH=failover ALLUXIO_BENCH_OUT=$(CURDIR)/docs/benchmarks.md \
	  $(GO) test -count=1 -timeout 60m -run '^TestBenchFailover$$' -v ./e2e/

## torture: the long torture run (client/e2e/torture): 3 ZooKeeper servers, 3 masters, 2 workers,
## 4 clients and a nemesis injecting faults for DURATION, with the fault schedule and the clients'
## choices from SEED; then the history checker and the journal checks. Needs root for the leader
## partition (network namespaces). The summary goes to TORTURE_SUMMARY; process logs and the
## history to a run directory under TORTURE_OUT. See docs/reliability.md.
.PHONY: torture
DURATION ?= 30m
SEED ?= 1
TORTURE_OUT ?= /tmp/alluxio-torture
TORTURE_SUMMARY ?= $(TORTURE_OUT)/summary-seed$(SEED).txt
torture: build
	mkdir -p $(TORTURE_OUT)
	cd client && ALLUXIO_BIN_DIR=$(BIN) TORTURE_DURATION=$(DURATION) TORTURE_SEED=$(SEED) \
	  TORTURE_OUT=$(TORTURE_OUT) TORTURE_SUMMARY=$(TORTURE_SUMMARY) \
	  $(GO) test -count=1 -timeout 24h -run '^TestIntegrationTorture$$' -v ./e2e/torture/

clean:
	rm -f $(BIN)/alluxio $(BIN)/alluxio-master $(BIN)/alluxio-worker

## bench-journal: journal append throughput with group commit (1, 8, 32 writers of ~200-byte
## entries, each Flushing) on the local disk and on a real HDFS (common/hdfstest, started and
## stopped by the run), beside the raw write+Sync rate of each; rewrites the bench:journal
## section of docs/benchmarks.md. BENCH_JOURNAL_DURATION is each row's length.
.PHONY: bench-journal
BENCH_JOURNAL_DURATION ?= 10s
bench-journal:
	cd master && ALLUXIO_BENCH=journal ALLUXIO_BENCH_DURATION=$(BENCH_JOURNAL_DURATION) \
	  ALLUXIO_BENCH_OUT=$(CURDIR)/docs/benchmarks.md \
	  $(GO) test -count=1 -timeout 30m -run '^TestBenchJournal$$' -v ./internal/journalstore/
