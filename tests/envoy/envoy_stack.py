"""What the Envoy tests share: paths, the policies of the feature
listeners, the session Envoy's bootstrap, and `Stack` (where each listener
is, how to send it a request)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import corsgate_http as harness  # noqa: E402
import envoy_config as ec  # noqa: E402

SO = ROOT / "build" / "libcorsgate_envoy.so"
DIRECT = "/__direct"  # direct_response route in every vector listener

# Policies of the feature listeners.
MAIN_POLICY = {
    "allow_origins": ["https://app.example.com", "https://*.example.org"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-request-id"],
    "expose_headers": ["x-request-id", "x-trace"],
    "allow_credentials": True,
    "max_age": 600,
}
ROUTE_POLICY = {"allow_origins": ["https://other.example.com"]}
VHOST_POLICY = {"allow_origins": ["https://vhost.example.com"],
                "debug": True}
COUNTER_POLICY = {"allow_origins": ["https://app.example.com"]}
REPORT_POLICY = {"allow_origins": ["https://app.example.com"],
                 "mode": "report"}
COUNTER_NAMESPACE = "corsgate_counters"


def vector_files():
    """[(file stem, policy, [Case with http true])], files in name order."""
    files = {}
    for case in harness.load_vectors(http_only=True):
        stem = case.file[:-len(".json")]
        files.setdefault(stem, (case.policy, []))[1].append(case)
    return [(stem, policy, cases) for stem, (policy, cases) in files.items()]


def header_line(line):
    """("Name", "value") from a tuple or from "Name: value"."""
    if isinstance(line, tuple):
        return line
    name, _, value = line.partition(": ")
    return (name, value)


class Stack:
    """The running Envoy and where each listener is."""

    def __init__(self, envoy, ports):
        self.envoy = envoy
        self.ports = ports

    def request(self, listener, method, path, header_lines, host=None):
        """One request to a listener; lines are ("Name", "value") tuples or
        "Name: value" strings, sent as given."""
        lines = [header_line(line) for line in header_lines]
        if host is not None:
            lines = [("Host", host)] + lines
        return harness.raw_request("127.0.0.1", self.ports[listener], method,
                                   path, lines)

    def replay(self, case, path="/"):
        """A vector case on its file's listener."""
        return harness.replay(case, "127.0.0.1",
                              self.ports["vector_" + case.file[:-5]], path)


def build_config(admin, ports, upstream_port, vectors):
    up = "upstream"
    listeners = []
    for stem, policy, _ in vectors:
        name = "vector_" + stem
        listeners.append(ec.listener(name, ports[name], [ec.virtual_host(
            name, [ec.route(DIRECT, direct_status=200),
                   ec.route("/", up)])],
            [ec.corsgate_filter(json.dumps(policy))]))

    main_routes = [ec.route("/direct", direct_status=200),
                   ec.route("/dead", "dead")]
    if ec.per_route_struct_supported():
        main_routes.append(ec.route("/override-struct", up,
                                    per_filter=ec.corsgate_per_route(
                                        ROUTE_POLICY, struct=True)))
    main_routes += [
        ec.route("/override", up,
                 per_filter=ec.corsgate_per_route(ROUTE_POLICY)),
        ec.route("/disabled", up, per_filter=ec.filter_disabled()),
        ec.route("/", up)]
    features = [
        ec.virtual_host("noroute", [ec.route("/only", up)],
                        domains=["noroute.test"]),
        ec.virtual_host("vhost", [
            ec.route("/route-wins", up,
                     per_filter=ec.corsgate_per_route(ROUTE_POLICY)),
            ec.route("/", up)],
            domains=["vhost.test"],
            per_filter=ec.corsgate_per_route(VHOST_POLICY)),
        ec.virtual_host("main", main_routes),
    ]
    listeners.append(ec.listener("features", ports["features"], features,
                                 [ec.corsgate_filter(MAIN_POLICY)]))
    # The same listener over HTTP/2 only (h2c), for test_envoy_http2.py.
    listeners.append(ec.listener("h2", ports["h2"], features,
                                 [ec.corsgate_filter(MAIN_POLICY)],
                                 codec="HTTP2"))
    # A JSON-errors local_reply_config (HTTP/1.1 and h2c), for
    # test_envoy_local_reply.py.
    listeners.append(ec.listener(
        "jsonerrors", ports["jsonerrors"],
        [ec.virtual_host("jsonerrors", [
            ec.route("/direct", direct_status=200),
            ec.route("/status200", up, per_filter=ec.corsgate_per_route(
                dict(MAIN_POLICY, preflight_status=200))),
            ec.route("/dead", "dead"),
            ec.route("/", up)])],
        [ec.corsgate_filter(MAIN_POLICY)],
        local_reply_config=ec.JSON_ERRORS))
    listeners.append(ec.listener(
        "struct", ports["struct"],
        [ec.virtual_host("struct", [ec.route("/", up)])],
        [ec.corsgate_filter(MAIN_POLICY, struct=True)]))
    listeners.append(ec.listener(
        "counters", ports["counters"],
        [ec.virtual_host("counters", [ec.route("/direct", direct_status=200),
                                      ec.route("/", up)])],
        [ec.corsgate_filter(COUNTER_POLICY,
                            metrics_namespace=COUNTER_NAMESPACE)]))
    listeners.append(ec.listener(
        "report", ports["report"],
        [ec.virtual_host("report", [ec.route("/", up)])],
        [ec.corsgate_filter(REPORT_POLICY)]))
    listeners.append(ec.listener(
        "builtin", ports["builtin"],
        [ec.virtual_host("builtin", [ec.route("/", up)],
                         per_filter=ec.builtin_cors_policy(
                             ["https://app.example.com"],
                             methods=MAIN_POLICY["allow_methods"],
                             headers=MAIN_POLICY["allow_headers"],
                             expose=MAIN_POLICY["expose_headers"],
                             credentials=True, max_age=600))],
        [ec.builtin_cors_filter()]))
    clusters = [ec.cluster(up, upstream_port), ec.cluster("dead")]
    return ec.bootstrap(admin, listeners, clusters)


def h2_request(port, method, path, header_lines, timeout=5):
    """One request over HTTP/2 cleartext with prior knowledge (curl), header
    lines as given (curl's own User-Agent and Accept left out). Raises
    harness.HTTPError with curl's message when curl fails (e.g. a
    PROTOCOL_ERROR)."""
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp) / "body"
        args = ["curl", "-sS", "--http2-prior-knowledge", "--max-time",
                str(timeout), "-X", method, "-D", "-", "-o", str(body_path),
                "-H", "User-Agent:", "-H", "Accept:"]
        for line in header_lines:
            name, value = header_line(line)
            args += ["-H", "%s: %s" % (name, value)]
        args.append("http://127.0.0.1:%d%s" % (port, path))
        proc = subprocess.run(args, capture_output=True, timeout=timeout + 5)
        body = body_path.read_bytes() if body_path.exists() else b""
    if proc.returncode != 0:
        raise harness.HTTPError("curl --http2-prior-knowledge %s %s: exit "
                                "%d: %s" % (method, path, proc.returncode,
                                            proc.stderr.decode(
                                                errors="replace")))
    lines = proc.stdout.decode("latin-1").split("\r\n")
    status_line = lines[0].split()
    if status_line[0] != "HTTP/2":
        raise harness.HTTPError("not an HTTP/2 response: %r" % lines[0])
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
    return harness.Response(int(status_line[1]), "", headers, body,
                            proc.stdout)
