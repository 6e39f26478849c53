"""HTTP/2 through Envoy: the "h2" listener (h2c only: codec_type HTTP2,
http2_protocol_options) has the same routes and policy as "features"
(HTTP/1.1). For allowed and denied actual requests and preflights, proxied
and answered by Envoy itself, the response over HTTP/2 has exactly the
status, header lines and body it has over HTTP/1.1."""

import pytest

from envoy_stack import h2_request

APP = ("Origin", "https://app.example.com")
SUB = ("Origin", "https://a.b.example.org")
EVIL = ("Origin", "https://evil.example.net")
UPSTREAM_STAR = ("X-Test-Upstream-Header", "Access-Control-Allow-Origin: *")

# Header lines that differ by protocol or by time, not by corsgate.
NOT_COMPARED = {"date", "x-envoy-upstream-service-time", "connection",
                "keep-alive", "transfer-encoding"}

CASES = [
    pytest.param("GET", "/", [APP], id="actual-allowed-proxied"),
    pytest.param("GET", "/", [SUB, UPSTREAM_STAR],
                 id="actual-allowed-wildcard-replaces-upstream"),
    pytest.param("POST", "/", [EVIL, UPSTREAM_STAR],
                 id="actual-denied-strips-upstream"),
    pytest.param("GET", "/", [], id="not-cors"),
    pytest.param("GET", "/direct", [APP], id="actual-allowed-direct-response"),
    pytest.param("GET", "/dead", [APP], id="actual-allowed-envoy-503"),
    pytest.param("OPTIONS", "/", [
        APP, ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "content-type, x-request-id")],
        id="preflight-allowed"),
    pytest.param("OPTIONS", "/direct", [
        SUB, ("Access-Control-Request-Method", "POST")],
        id="preflight-allowed-direct-response"),
    pytest.param("OPTIONS", "/", [
        EVIL, ("Access-Control-Request-Method", "PUT")],
        id="preflight-denied-origin"),
    pytest.param("OPTIONS", "/", [
        APP, ("Access-Control-Request-Method", "DELETE")],
        id="preflight-denied-method"),
    pytest.param("OPTIONS", "/", [
        APP, ("Access-Control-Request-Method", "GET"),
        ("Access-Control-Request-Headers", "x-secret")],
        id="preflight-denied-header"),
    pytest.param("GET", "/override", [("Origin", "https://other.example.com")],
                 id="actual-allowed-per-route-policy"),
]


def comparable(resp):
    """Status, every header line (name lowercased, in order) but the
    protocol's and the clock's, and the body. (HTTP/1.1 says
    "content-length: 0" of an empty body that ends the stream; HTTP/2 says
    it with END_STREAM.)"""
    lines = [(n.lower(), v) for n, v in resp.headers
             if n.lower() not in NOT_COMPARED
             and (n.lower(), v) != ("content-length", "0")]
    return resp.status, lines, resp.body


@pytest.mark.parametrize("method,path,lines", CASES)
def test_http2_same_response_as_http1(stack, method, path, lines):
    h1 = stack.request("features", method, path, lines)
    h2 = h2_request(stack.ports["h2"], method, path, lines)
    assert comparable(h2) == comparable(h1)


def test_http2_preflight_headers(stack):
    """The allowed preflight over HTTP/2, spelled out."""
    resp = h2_request(stack.ports["h2"], "OPTIONS", "/", [
        APP, ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "content-type")])
    assert resp.status == 204
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert resp.header_values("access-control-allow-methods") == [
        "GET, POST, PUT"]
    assert resp.header_values("access-control-allow-headers") == [
        "content-type, x-request-id"]
    assert resp.header_values("access-control-max-age") == ["600"]
    assert {"origin", "access-control-request-method",
            "access-control-request-headers"} <= set(resp.vary_tokens())
    assert resp.header_values("content-length") == []
    assert resp.body == b""


def test_http2_allowed_actual_headers(stack):
    resp = h2_request(stack.ports["h2"], "GET", "/", [APP, UPSTREAM_STAR])
    assert resp.status == 200
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert resp.header_values("access-control-expose-headers") == [
        "x-request-id, x-trace"]
    assert "origin" in resp.vary_tokens()


def test_http2_denied_origin_not_reflected(stack):
    resp = h2_request(stack.ports["h2"], "GET", "/", [EVIL, UPSTREAM_STAR])
    assert resp.status == 200
    assert [n for n, _ in resp.headers
            if n.lower().startswith("access-control-")] == []
    assert "origin" in resp.vary_tokens()
