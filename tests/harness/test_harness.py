"""Self-test of the shared HTTP replay harness (no corsgate needed)."""

import http.client
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corsgate_http as ch  # noqa: E402


@pytest.fixture
def upstream():
    with ch.Upstream() as up:
        ch.wait_for_http("127.0.0.1", up.port, timeout=5)
        up.reset()
        yield up


def test_duplicate_lines_and_upstream_header_echo(upstream):
    lines = [
        ("Origin", "https://a.example"),
        ("Origin", "https://b.example"),
        ("X-Test-Upstream-Header", "Access-Control-Allow-Origin: *"),
        ("X-Test-Upstream-Header", "Vary: Accept-Encoding"),
        ("X-Test-Upstream-Header", "Vary: Origin"),
    ]
    resp = ch.raw_request("127.0.0.1", upstream.port, "GET", "/x", lines)
    assert resp.status == 200
    assert resp.body == ch.UPSTREAM_BODY
    assert resp.header_values("access-control-allow-origin") == ["*"]
    assert resp.header_values("VARY") == ["Accept-Encoding", "Origin"]
    assert resp.vary_tokens() == ["accept-encoding", "origin"]
    assert upstream.hits == 1
    seen = upstream.requests[0]
    assert seen.method == "GET" and seen.path == "/x"
    assert [v for n, v in seen.headers if n.lower() == "origin"] == ["https://a.example", "https://b.example"]
    assert ("Connection", "close") in seen.headers
    assert any(n == "Host" for n, _ in seen.headers)


def test_status_path_and_methods(upstream):
    r = ch.raw_request("127.0.0.1", upstream.port, "OPTIONS", "/status/418", [])
    assert (r.status, r.body) == (418, ch.UPSTREAM_BODY)
    r = ch.raw_request("127.0.0.1", upstream.port, "PROPFIND", "/status/500?x=1", [])
    assert (r.status, r.body) == (500, ch.UPSTREAM_BODY)
    r = ch.raw_request("127.0.0.1", upstream.port, "DELETE", "/status/204", [])
    assert (r.status, r.body) == (204, b"")
    r = ch.raw_request("127.0.0.1", upstream.port, "HEAD", "/", [])
    assert (r.status, r.body) == (200, b"")
    assert r.header("content-length") == str(len(ch.UPSTREAM_BODY))
    r = ch.raw_request("127.0.0.1", upstream.port, "POST", "/", [], body=b"hello")
    assert r.status == 200
    assert upstream.requests[-1].body == b"hello"
    assert upstream.hits == 5


def test_arbitrary_bytes_are_sent_as_given(upstream):
    lines = [(b"X-Raw", b"caf\xc3\xa9"), ("x-lower-name", "v")]
    r = ch.raw_request("127.0.0.1", upstream.port, "GET", "/", lines)
    assert r.status == 200
    seen = dict(upstream.requests[0].headers)
    assert seen["X-Raw"].encode("latin-1") == b"caf\xc3\xa9"
    assert "x-lower-name" in seen


def test_keep_alive(upstream):
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert resp.read() == ch.UPSTREAM_BODY
        assert upstream.hits == 3
    finally:
        conn.close()


