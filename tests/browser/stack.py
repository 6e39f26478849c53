"""Starts the two proxies the browser suite talks to, and stops them.

    python3 tests/browser/stack.py CONFIG.json

CONFIG.json (written by cors.test.mjs):
    {"workdir": "...", "upstream_port": N, "dead_port": N,
     "policies": {"name": {policy}, ...}}

Starts, on free 127.0.0.1 ports:
- nginx with build/ngx_http_corsgate_module.so (or the nginx and module
  that CORSGATE_NGINX / CORSGATE_NGINX_MODULE name, see nginx_process.py):
  one server, one `location /p/<name>/` per policy (its own
  cors_policy_file), proxied to the suite's upstream; `/p/<name>/dead/`
  proxies to a closed port (nginx 502).
- Envoy 1.40 with build/libcorsgate_envoy.so (or $ENVOY with
  $CORSGATE_ENVOY_MODULE_DIR/libcorsgate_envoy.so): one listener, one route per
  policy (`typed_per_filter_config`), `/p/<name>/dead/` to a cluster with no
  endpoints (Envoy 503).
CORSGATE_BROWSER_PROXIES=nginx (or envoy) starts that proxy only.
Both write an access log line per request (method, URI, Origin, status) to
files the suite reads to count preflights and to prove a request arrived.

Prints one JSON line {"nginx": port, "envoy": port, "nginx_log": path,
"envoy_log": path} once both answer, then waits until stdin closes (the
suite ended, or died) and stops both by PID.
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
sys.path.insert(0, str(ROOT / "tests" / "nginx"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import corsgate_http as harness  # noqa: E402
import envoy_config as ec  # noqa: E402
from envoy_process import Envoy  # noqa: E402
from nginx_process import MODULE, Nginx  # noqa: E402

# The filter for Envoy 1.40; CORSGATE_ENVOY_MODULE_DIR (with ENVOY, the
# binary) for another release.
ENVOY_SO = Path(os.environ.get("CORSGATE_ENVOY_MODULE_DIR",
                               ROOT / "build")) / "libcorsgate_envoy.so"
# Never matches a page of the suite: the listener-level policy, which every
# route overrides.
FALLBACK_POLICY = {"allow_origins": ["http://fallback.invalid"]}


def nginx_http(cfg, port, policy_dir, log):
    up = f"http://127.0.0.1:{cfg['upstream_port']}"
    dead = f"http://127.0.0.1:{cfg['dead_port']}"
    locs = []
    for name in cfg["policies"]:
        pfile = policy_dir / f"{name}.json"
        locs.append(f"""
        location /p/{name}/ {{
            cors_policy_file {pfile};
            proxy_pass {up};
        }}
        location /p/{name}/dead/ {{
            cors_policy_file {pfile};
            proxy_pass {dead};
        }}""")
    return f"""
    log_format browser '$request_method $request_uri origin=$http_origin '
                       'status=$status cors=$cors_result';
    proxy_connect_timeout 2s;

    server {{
        listen 127.0.0.1:{port};
        # (the http level has `access_log off`, which cancels that level)
        access_log {log} browser;
        server_name _;
        location / {{
            cors off;
            return 404;
        }}
{''.join(locs)}
    }}
"""


def envoy_config(cfg, port, admin, log):
    routes = []
    for name, policy in cfg["policies"].items():
        per = ec.corsgate_per_route(policy)
        routes.append(ec.route(f"/p/{name}/dead/", "dead", per_filter=per))
        routes.append(ec.route(f"/p/{name}/", "upstream", per_filter=per))
    routes.append(ec.route("/", direct_status=404, direct_body="no route"))
    lst = ec.listener("browser", port, [ec.virtual_host("browser", routes)],
                      [ec.corsgate_filter(FALLBACK_POLICY)])
    hcm = lst["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"] = [{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers."
                     "file.v3.FileAccessLog",
            "path": str(log),
            "log_format": {"text_format_source": {"inline_string":
                "%REQ(:METHOD)% %REQ(:PATH)% origin=%REQ(ORIGIN)% "
                "status=%RESPONSE_CODE%\n"}},
        },
    }]
    clusters = [ec.cluster("upstream", cfg["upstream_port"]),
                ec.cluster("dead")]
    return ec.bootstrap(admin, [lst], clusters)


class FastFlushEnvoy(Envoy):
    """Flushes its access log every 20 ms (the default is 10 s)."""

    def command(self):
        return super().command() + ["--file-flush-interval-msec", "20"]


def main():
    cfg = json.loads(Path(sys.argv[1]).read_text())
    work = Path(cfg["workdir"])
    policy_dir = work / "policies"
    policy_dir.mkdir(parents=True, exist_ok=True)
    for name, policy in cfg["policies"].items():
        (policy_dir / f"{name}.json").write_text(json.dumps(policy))

    # CORSGATE_BROWSER_PROXIES (harness.mjs): the proxies under test
    proxies = os.environ.get("CORSGATE_BROWSER_PROXIES",
                             "nginx,envoy").split(",")
    with_nginx, with_envoy = "nginx" in proxies, "envoy" in proxies
    needed = []
    if with_nginx:
        needed.append((MODULE, "nginx module"))
    if with_envoy:
        needed.append((ENVOY_SO, "Envoy filter"))
    for path, what in needed:
        if not path.exists():
            sys.exit(f"stack.py: {what} {path} missing: run `make build`")
    if with_envoy and not ec.envoy_binary():
        sys.exit("stack.py: no envoy binary (scripts/setup)")

    nginx_port = harness.free_port()
    envoy_port = harness.free_port()
    admin = harness.free_port()
    nginx_log = work / "nginx-access.log"
    envoy_log = work / "envoy-access.log"
    nginx_log.touch()
    envoy_log.touch()

    nginx = Nginx(work / "nginx",
                  nginx_http(cfg, nginx_port, policy_dir,
                             nginx_log)) if with_nginx else None
    envoy = FastFlushEnvoy(envoy_config(cfg, envoy_port, admin, envoy_log),
                           work / "envoy", ENVOY_SO.parent,
                           admin) if with_envoy else None
    try:
        if with_nginx:
            nginx.start([nginx_port])
        if with_envoy:
            envoy.start()
            if not envoy.wait_ready():
                raise RuntimeError("envoy exited at startup:\n"
                                   + envoy.log_tail())
            harness.wait_for_http("127.0.0.1", envoy_port, "/")
        print(json.dumps({"nginx": nginx_port, "envoy": envoy_port,
                          "nginx_log": str(nginx_log),
                          "envoy_log": str(envoy_log),
                          "nginx_error_log":
                              str(nginx.error_log) if nginx else "",
                          "envoy_server_log":
                              str(envoy.log_path) if envoy else ""}),
              flush=True)
        sys.stdin.read()  # until the suite closes our stdin
    finally:
        if with_nginx:
            nginx.stop()
        if with_envoy:
            envoy.stop()


if __name__ == "__main__":
    main()
