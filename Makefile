# Mnemo — developer commands. `make run` and `make test` set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# The contract must stay wire- and JSON-compatible with this git revision.
BREAKING_AGAINST ?= main
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml clients/python/pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup tools generate check-generated lint run test bench bench-quick clean

## setup: create the virtualenv and install Mnemo and the Python client with their pinned dependencies;
## scripts/system-deps.sh installs bubblewrap, the tool sandbox (apt-get, as root) or says what is missing
setup: $(STAMP)
	@sh scripts/system-deps.sh
$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./clients/python
	rm -f $(VENV)/.installed-*; touch $@

## tools: what the TypeScript and Go clients need (Node 20+ with npm, Go 1.26+): `npm ci` in
## clients/ts (protoc-gen-es, tsc, tsx), the pinned protoc-gen-go and protoc-gen-go-grpc in
## build/bin, and the Go client's modules. Only generate, lint and test need it.
tools: setup
	$(PY) scripts/generate.py --tools
	cd clients/go && go mod download

## generate: regenerate all code derived from proto/ (stubs, client types, gateway descriptor)
generate: setup tools
	$(PY) scripts/generate.py

## check-generated: fail if the committed generated code differs from a fresh generation
check-generated: generate
	@git add -N server/mnemo clients gateway/gen 2>/dev/null || true
	@git diff --exit-code --stat -- server/mnemo clients gateway/gen \
	  || (echo "Generated code is stale: run 'make generate' and commit the result." && exit 1)

## lint: buf lint and buf breaking (WIRE_JSON, against BREAKING_AGAINST) on the contract, ruff on the
## Python; mypy, tsc and go vet on the client layers
lint: setup tools
	$(PY) scripts/generate.py --lint-only
	$(PY) scripts/generate.py --breaking $(BREAKING_AGAINST)
	$(VENV)/bin/ruff check server/mnemo_server tests scripts bench clients/python
	cd clients/python && $(CURDIR)/$(VENV)/bin/mypy
	cd clients/ts && npx --no-install tsc --noEmit -p tsconfig.json
	cd clients/go && go vet ./...

## run: start Mnemo (embedded PostgreSQL + gRPC server + REST gateway)
run: setup
	@test -d server/mnemo || $(PY) scripts/generate.py
	$(PY) -m mnemo_server run

## test: set up, check the generated code and the contract, lint, and run the whole test suite
## (it includes tests/test_clients.py: the three quickstarts against a live server, npm test, go test)
test: setup tools check-generated lint
	$(PY) -m pytest -q -p no:cacheprovider

## bench: measure Mnemo's own cost (see bench/README.md); BENCH_QUICK=1 for a short run
bench: setup
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache
