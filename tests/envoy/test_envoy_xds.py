"""Policies shipped through xDS: examples/xds (the README's "Policies through
xDS" files, run as written, only paths and ports moved) gives Envoy its
listener through file-based LDS and its routes through file-based RDS
(path_config_source with watched_directory). A new file renamed over the
old one is a new xDS version: Envoy applies it without a restart.

- RDS: a route's policy (DynamicModuleFilterPerRoute) changed.
- LDS: the listener's policy replaced 20 times while two clients send
  requests on new connections: no request fails, each new policy is in
  effect on the connections opened after it, Envoy is the same process.
"""

import json
import os
import re
import threading
import time

import corsgate_http as harness
from envoy_process import Envoy
from envoy_stack import ROOT

XDS = ROOT / "examples" / "xds"
EXAMPLE_POLICY = ('{"allow_origins": ["https://app.example.com"], '
                  '"allow_credentials": true}')
REPLACEMENTS = 20


class XdsEnvoy:
    """examples/xds deployed in a temporary directory (its /etc/envoy/xds),
    Envoy started on it."""

    def __init__(self, tmp, module_dir, upstream):
        self.dir = tmp / "xds"
        self.dir.mkdir()
        self.port, self.admin = harness.free_port(), harness.free_port()
        self.upstream_port = upstream.port
        self.files = {name: self.moved((XDS / name).read_text())
                      for name in ("envoy.yaml", "lds.yaml", "rds.yaml")}
        for name in ("lds.yaml", "rds.yaml"):
            (self.dir / name).write_text(self.files[name])
        self.envoy = Envoy(None, tmp / "envoy", module_dir, self.admin)
        self.envoy.config_text = self.files["envoy.yaml"]

    def moved(self, text):
        for old, new in (("/etc/envoy/xds", str(self.dir)),
                         ("port_value: 10000", "port_value: %d" % self.port),
                         ("port_value: 9901", "port_value: %d" % self.admin),
                         ("port_value: 8080",
                          "port_value: %d" % self.upstream_port)):
            text = text.replace(old, new)
        return text

    def publish(self, name, text):
        """A new version of lds.yaml or rds.yaml: written beside it, then
        renamed over it (atomic; the rename is what Envoy watches)."""
        tmp = self.dir / (".%s.new" % name)
        tmp.write_text(text)
        os.rename(tmp, self.dir / name)

    def get(self, method, path, lines):
        return harness.raw_request("127.0.0.1", self.port, method, path, lines)

    def acao(self, origin, path="/"):
        resp = self.get("GET", path, [("Origin", origin)])
        assert resp.status == 200, resp
        return resp.header_values("access-control-allow-origin")

    def stat(self, name):
        text = self.envoy.admin("/stats?filter=^%s$" % re.escape(name))
        m = re.search(r": (\d+)", text)
        return int(m.group(1)) if m else 0

    def __enter__(self):
        self.envoy.start()
        assert self.envoy.wait_ready(), self.envoy.log_tail()
        harness.wait_for_http("127.0.0.1", self.port, "/")
        return self

    def __exit__(self, *exc):
        self.envoy.stop()


def wait_for(check, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        assert time.monotonic() < deadline, "not in effect after %.0fs: %s" \
            % (timeout, what)
        time.sleep(0.05)


def test_readme_shows_the_example_files():
    readme = (ROOT / "README.md").read_text()
    for name in ("envoy.yaml", "lds.yaml", "rds.yaml"):
        text = (XDS / name).read_text()
        assert "```yaml\n" + text + "```" in readme, \
            "README does not show examples/xds/%s as it is" % name
    assert EXAMPLE_POLICY in (XDS / "lds.yaml").read_text()


def test_route_policy_changed_through_rds(tmp_path, module_dir, upstream):
    with XdsEnvoy(tmp_path, module_dir, upstream) as x:
        pid = x.envoy.proc.pid
        # As deployed: the listener's policy, and /public/'s own.
        resp = x.get("OPTIONS", "/api", [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "POST")])
        assert resp.status == 204
        assert resp.header_values("access-control-allow-credentials") == [
            "true"]
        assert x.acao("https://elsewhere.test", "/public/x") == ["*"]
        assert x.acao("https://elsewhere.test", "/api") == []

        # /public/ now for one partner only, through RDS.
        rds = x.files["rds.yaml"].replace(
            '{"allow_origins": ["*"]}',
            '{"allow_origins": ["https://partner.example.com"]}')
        assert rds != x.files["rds.yaml"]
        x.publish("rds.yaml", rds)
        wait_for(lambda: x.acao("https://partner.example.com", "/public/x")
                 == ["https://partner.example.com"], "the new route policy")
        assert x.acao("https://elsewhere.test", "/public/x") == []
        # The listener's policy, on other routes, is untouched.
        assert x.acao("https://app.example.com", "/api") == [
            "https://app.example.com"]

        # A bad route policy is refused; the last good one stays.
        x.publish("rds.yaml", rds.replace(
            '"https://partner.example.com"', '"*"], "allow_credentials": true, "x": ["'))
        wait_for(lambda: "corsgate: invalid policy in per-route filter_config"
                 in x.envoy.log(), "the refusal in the log")
        assert x.acao("https://partner.example.com", "/public/x") == [
            "https://partner.example.com"]
        assert x.envoy.proc.pid == pid and x.envoy.proc.poll() is None


