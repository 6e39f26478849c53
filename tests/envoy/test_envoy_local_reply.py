"""Preflights under an HTTP connection manager local_reply_config with a
body_format (a common JSON-errors setup): the "jsonerrors" listener.

Envoy gives every local reply that body, a 204 included; when the filter
answered preflights with a local reply, that corrupted the next pipelined
HTTP/1.1 response and made curl fail over HTTP/2 with PROTOCOL_ERROR. The
filter now sends an allowed preflight as plain response headers that end
the stream (local_reply_config does not apply); a denial stays a local
reply and may get the JSON body, which is valid HTTP."""

import json
import socket

import pytest

import corsgate_http as harness
from envoy_stack import h2_request

APP = ("Origin", "https://app.example.com")
EVIL = ("Origin", "https://evil.example.net")
ALLOWED_PREFLIGHT = [APP, ("Access-Control-Request-Method", "PUT"),
                     ("Access-Control-Request-Headers", "content-type")]
DENIED_PREFLIGHT = [EVIL, ("Access-Control-Request-Method", "PUT")]


def wire(method, path, lines, close=False):
    out = "%s %s HTTP/1.1\r\nHost: jsonerrors.test\r\n" % (method, path)
    out += "".join("%s: %s\r\n" % line for line in lines)
    if close:
        out += "Connection: close\r\n"
    return (out + "\r\n").encode()


def pipelined(port, first):
    """`first` and then a proxied GET, written at once on one connection;
    returns every byte Envoy sent until it closed."""
    data = (wire(first[0], first[1], first[2])
            + wire("GET", "/", [APP], close=True))
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def split_responses(raw):
    """[(status line, {lowercased name: value}, body)] of HTTP/1.1
    responses one after the other, framed by Content-Length (a 204 and a
    304 have no body whatever they say)."""
    out = []
    while raw:
        head, sep, raw = raw.partition(b"\r\n\r\n")
        assert sep, "truncated response head: %r" % head[:200]
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), \
            "not a status line (the previous response's body?): %r" % lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(lines[0].split()[1])
        length = 0 if status in (204, 304) else int(
            headers.get("content-length", "0"))
        out.append((lines[0], headers, raw[:length]))
        raw = raw[length:]
    return out


def test_listener_really_has_json_errors(stack):
    """Envoy's own errors on this listener get the JSON body (so the tests
    below are not vacuous)."""
    resp = stack.request("jsonerrors", "GET", "/dead", [APP])
    assert resp.status == 503
    assert json.loads(resp.body)["status"] == 503
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]


def test_allowed_preflight_http1_has_no_body(stack):
    resp = stack.request("jsonerrors", "OPTIONS", "/", ALLOWED_PREFLIGHT)
    assert resp.status == 204
    assert resp.header_values("content-length") == []
    assert resp.header_values("content-type") == []
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    assert resp.header_values("access-control-allow-methods") == [
        "GET, POST, PUT"]


@pytest.mark.parametrize("path,status", [("/", 204), ("/direct", 204),
                                         ("/status200", 200)])
def test_allowed_preflight_then_pipelined_request(stack, path, status):
    responses = split_responses(pipelined(
        stack.ports["jsonerrors"], ("OPTIONS", path, ALLOWED_PREFLIGHT)))
    assert [r[0].split()[1] for r in responses] == [str(status), "200"]
    first, second = responses
    assert first[1]["access-control-allow-origin"] == "https://app.example.com"
    assert first[2] == b""
    assert "content-type" not in first[1]
    if status == 200:
        assert first[1]["content-length"] == "0"
    assert second[2] == harness.UPSTREAM_BODY
    assert second[1]["access-control-allow-origin"] == "https://app.example.com"


def test_denied_preflight_then_pipelined_request(stack):
    """A denial is a local reply: the JSON body, framed by its own
    Content-Length, and the next response intact."""
    responses = split_responses(pipelined(
        stack.ports["jsonerrors"], ("OPTIONS", "/", DENIED_PREFLIGHT)))
    assert [r[0].split()[1] for r in responses] == ["403", "200"]
    first, second = responses
    assert json.loads(first[2]) == {"status": 403,
                                    "details": "corsgate_origin-not-allowed"}
    assert not any(n.startswith("access-control-") for n in first[1])
    assert second[2] == harness.UPSTREAM_BODY


@pytest.mark.parametrize("path,status", [("/", 204), ("/direct", 204),
                                         ("/status200", 200)])
def test_allowed_preflight_http2(stack, path, status):
    resp = h2_request(stack.ports["jsonerrors"], "OPTIONS", path,
                      ALLOWED_PREFLIGHT)
    assert resp.status == status
    assert resp.body == b""
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    assert resp.header_values("access-control-allow-headers") == [
        "content-type, x-request-id"]


def test_denied_preflight_http2(stack):
    resp = h2_request(stack.ports["jsonerrors"], "OPTIONS", "/",
                      DENIED_PREFLIGHT)
    assert resp.status == 403
    assert json.loads(resp.body)["status"] == 403
    assert not any(n.lower().startswith("access-control-")
                   for n, _ in resp.headers)


def test_actual_requests_unchanged(stack):
    """Actual requests are not local replies: same as without
    local_reply_config."""
    resp = stack.request("jsonerrors", "GET", "/", [APP])
    assert resp.status == 200 and resp.body == harness.UPSTREAM_BODY
    assert resp.header_values("access-control-allow-origin") == [
        "https://app.example.com"]
    resp = h2_request(stack.ports["jsonerrors"], "GET", "/", [EVIL])
    assert resp.status == 200 and resp.body == harness.UPSTREAM_BODY
    assert resp.header_values("access-control-allow-origin") == []
