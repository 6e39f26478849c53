# corsgate: build, run, test, bench. `make help` lists the targets.

CARGO  ?= cargo
PREFIX ?= /usr/local
PYTEST ?= python3 -m pytest

.PHONY: help setup build lib nginx-module envoy-filter header check-header \
        check-symbols lint test test-rust test-c test-http test-browser \
        test-conformance run bench \
        bench-core bench-core-instructions bench-nginx bench-envoy \
        bench-envoy-instructions install clean

help:
	@echo "make run      build what is missing, start NGINX + corsgate on 127.0.0.1:8080"
	@echo "make test     install what is missing, build, run every test"
	@echo "make build    libcorsgate.{a,so}, the CLI, the NGINX module, the Envoy filter"
	@echo "make bench    criterion + wrk benchmarks (minutes)"
	@echo "make install  PREFIX=/usr/local: header, libraries, corsgate.pc"

setup:
	scripts/setup

# --- build -------------------------------------------------------------------

build: lib nginx-module envoy-filter

lib:
	$(CARGO) build --release --lib --bin corsgate

nginx-module: lib
	scripts/build-nginx-module

envoy-filter: lib
	scripts/build-envoy-filter

# include/corsgate.h is generated from src/ffi and committed.
header:
	cbindgen --config cbindgen.toml --crate corsgate --output include/corsgate.h

check-header:
	scripts/check-header

check-symbols: build
	scripts/check-symbols

install: lib
	DESTDIR="$(DESTDIR)" scripts/install "$(PREFIX)"

# --- run ---------------------------------------------------------------------

run: setup nginx-module
	scripts/run-nginx

# --- test --------------------------------------------------------------------

# The README's test command: everything, on a fresh machine.
test: setup build lint test-rust check-header check-symbols test-c test-http \
      test-browser

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

test-rust:
	$(CARGO) test --all-targets
	$(CARGO) test --doc

test-c: lib
	scripts/c-tests

test-http: build
	$(PYTEST) -q tests/harness tests/c tests/nginx tests/envoy tests/hostile \
	    tests/conformance

test-browser: build
	scripts/browser-tests

# Outside suites (tests/conformance) alone, through every surface; `test`
# already runs them as part of test-rust, test-c and test-http.
test-conformance: build
	$(CARGO) test --test conformance
	scripts/c-tests
	$(PYTEST) -q tests/conformance tests/nginx/test_nginx_conformance.py \
	    tests/envoy/test_envoy_conformance.py

# --- bench -------------------------------------------------------------------

bench: bench-core bench-nginx bench-envoy

bench-core:
	$(CARGO) bench --bench evaluate

bench-core-instructions:
	$(CARGO) bench --bench evaluate -- --instructions

bench-nginx: nginx-module
	scripts/bench-nginx

bench-envoy: envoy-filter
	scripts/bench-envoy

bench-envoy-instructions: envoy-filter
	scripts/bench-envoy --instructions

clean:
	$(CARGO) clean
	rm -rf build
