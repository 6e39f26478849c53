"""Helpers of the hostile suite (tests/hostile): a real nginx
(build/ngx_http_corsgate_module.so) and a real Envoy
(build/libcorsgate_envoy.so) with one policy, started the way tests/nginx
and tests/envoy start them (their helper modules are reused), and what
"still alive" means for each: nginx keeps the same worker pid (an
X-Worker-Pid response header) and logs no "exited on signal"; Envoy is the
same process and /ready says LIVE.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "nginx"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoy_config as ec  # noqa: E402
from envoy_process import Envoy  # noqa: E402
from nginx_process import MODULE, NGINX, Nginx, harness  # noqa: E402

SO = ROOT / "build" / "libcorsgate_envoy.so"

APP = "https://app.example.com"
POLICY = {
    "allow_origins": [APP, "https://*.example.org"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-request-id"],
    "allow_credentials": True,
    "max_age": 600,
    "debug": True,
}
# What the policy allows (ACAO may hold nothing else).
ALLOWED = re.compile(r"https://(app\.example\.com|([a-z0-9_-]+\.)+example\.org)\Z")


class Proxy:
    """One proxy under test: where to send requests, and how to tell it is
    still the same healthy process."""

    def __init__(self, kind, port, process):
        self.kind = kind
        self.port = port
        self.process = process  # Nginx or Envoy
        self.baseline = None

    def identity(self):
        """nginx: the worker pid (X-Worker-Pid); Envoy: its process id."""
        if self.kind == "nginx":
            r = harness.raw_request("127.0.0.1", self.port, "GET", "/pid", [])
            assert r.status == 200, r
            return r.header("x-worker-pid")
        return self.process.proc.pid

    def assert_alive(self):
        if self.kind == "nginx":
            assert self.process.proc.poll() is None, "nginx master exited"
            log = self.process.log()
            assert "exited on signal" not in log, log[-3000:]
            assert "[alert]" not in log, log[-3000:]
        else:
            assert self.process.proc.poll() is None, "envoy exited:\n" + \
                self.process.log_tail()
            assert "LIVE" in self.process.admin("/ready")
        assert self.identity() == self.baseline, "the worker was replaced"


NGINX_HTTP = """
    cors_policy_file {policy};
    large_client_header_buffers 8 64k;

    server {{
        listen 127.0.0.1:{port};
        add_header X-Worker-Pid $pid always;
        location = /pid {{ cors off; return 200 "pid\\n"; }}
        location / {{ proxy_pass http://127.0.0.1:{upstream}; }}
    }}
"""


def start_nginx(tmp, upstream):
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (scripts/setup)")
    if not MODULE.exists():
        pytest.fail(f"{MODULE} missing: run `make build`")
    (tmp / "policy.json").write_text(json.dumps(POLICY))
    port = harness.free_port()
    n = Nginx(tmp / "nginx", NGINX_HTTP.format(
        policy=tmp / "policy.json", port=port, upstream=upstream.port))
    n.start([port])
    return Proxy("nginx", port, n)


def envoy_module_dir():
    if not ec.envoy_binary():
        pytest.fail("no envoy binary: run scripts/setup or set ENVOY")
    prebuilt = os.environ.get("CORSGATE_ENVOY_MODULE_DIR")
    if prebuilt:
        return Path(prebuilt)
    if not SO.exists():
        subprocess.run([str(ROOT / "scripts" / "build-envoy-filter")],
                       check=True, cwd=ROOT)
    return SO.parent


def start_envoy(tmp, upstream):
    port, admin = harness.free_port(), harness.free_port()
    cfg = ec.bootstrap(admin, [ec.listener(
        "hostile", port,
        [ec.virtual_host("hostile", [ec.route("/", "upstream")])],
        [ec.corsgate_filter(POLICY)])],
        [ec.cluster("upstream", upstream.port)])
    e = Envoy(cfg, tmp / "envoy", envoy_module_dir(), admin)
    e.start()
    if not e.wait_ready():
        e.stop()
        pytest.fail("envoy exited at startup:\n" + e.log_tail())
    return Proxy("envoy", port, e)


def timed(fn, *args, limit=2.0, **kw):
    """Runs one request; fails when it takes `limit` seconds or more."""
    start = time.monotonic()
    result = fn(*args, **kw)
    took = time.monotonic() - start
    assert took < limit, f"request took {took:.2f}s"
    return result
