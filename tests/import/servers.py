"""Imported policies served by a real nginx and a real Envoy, one path
prefix each, in front of the harness upstream; plus `corsgate import` and
`corsgate check` run as a user runs them.

`Servers(routes, upstream_port, workdir)`: routes are (prefix, policy dict or
None); None serves the prefix without CORS (nginx `cors off`, Envoy filter
disabled on the route). Longest prefix wins in both, as in Gateway API.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "nginx"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoy_config as ec  # noqa: E402
from envoy_process import Envoy  # noqa: E402
from nginx_process import MODULE, Nginx, harness  # noqa: E402

CLI = ROOT / "target" / "release" / "corsgate"
ENVOY_SO_DIR = Path(os.environ.get("CORSGATE_ENVOY_MODULE_DIR",
                                   ROOT / "build"))


def corsgate_import(path, *extra):
    """(exit code, [items]) of `corsgate import PATH --format json`."""
    res = subprocess.run([str(CLI), "import", str(path), "--format", "json",
                          *extra], capture_output=True, text=True,
                         timeout=60)
    return res.returncode, json.loads(res.stdout)


def check(policy_path, method, headers):
    """`corsgate check --format json` for one request (headers: list of
    (name, value) sent as --header lines)."""
    args = [str(CLI), "check", "--policy", str(policy_path), "--method",
            method, "--format", "json"]
    for name, value in headers:
        args += ["--header", f"{name}: {value}"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def require_builds():
    missing = [p for p in (CLI, MODULE, ENVOY_SO_DIR / "libcorsgate_envoy.so")
               if not Path(p).exists()]
    if missing:
        raise RuntimeError(f"{missing} missing: run `make build`")


class Servers:
    def __init__(self, routes, upstream_port, workdir):
        require_builds()
        self.workdir = Path(workdir)
        self.files = {}
        routes = sorted(routes, key=lambda r: -len(r[0]))
        for n, (prefix, policy) in enumerate(routes):
            if policy is not None:
                f = self.workdir / f"policy-{n}.json"
                f.write_text(json.dumps(policy))
                self.files[prefix] = f
        up = f"http://127.0.0.1:{upstream_port}"
        self.nginx_port = harness.free_port()
        locations = []
        for prefix, policy in routes:
            cors = (f"cors_policy_file {self.files[prefix]};"
                    if policy is not None else "cors off;")
            locations.append(
                f"        location ^~ {prefix} {{ {cors} proxy_pass {up}; }}")
        http = ("    server {\n"
                f"        listen 127.0.0.1:{self.nginx_port};\n"
                + "\n".join(locations) + "\n    }\n")
        self.nginx = Nginx(self.workdir / "nginx", http)
        self.envoy_port = harness.free_port()
        admin = harness.free_port()
        envoy_routes = [
            ec.route(prefix, "upstream",
                     per_filter=(ec.corsgate_per_route(policy)
                                 if policy is not None
                                 else ec.filter_disabled()))
            for prefix, policy in routes]
        listener = ec.listener(
            "imported", self.envoy_port,
            [ec.virtual_host("imported", envoy_routes)],
            # Every route overrides or disables this one.
            [ec.corsgate_filter({"allow_origins": ["https://unused.invalid"]})])
        config = ec.bootstrap(admin, [listener],
                              [ec.cluster("upstream", upstream_port)])
        self.envoy = Envoy(config, self.workdir / "envoy", ENVOY_SO_DIR,
                           admin)

    def start(self):
        self.nginx.start([self.nginx_port])
        self.envoy.start()
        if not self.envoy.wait_ready():
            self.stop()
            raise RuntimeError("envoy exited:\n" + self.envoy.log_tail())
        return self

    def stop(self):
        self.nginx.stop()
        self.envoy.stop()

    def ports(self):
        return {"nginx": self.nginx_port, "envoy": self.envoy_port}

    def request(self, server, method, path, headers):
        return harness.raw_request("127.0.0.1", self.ports()[server], method,
                                   path, list(headers))


def cors_headers(pairs):
    """{name: value} of the Access-Control-* response headers, and the Vary
    tokens, from (name, value) pairs."""
    out = {}
    vary = []
    for name, value in pairs:
        n = name.lower()
        if n.startswith("access-control-"):
            out[n] = value
        elif n == "vary":
            vary += [t.strip().lower() for t in value.split(",") if t.strip()]
    return out, sorted(set(vary))
