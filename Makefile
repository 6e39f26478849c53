# corsgate: build, run, test, bench. `make help` lists the targets.

CARGO  ?= cargo
PREFIX ?= /usr/local
PYTEST ?= python3 -m pytest

# nginx 1.28.3, built from the nginx-src crate (scripts/build-nginx); the
# nginx suites run against it as well as against Debian's nginx 1.22.1.
NGINX_STABLE := build/nginx-1.28.3
NGINX_STABLE_ENV := CORSGATE_NGINX=$(CURDIR)/$(NGINX_STABLE)/sbin/nginx \
    CORSGATE_NGINX_MODULE=$(CURDIR)/$(NGINX_STABLE)/ngx_http_corsgate_module.so

.PHONY: help setup build lib nginx-module nginx-stable envoy-filter header \
        check-header check-abi check-symbols lint test test-rust test-c test-http \
        test-nginx-stable test-browser test-envoy-versions test-conformance run bench \
        bench-core bench-core-instructions bench-policy-load bench-nginx \
        bench-nginx-instructions bench-envoy \
        bench-envoy-instructions install clean

help:
	@echo "make run      build what is missing, start NGINX + corsgate on 127.0.0.1:8080"
	@echo "make test     install what is missing, build, run every test"
	@echo "make build    libcorsgate.{a,so}, the CLI, the NGINX module (Debian's nginx"
	@echo "             and nginx 1.28.3, built too), the Envoy filter"
	@echo "make bench    criterion + wrk benchmarks (minutes)"
	@echo "make bench-nginx-instructions"
	@echo "             nginx's instructions per request (callgrind): no CORS,"
	@echo "             the map + add_header recipe, the module (a minute)"
	@echo "make install  PREFIX=/usr/local: header, libraries, corsgate.pc"

setup:
	scripts/setup

# --- build -------------------------------------------------------------------

build: lib nginx-module nginx-stable envoy-filter

lib:
	$(CARGO) build --release --lib --bin corsgate

nginx-module: lib
	scripts/build-nginx-module

# build/nginx-1.28.3/sbin/nginx and the module for it (rebuilt only when
# their inputs change)
nginx-stable: lib
	scripts/build-nginx

# One build per Envoy release in envoy-filter/envoy-versions:
# build/libcorsgate_envoy.so (1.40), build/envoy-1.39/, build/envoy-1.38/.
envoy-filter: lib
	scripts/build-envoy-filter

# include/corsgate.h is generated from src/ffi and committed.
header:
	cbindgen --config cbindgen.toml --crate corsgate --output include/corsgate.h

check-header:
	scripts/check-header

check-symbols: build
	scripts/check-symbols

# abidiff against abi/libcorsgate.so.<ABI>.abi (ABI.md); builds the
# release library with DWARF (cargo profile abi).
check-abi:
	scripts/check-abi

install: lib
	DESTDIR="$(DESTDIR)" scripts/install "$(PREFIX)"

# --- run ---------------------------------------------------------------------

run: setup nginx-module
	scripts/run-nginx

# --- test --------------------------------------------------------------------

# The README's test command: everything, on a fresh machine.
test: setup build lint test-rust check-header check-abi check-symbols test-c \
      test-http test-browser test-envoy-versions

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
	    tests/failures tests/import tests/conformance
	$(MAKE) --no-print-directory test-nginx-stable

# The nginx suites again, against nginx 1.28.3 and the module built for it.
test-nginx-stable: nginx-stable
	$(NGINX_STABLE_ENV) $(PYTEST) -q tests/nginx tests/hostile -k nginx

test-browser: build
	scripts/browser-tests
	$(NGINX_STABLE_ENV) CORSGATE_BROWSER_PROXIES=nginx scripts/browser-tests

# The Envoy suite against the other Envoy releases the filter is built for.
test-envoy-versions: build
	scripts/test-envoy-versions

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

bench-policy-load:
	$(CARGO) bench --bench policy_load

bench-core-instructions:
	$(CARGO) bench --bench evaluate -- --instructions

bench-nginx: nginx-module
	scripts/bench-nginx

# nginx's instructions per request under callgrind (plain, recipe, module)
bench-nginx-instructions: nginx-module
	scripts/bench-nginx --instructions

bench-envoy: envoy-filter
	scripts/bench-envoy

bench-envoy-instructions: envoy-filter
	scripts/bench-envoy --instructions

clean:
	$(CARGO) clean
	rm -rf build
