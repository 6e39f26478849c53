"""corsgate next to Envoy's built-in CORS filter, same policy, same
upstream: on actual requests from an allowed origin both must send the same
Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers."""

import pytest


COMPARED = ("access-control-allow-origin", "access-control-allow-credentials",
            "access-control-expose-headers")


@pytest.mark.parametrize("method,extra", [
    ("GET", []),
    ("HEAD", []),
    ("POST", ["Content-Type: text/plain"]),
    ("PUT", ["Content-Type: application/json"]),
    ("DELETE", []),
    ("OPTIONS", []),  # OPTIONS without a request method: an actual request
])
def test_same_headers_as_builtin_on_allowed_actual(stack, method, extra):
    lines = ["Origin: https://app.example.com"] + extra
    ours = stack.request("features", method, "/", lines)
    theirs = stack.request("builtin", method, "/", lines)
    assert ours.status == theirs.status == 200
    for name in COMPARED:
        assert ours.header_values(name) == theirs.header_values(name), name
    assert ours.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