def _one_shot_server(reply: bytes):
    """A raw server that reads one request head, sends REPLY, closes."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def run():
        conn, _ = srv.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            if reply:
                conn.sendall(reply)
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return port, t


def test_chunked_and_interim_responses():
    reply = (b"HTTP/1.1 100 Continue\r\n\r\n"
             b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n"
             b"Vary: Origin\r\nvary: Access-Control-Request-Method\r\n\r\n"
             b"4\r\nupst\r\n5;ext=1\r\nream\n\r\n0\r\nX-Trailer: 1\r\n\r\n")
    port, t = _one_shot_server(reply)
    r = ch.raw_request("127.0.0.1", port, "GET", "/", [])
    t.join(5)
    assert r.status == 403 and r.reason == "Forbidden"
    assert r.body == b"upstream\n"
    assert r.header_values("Vary") == ["Origin", "Access-Control-Request-Method"]
    assert [n for n, _ in r.headers] == ["Transfer-Encoding", "Vary", "vary"]


def test_body_until_close():
    port, t = _one_shot_server(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close")
    r = ch.raw_request("127.0.0.1", port, "GET", "/", [])
    t.join(5)
    assert r.body == b"until close"


def test_closed_without_reply():
    port, t = _one_shot_server(b"")
    with pytest.raises(ch.NoResponseError):
        ch.raw_request("127.0.0.1", port, "GET", "/", [])
    t.join(5)


def test_wait_for_http_times_out_on_closed_port():
    with pytest.raises(TimeoutError):
        ch.wait_for_http("127.0.0.1", ch.free_port(), timeout=0.3)


def test_load_vectors():
    cases = ch.load_vectors()
    assert len(cases) >= 220
    ids = [c.case_id for c in cases]
    assert len(ids) == len(set(ids))
    assert all(c.case_id.isascii() and " " not in c.case_id for c in cases)
    http_cases = ch.load_vectors(http_only=True)
    assert 0 < len(http_cases) < len(cases)
    c = next(c for c in cases if c.upstream_headers)
    assert ch.upstream_header_lines(c)[0][0] == ch.UPSTREAM_HEADER
    assert ch.request_lines(c)[: len(c.headers)] == list(c.headers)


def test_check_vectors_script_passes():
    script = HERE.parent / "vectors" / "check_vectors.py"
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "total" in p.stdout


def _case(expect, upstream_headers=(), method="GET"):
    return ch.Case("t.json", "t", "", {}, ch.Request(method, (("Origin", "https://a.test"),)),
                   tuple(upstream_headers), expect, True)


def _resp(status, headers, body=ch.UPSTREAM_BODY):
    return ch.Response(status, "", list(headers), body)


ALLOWED = {"verdict": "allowed", "kind": "actual", "reason": "allowed", "action": "continue",
           "status": 0, "strip_upstream": True,
           "headers": [["access-control-allow-origin", "https://a.test"], ["vary", "Origin"]]}
REJECTED = {"verdict": "denied", "kind": "actual", "reason": "origin-not-allowed", "action": "respond",
            "status": 403, "strip_upstream": True,
            "headers": [["vary", "Origin"], ["x-corsgate-reason", "origin-not-allowed"]]}
REPORTED = {"verdict": "denied", "kind": "actual", "reason": "origin-not-allowed", "action": "continue",
            "status": 0, "strip_upstream": False, "headers": []}


def test_check_case_pass_and_fail():
    c = _case(ALLOWED, [["Vary", "Accept-Encoding"], ["Access-Control-Allow-Origin", "*"]])
    good = _resp(200, [("Access-Control-Allow-Origin", "https://a.test"), ("Vary", "Accept-Encoding,Origin")])
    assert ch.check_all(c, good) == []
    # upstream's * left in place, so ACAO is doubled
    bad = _resp(200, [("Access-Control-Allow-Origin", "*"), ("access-control-allow-origin", "https://a.test"),
                      ("Vary", "Accept-Encoding, Origin")])
    assert any("access-control-allow-origin" in p for p in ch.check_case(c, bad))
    # Vary overwritten: upstream token lost
    bad = _resp(200, [("Access-Control-Allow-Origin", "https://a.test"), ("Vary", "Origin")])
    assert any("accept-encoding" in p for p in ch.check_case(c, bad))
    # no Vary at all, extra CORS header, wrong status
    bad = _resp(500, [("Access-Control-Allow-Origin", "https://a.test"), ("Access-Control-Max-Age", "5")])
    msgs = ch.check_case(c, bad)
    assert len(msgs) == 3, msgs


def test_check_case_respond_and_report():
    c = _case(REJECTED)
    ok = _resp(403, [("Vary", "Origin"), ("X-Corsgate-Reason", "origin-not-allowed")], b"")
    assert ch.check_all(c, ok) == []
    upstream_answered = _resp(403, ok.headers, ch.UPSTREAM_BODY)
    assert ch.check_case(c, upstream_answered) == []
    assert ch.check_body(c, upstream_answered) != []
    assert ch.check_body(c, _resp(403, ok.headers, b"<html>"), require_empty=False) == []
    assert ch.check_body(c, _resp(403, ok.headers, b"<html>")) != []
    r = _case(REPORTED, [["Access-Control-Allow-Origin", "*"]])
    assert ch.check_all(r, _resp(200, [("Access-Control-Allow-Origin", "*")])) == []
    assert ch.check_case(r, _resp(200, [])) != []  # report mode must not strip
    assert ch.check_case(r, _resp(200, [("Access-Control-Allow-Origin", "*"), ("Vary", "Origin")])) == []
