# Keyward developer tasks. `make test` is also what CI runs.
#
# KEYWARD_TEST_POSTGRES_URL, when set in the environment, makes the store and
# handler tests run on PostgreSQL as well as SQLite; make passes it through,
# and KEYWARD_TEST_CHROMIUM (a Chromium binary) the same way for the browser
# tests. Extra flags: make test TESTFLAGS='-run TestVerify -v'; make run ARGS=migrate.

GO ?= go
BIN := bin/keyward
TESTFLAGS ?=
ARGS ?=

.PHONY: all run test generate lint bench build clean

all: lint test build

run:
	$(GO) run ./cmd/keyward $(ARGS)

test:
	$(GO) test -count=1 $(TESTFLAGS) ./...

generate:
	$(GO) tool templ generate

lint:
	@files="$$(git ls-files --cached --others --exclude-standard '*.go')"; \
	bad="$$(if [ -n "$$files" ]; then gofmt -l $$files; fi)"; \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...

bench:
	bash scripts/bench.sh

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/keyward

clean:
	rm -rf bin
