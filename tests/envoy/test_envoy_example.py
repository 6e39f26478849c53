"""examples/envoy.yaml runs as written (only its three ports moved to free
ones): the listener policy, the per-route override, the proxied route, the
counters with Prometheus labels."""

import corsgate_http as harness
from envoy_stack import ROOT
from envoy_process import Envoy


def test_example_config(tmp_path, module_dir, upstream):
    text = (ROOT / "examples" / "envoy.yaml").read_text()
    listen, admin = harness.free_port(), harness.free_port()
    for old, new in (("port_value: 10000", listen), ("port_value: 9901", admin),
                     ("port_value: 8080", upstream.port)):
        assert old in text
        text = text.replace(old, "port_value: %d" % new)
    envoy = Envoy(None, tmp_path, module_dir, admin)
    envoy.config_text = text
    with envoy:
        assert envoy.wait_ready(), envoy.log_tail()

        def get(method, path, lines):
            return harness.raw_request("127.0.0.1", listen, method, path,
                                       lines)

        resp = get("OPTIONS", "/api/items", [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT")])
        assert resp.status == 204
        assert resp.header_values("access-control-allow-methods") == [
            "GET, POST, PUT, DELETE"]
        assert resp.header_values("access-control-allow-credentials") == [
            "true"]

        resp = get("GET", "/api/items", [("Origin", "https://a.example.com")])
        assert resp.status == 200 and resp.body == harness.UPSTREAM_BODY
        assert resp.header_values("access-control-allow-origin") == [
            "https://a.example.com"]

        resp = get("GET", "/public/x", [("Origin", "https://elsewhere.test")])
        assert resp.status == 200
        assert resp.header_values("access-control-allow-origin") == ["*"]
        assert resp.header_values("access-control-allow-credentials") == []

        # The example's stats_tags give Prometheus labels (the per-route
        # policy counts into the listener filter's counters).
        prom = envoy.admin("/stats/prometheus")
        for kind, reason, count in (("preflight", "allowed", 1),
                                    ("actual", "allowed", 2),
                                    ("actual", "origin-null", 0)):
            assert ('envoy_dynamicmodulescustom_decisions{kind="%s",'
                    'reason="%s"} %d' % (kind, reason, count)) in prom
