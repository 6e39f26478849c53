"""Every corsgate_evaluate failure, through real NGINX and real Envoy.

corsgate_evaluate writes the safe denial on every non-OK result (ABI.md
"One failure path"); the proxies only apply decisions. To force each
failure, the library is built with the test-only cargo feature
`fault-injection` (profile `fault`, target/fault/libcorsgate.a) and the
NGINX module and the Envoy filter are linked against it into build/fault/
(the shipped build/ ones are untouched). A request whose method is
CORSGATE_FAULT_<X> then fails inside corsgate_evaluate:

  CORSGATE_FAULT_PANIC      a panic, caught by the boundary   -> PANIC
  CORSGATE_FAULT_NULL       as if the policy were NULL        -> NULL_PARAMETER
  CORSGATE_FAULT_TOO_LARGE  a value too large for a decision  -> REQUEST_TOO_LARGE

For each, through each proxy: the request goes on to the upstream, the
upstream's own Access-Control-* headers are stripped and none is added,
the error is logged, and (Envoy) the decision is counted as
actual/internal-error. A plain GET through the same builds is allowed, so
the fault builds are otherwise the real thing.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
sys.path.insert(0, str(ROOT / "tests" / "nginx"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import corsgate_http as harness  # noqa: E402
import envoy_config as ec  # noqa: E402
from envoy_process import Envoy  # noqa: E402
from nginx_process import Nginx  # noqa: E402

FAULT_DIR = ROOT / "build" / "fault"
FAULT_LIB = ROOT / "target" / "fault" / "libcorsgate.a"
ORIGIN = "https://app.example.com"
POLICY = {"allow_origins": [ORIGIN], "allow_credentials": True}

FAULTS = {
    "CORSGATE_FAULT_PANIC": "internal error in corsgate",
    "CORSGATE_FAULT_NULL": "a required pointer is NULL",
    "CORSGATE_FAULT_TOO_LARGE": "request too large for a decision",
}

# The upstream sends these; a denial must strip them.
UPSTREAM_CORS = [
    (harness.UPSTREAM_HEADER, "Access-Control-Allow-Origin: *"),
    (harness.UPSTREAM_HEADER, "Access-Control-Allow-Credentials: true"),
    (harness.UPSTREAM_HEADER, "X-Upstream: kept"),
]


def run(cmd, **kw):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def fault_builds():
    run(["cargo", "build", "--profile", "fault", "--lib", "--quiet",
         "--features", "fault-injection"])
    env = {"CORSGATE_LIB": str(FAULT_LIB),
           "CORSGATE_BUILD_DIR": str(FAULT_DIR)}
    run([str(ROOT / "scripts" / "build-nginx-module")],
        env={**os.environ, **env})
    run([str(ROOT / "scripts" / "build-envoy-filter")],
        env={**os.environ, "CORSGATE_LIB": str(FAULT_LIB),
             "OUT": str(FAULT_DIR / "libcorsgate_envoy.so")})
    return FAULT_DIR


@pytest.fixture(scope="module")
def upstream():
    with harness.Upstream() as up:
        yield up


@pytest.fixture(scope="module")
def nginx(fault_builds, upstream, tmp_path_factory):
    port = harness.free_port()
    http = f"""
    server {{
        listen 127.0.0.1:{port};
        cors_allow_origins {ORIGIN};
        cors_allow_credentials on;
        location / {{ proxy_pass {upstream.url}; }}
    }}
"""
    n = Nginx(tmp_path_factory.mktemp("nginx-fault"), http,
              module=fault_builds / "ngx_http_corsgate_module.so")
    n.start([port])
    n.port = port
    yield n
    n.stop()


@pytest.fixture(scope="module")
def envoy(fault_builds, upstream, tmp_path_factory):
    port, admin = harness.free_port(), harness.free_port()
    listener = ec.listener("fault", port,
                           [ec.virtual_host("fault", [ec.route("/", "up")])],
                           [ec.corsgate_filter(POLICY)])
    # Envoy's HTTP/1 codec refuses unknown methods unless told otherwise.
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_protocol_options"] = {"allow_custom_methods": True}
    config = ec.bootstrap(admin, [listener], [ec.cluster("up", upstream.port)])
    e = Envoy(config, tmp_path_factory.mktemp("envoy-fault"), fault_builds,
              admin)
    e.start()
    try:
        assert e.wait_ready(), e.log_tail()
        e.port = port
        yield e
    finally:
        e.stop()


def internal_errors(envoy):
    text = envoy.admin("/stats?filter=decisions.kind.actual.reason."
                       "internal-error$")
    for line in text.splitlines():
        if line.strip():
            return int(line.rsplit(":", 1)[1])
    return 0


def cors_headers(response):
    return [(n, v) for n, v in response.headers
            if n.lower().startswith(("access-control-", "x-corsgate"))]


def send(port, method):
    return harness.raw_request("127.0.0.1", port, method, "/x",
                               [("Origin", ORIGIN)] + UPSTREAM_CORS)


@pytest.mark.parametrize("proxy", ["nginx", "envoy"])
def test_the_fault_builds_allow_an_allowed_request(proxy, request):
    server = request.getfixturevalue(proxy)
    r = send(server.port, "GET")
    assert r.status == 200
    assert r.header("access-control-allow-origin") == ORIGIN
    assert r.header("access-control-allow-credentials") == "true"


@pytest.mark.parametrize("fault", list(FAULTS))
def test_nginx_applies_the_safe_denial(fault, nginx, upstream):
    hits = upstream.hits
    r = send(nginx.port, fault)
    assert r.status == 200, r  # went on to the upstream
    assert upstream.hits == hits + 1
    assert r.header("x-upstream") == "kept"
    assert cors_headers(r) == [], "upstream CORS headers not stripped"
    want = f"cors: evaluation failed: {FAULTS[fault]}, denied: internal-error"
    deadline = time.monotonic() + 5
    while want not in nginx.log():
        assert time.monotonic() < deadline, nginx.log()[-3000:]
        time.sleep(0.05)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_envoy_applies_and_counts_the_safe_denial(fault, envoy, upstream):
    hits = upstream.hits
    counted = internal_errors(envoy)
    r = send(envoy.port, fault)
    assert r.status == 200, r
    assert upstream.hits == hits + 1
    assert r.header("x-upstream") == "kept"
    assert cors_headers(r) == [], "upstream CORS headers not stripped"
    assert internal_errors(envoy) == counted + 1
    deadline = time.monotonic() + 5
    while FAULTS[fault] not in envoy.log():
        assert time.monotonic() < deadline, envoy.log_tail()
        time.sleep(0.05)
