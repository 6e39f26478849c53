"""Envoy specifics: direct_response and Envoy's own local replies, per-route
and per-virtual-host policies, the filter disabled on a route, Struct
filter_config, report mode."""

from envoy_stack import MAIN_POLICY

APP = "Origin: https://app.example.com"
EVIL = "Origin: https://evil.example.net"
OTHER = "Origin: https://other.example.com"
UPSTREAM_STAR = "X-Test-Upstream-Header: Access-Control-Allow-Origin: *"
UPSTREAM_METHODS = ("X-Test-Upstream-Header: Access-Control-Allow-Methods: "
                    "DELETE")
EXPOSE = ", ".join(MAIN_POLICY["expose_headers"])


def cors_headers(resp):
    return sorted((n.lower(), v) for n, v in resp.headers
                  if n.lower().startswith("access-control-"))


def assert_main_allowed(resp, origin="https://app.example.com"):
    assert resp.status == 200
    assert resp.header_values("access-control-allow-origin") == [origin]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert resp.header_values("access-control-expose-headers") == [EXPOSE]
    assert "origin" in set(resp.vary_tokens())


def test_proxied_allowed_replaces_upstream_cors_headers(stack):
    resp = stack.request("features", "GET", "/",
                         [APP, UPSTREAM_STAR, UPSTREAM_METHODS])
    assert_main_allowed(resp)
    assert resp.header_values("access-control-allow-methods") == []


def test_proxied_denied_strips_upstream_star(stack):
    resp = stack.request("features", "GET", "/", [EVIL, UPSTREAM_STAR])
    assert resp.status == 200
    assert cors_headers(resp) == []
    assert "origin" in set(resp.vary_tokens())


def test_more_lines_than_the_filter_reads_on_its_stack(stack):
    """Over 64 request and response lines: the filter reads them into a
    heap array, and still finds the Origin (sent last) and the upstream's
    CORS header."""
    fill = ["X-Test-Upstream-Header: X-Fill-%d: %d" % (i, i)
            for i in range(70)]
    resp = stack.request("features", "GET", "/",
                         fill + [UPSTREAM_STAR, UPSTREAM_METHODS, APP])
    assert len(resp.headers) > 70
    assert_main_allowed(resp)
    assert resp.header_values("access-control-allow-methods") == []
    resp = stack.request("features", "GET", "/", fill + [UPSTREAM_STAR, EVIL])
    assert cors_headers(resp) == []


def test_direct_response_actual(stack):
    resp = stack.request("features", "GET", "/direct", [APP])
    assert_main_allowed(resp)
    assert resp.body == b"direct"


def test_direct_response_preflight(stack):
    resp = stack.request("features", "OPTIONS", "/direct", [
        APP, "Access-Control-Request-Method: PUT",
        "Access-Control-Request-Headers: content-type"])
    assert resp.status == 204
    assert cors_headers(resp) == sorted([
        ("access-control-allow-origin", "https://app.example.com"),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-methods", "GET, POST, PUT"),
        ("access-control-allow-headers", "content-type, x-request-id"),
        ("access-control-max-age", "600"),
        ("access-control-expose-headers", EXPOSE),
    ])
    assert {"origin", "access-control-request-method",
            "access-control-request-headers"} <= set(resp.vary_tokens())
    assert resp.body == b""


def test_preflight_denied_is_answered_403(stack):
    resp = stack.request("features", "OPTIONS", "/", [
        EVIL, "Access-Control-Request-Method: PUT"])
    assert resp.status == 403
    assert cors_headers(resp) == []
    assert resp.body == b""


def test_envoy_local_reply_no_healthy_upstream(stack):
    resp = stack.request("features", "GET", "/dead", [APP])
    assert resp.status == 503
    assert_main_allowed_headers_only(resp)


def test_envoy_local_reply_route_not_found(stack):
    resp = stack.request("features", "GET", "/nowhere", [APP],
                         host="noroute.test")
    assert resp.status == 404
    assert_main_allowed_headers_only(resp)


def assert_main_allowed_headers_only(resp):
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert "origin" in set(resp.vary_tokens())


def test_route_policy_overrides_listener(stack):
    for path in ("/override", "/override-struct"):
        resp = stack.request("features", "GET", path, [APP, UPSTREAM_STAR])
        assert resp.status == 200, path
        assert cors_headers(resp) == [], path
        resp = stack.request("features", "GET", path, [OTHER])
        assert cors_headers(resp) == [
            ("access-control-allow-origin", "https://other.example.com")], path


def test_route_disabled_leaves_response_alone(stack):
    resp = stack.request("features", "GET", "/disabled", [APP, UPSTREAM_STAR])
    assert resp.status == 200
    assert cors_headers(resp) == [("access-control-allow-origin", "*")]
    assert "origin" not in set(resp.vary_tokens())
    # A preflight goes to the upstream instead of being answered.
    resp = stack.request("features", "OPTIONS", "/disabled", [
        EVIL, "Access-Control-Request-Method: PUT"])
    assert resp.status == 200


def test_virtual_host_policy_and_route_precedence(stack):
    host = "vhost.test"
    resp = stack.request("features", "GET", "/", [
        "Origin: https://vhost.example.com"], host=host)
    assert cors_headers(resp) == [
        ("access-control-allow-origin", "https://vhost.example.com")]
    resp = stack.request("features", "GET", "/", [APP], host=host)
    assert cors_headers(resp) == []
    assert resp.header_values("x-corsgate-reason") == ["origin-not-allowed"]
    # The route's own policy wins over its virtual host's.
    resp = stack.request("features", "GET", "/route-wins", [OTHER], host=host)
    assert cors_headers(resp) == [
        ("access-control-allow-origin", "https://other.example.com")]


def test_struct_filter_config(stack):
    resp = stack.request("struct", "GET", "/", [APP, UPSTREAM_STAR])
    assert_main_allowed(resp)


def test_report_mode_changes_nothing(stack):
    resp = stack.request("report", "GET", "/", [EVIL, UPSTREAM_STAR])
    assert resp.status == 200
    assert cors_headers(resp) == [("access-control-allow-origin", "*")]
    assert "origin" not in set(resp.vary_tokens())
    resp = stack.request("report", "OPTIONS", "/", [
        EVIL, "Access-Control-Request-Method: PUT"])
    assert resp.status == 200  # forwarded, not refused
