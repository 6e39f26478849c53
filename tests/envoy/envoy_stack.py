"""What the Envoy tests share: paths, the policies of the feature
listeners, the session Envoy's bootstrap, and `Stack` (where each listener
is, how to send it a request)."""

import json
import sys
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
