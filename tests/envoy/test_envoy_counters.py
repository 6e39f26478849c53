"""The `decisions` counter, by kind and reason, in /stats and
/stats/prometheus: one increment per request, proxied or answered locally.

The counters listener has its own metrics_namespace, so nothing else in the
session touches these counters."""

import re

from envoy_stack import COUNTER_NAMESPACE

APP = "Origin: https://app.example.com"
EVIL = "Origin: https://evil.example.net"

# (method, path, header lines, expected status, times)
REQUESTS = [
    ("GET", "/", [], 200, 2),
    ("GET", "/", [APP], 200, 3),
    ("GET", "/direct", [APP], 200, 1),
    ("GET", "/direct", [EVIL], 200, 1),
    ("POST", "/", ["Origin: https://APP.example.com"], 200, 1),
    ("GET", "/", [APP, APP], 200, 1),
    ("OPTIONS", "/", [APP, "Access-Control-Request-Method: GET"], 204, 1),
    ("OPTIONS", "/direct", [EVIL, "Access-Control-Request-Method: GET"],
     403, 2),
    ("OPTIONS", "/", [APP, "Access-Control-Request-Method: DELETE"], 403, 1),
]

EXPECTED = {
    ("not-cors", "not-cors"): 2,
    ("actual", "allowed"): 4,
    ("actual", "origin-not-allowed"): 1,
    ("actual", "origin-malformed"): 1,
    ("actual", "origin-duplicated"): 1,
    ("preflight", "allowed"): 1,
    ("preflight", "origin-not-allowed"): 2,
    ("preflight", "method-not-allowed"): 1,
}

ORIGIN_REASONS = ["origin-not-allowed", "origin-malformed", "origin-too-long",
                  "origin-duplicated", "origin-null"]
OUTCOMES = (
    {("not-cors", "not-cors")}
    | {("actual", r) for r in ["allowed", "internal-error"] + ORIGIN_REASONS}
    | {("preflight", r) for r in ["allowed"] + ORIGIN_REASONS + [
        "method-not-allowed", "method-malformed", "method-duplicated",
        "header-not-allowed", "headers-malformed", "headers-too-long",
        "too-many-headers", "too-many-header-lines"]})


def test_decisions_counted_by_kind_and_reason(stack):
    for method, path, lines, want, times in REQUESTS:
        for _ in range(times):
            resp = stack.request("counters", method, path, lines)
            assert resp.status == want, (method, path, lines)

    text = stack.envoy.admin("/stats?filter=^%s.decisions."
                             % COUNTER_NAMESPACE)
    stats = {}
    for line in text.splitlines():
        m = re.fullmatch(r"%s\.decisions\.kind\.([a-z-]+)\.reason\.([a-z-]+):"
                         r" (\d+)" % COUNTER_NAMESPACE, line.strip())
        assert m, "unexpected stats line %r" % line
        stats[(m.group(1), m.group(2))] = int(m.group(3))
    # One counter per outcome corsgate can decide, defined at config load.
    assert set(stats) == OUTCOMES
    assert {k: v for k, v in stats.items() if v} == EXPECTED

    text = stack.envoy.admin("/stats/prometheus")
    prom = {}
    for line in text.splitlines():
        m = re.fullmatch(r'envoy_%s_decisions\{kind="([a-z-]+)",'
                         r'reason="([a-z-]+)"\} (\d+)' % COUNTER_NAMESPACE,
                         line.strip())
        if m:
            prom[(m.group(1), m.group(2))] = int(m.group(3))
    assert "# TYPE envoy_%s_decisions counter" % COUNTER_NAMESPACE in text
    assert set(prom) == OUTCOMES
    assert {k: v for k, v in prom.items() if v} == EXPECTED


def test_default_namespace_in_stats(stack):
    """Listeners without metrics_namespace count under dynamicmodulescustom."""
    stack.request("features", "GET", "/direct", [APP])
    text = stack.envoy.admin("/stats?filter=^dynamicmodulescustom.decisions.")
    assert "dynamicmodulescustom.decisions.kind.actual.reason.allowed:" in text
    text = stack.envoy.admin("/stats/prometheus")
    assert ('envoy_dynamicmodulescustom_decisions{kind="actual",'
            'reason="allowed"}') in text
