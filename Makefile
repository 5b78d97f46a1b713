# Registrar: a Go custom handler for Azure Functions.
#   make run      the local runner on http://127.0.0.1:7071 (no Azure needed)
#   make test     install what the tests need, vet, and run every test
#   make bench    run the benchmarks and print a table
#   make fuzz     explore with each fuzz target for FUZZTIME (make test runs their committed corpora)
#   make package  build dist/: host.json, functions/*, the static linux/amd64 `handler`, and
#                 local.settings.json (from the sample) so that `func start` runs in dist/
#   make lint     gofmt, go vet, and shapecheck (functions of at most 60 lines and complexity 15)

GO      ?= go
DIST    ?= dist
LOCAL_SETTINGS ?= yes
PKGS    ?= ./...
BENCH_PKGS = $(shell $(GO) list -f '{{if .TestGoFiles}}{{.ImportPath}}{{end}}' ./... 2>/dev/null | while read p; do \
	d=$$($(GO) list -f '{{.Dir}}' $$p); grep -ql '^func Benchmark' $$d/*_test.go 2>/dev/null && echo $$p; done)

.PHONY: run test deps chromium bench fuzz package lint clean

run:
	$(GO) run ./cmd/devhost

# node_modules is (re)installed when missing or older than package-lock.json.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json
	$(GO) mod download

# The dashboard's browser tests drive Debian's Chromium; CI runs as root on a fresh machine.
chromium:
	command -v chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

test: deps chromium
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m $(PKGS)

# Every benchmark's line, then one table of the performance targets: the rows the benchmarks log
# through shared/testkit/benchtable (figure, Registrar, floor from the same run, ratio, target, pass).
bench: deps
	@pkgs="$(BENCH_PKGS)"; \
	if [ -z "$$pkgs" ]; then echo "no benchmarks"; exit 0; fi; \
	$(GO) test -count=1 -timeout 60m -run '^$$' -bench . -benchmem $$pkgs | \
	awk '/^Benchmark/ { printf "%-60s %14s %-6s", $$1, $$3, $$4; for (i = 5; i <= NF; i++) printf " %s", $$i; printf "\n" } \
	/^(ok|FAIL|pkg:)/ { print } \
	/\tbenchtable\t/ || /: benchtable\t/ { sub(/^.*benchtable\t/, ""); gsub(/\t/, " | "); rows[++n] = "| " $$0 " |" } \
	END { if (n) { print "\n| Figure | Registrar | Floor | Ratio | Target | Met |\n|---|---|---|---|---|---|"; \
	for (i = 1; i <= n; i++) print rows[i] } }'

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./shared/domain
	$(GO) test -run '^$$' -fuzz '^FuzzEnvelope$$' -fuzztime $(FUZZTIME) ./shared/functions

package:
	rm -rf $(DIST)
	mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '-s -w' -o $(DIST)/handler ./cmd/handler
	cp host.json $(DIST)/
	cp -r functions/* $(DIST)/
	@# Core Tools (`func start` in dist/) reads local.settings.json; azd deploys without it
	@# (LOCAL_SETTINGS=no), and .funcignore keeps `func azure functionapp publish` from uploading it.
	if [ "$(LOCAL_SETTINGS)" != no ]; then cp local.settings.sample.json $(DIST)/local.settings.json; fi
	printf 'local.settings.json\n' > $(DIST)/.funcignore
	@test -x $(DIST)/handler && test -f $(DIST)/host.json && \
	for f in functions/*/function.json; do test -f $(DIST)/$${f#functions/} || { echo "missing $${f#functions/}"; exit 1; }; done
	@echo "packaged into $(DIST)/:"; ls $(DIST)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./tools/shapecheck shared cmd tools

clean:
	rm -rf $(DIST)