def test_first_route_policy_through_rds(tmp_path, module_dir, upstream):
    """The filter asks Envoy for a route's policy only while some route has
    one (a count kept by per_route_config_new and _destroy): a route
    policy that arrives through RDS when none existed applies at once, and
    when the last one goes the listener's applies again."""
    x = XdsEnvoy(tmp_path, module_dir, upstream)
    with_route = x.files["rds.yaml"]
    without = re.sub(r"      typed_per_filter_config:\n(?:        .*\n)+", "",
                     with_route)
    assert "typed_per_filter_config" not in without
    (x.dir / "rds.yaml").write_text(without)
    with x:
        # No route policy anywhere: the listener's applies to /public/.
        assert x.acao("https://elsewhere.test", "/public/x") == []
        assert x.acao("https://app.example.com", "/public/x") == [
            "https://app.example.com"]

        x.publish("rds.yaml", with_route)
        wait_for(lambda: x.acao("https://elsewhere.test", "/public/x")
                 == ["*"], "the first route policy")
        assert x.acao("https://elsewhere.test", "/api") == []

        x.publish("rds.yaml", without)
        wait_for(lambda: x.acao("https://elsewhere.test", "/public/x") == [],
                 "the listener's policy again")
        assert x.acao("https://app.example.com", "/public/x") == [
            "https://app.example.com"]


class Load:
    """Two clients sending GET / on a new connection each, until stopped;
    every answer must be a 200 (any other status or a connection error is a
    failed request)."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.sent = 0
        self.failures = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(2)]

    def run(self):
        while not self.stop.is_set():
            try:
                resp = harness.raw_request(
                    "127.0.0.1", self.port, "GET", "/",
                    [("Origin", "https://load.example.com")], timeout=5)
                ok = resp.status == 200 and resp.body == harness.UPSTREAM_BODY
                failure = None if ok else "status %d" % resp.status
            except (OSError, harness.HTTPError) as e:
                failure = repr(e)
            with self.lock:
                self.sent += 1
                if failure:
                    self.failures.append(failure)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(10)


def test_listener_policy_replaced_under_load(tmp_path, module_dir, upstream):
    with XdsEnvoy(tmp_path, module_dir, upstream) as x:
        pid = x.envoy.proc.pid
        lds = x.files["lds.yaml"]
        assert EXAMPLE_POLICY in lds
        updates = x.stat("listener_manager.lds.update_success")
        with Load(x.port) as load:
            for i in range(1, REPLACEMENTS + 1):
                origin = "https://v%d.example.com" % i
                policy = json.dumps({"allow_origins": [origin],
                                     "allow_credentials": i % 2 == 0})
                x.publish("lds.yaml", lds.replace(EXAMPLE_POLICY, policy))
                wait_for(lambda: x.acao(origin) == [origin],
                         "listener policy %d" % i)
                # From then on, every new connection has it, and only it.
                for _ in range(5):
                    resp = x.get("GET", "/", [("Origin", origin)])
                    assert resp.header_values(
                        "access-control-allow-origin") == [origin]
                    assert resp.header_values(
                        "access-control-allow-credentials") == (
                        ["true"] if i % 2 == 0 else [])
                    previous = "https://v%d.example.com" % (i - 1)
                    assert x.acao(previous) == [], \
                        "policy %d still in effect after %d" % (i - 1, i)
        assert load.failures == [], load.failures[:5]
        assert load.sent >= 100, "too little load to mean anything"
        assert x.stat("listener_manager.lds.update_success") \
            >= updates + REPLACEMENTS
        assert x.envoy.proc.pid == pid and x.envoy.proc.poll() is None
        assert "LIVE" in x.envoy.admin("/ready")
