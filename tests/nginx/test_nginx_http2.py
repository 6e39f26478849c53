"""HTTP/2: the same requests over HTTP/1.1 and HTTP/2, cleartext (h2c, prior
knowledge) and TLS (ALPN h2, a throwaway certificate made here), get the
same status and exactly the same response headers, on each nginx version
under test (`listen ... http2` before nginx 1.25.1, `http2 on` since).

The client is curl (--http1.1, --http2-prior-knowledge, --http2 over TLS),
one client for both protocols, so that what differs is nginx's doing.
"""

import json
import shutil
import subprocess

import pytest

from nginx_process import harness, nginx_version, start_nginx, stop_nginx

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
POLICY = {
    "allow_origins": [APP],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-request-id"],
    "expose_headers": ["x-request-id"],
    "allow_credentials": True,
    "max_age": 600,
    "debug": True,
}
# differ by protocol by definition (HTTP/1.1 connection management)
HOP = {"date", "connection", "keep-alive", "transfer-encoding"}

pytestmark = pytest.mark.skipif(shutil.which("curl") is None,
                                reason="needs curl")


def server(listens, h2, up, www):
    if h2 and nginx_version() >= (1, 25, 1):
        listens = [f"listen {x};" for x in listens] + ["http2 on;"]
    else:
        listens = [f"listen {x}{' http2' if h2 else ''};" for x in listens]
    return f"""
    server {{
        {' '.join(listens)}
        root {www};
        location /proxy/ {{ proxy_pass {up}; }}
        location = /return200 {{ return 200 "hi\\n"; }}
    }}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory, module, upstream):
    files = tmp_path_factory.mktemp("http2-files")
    (files / "policy.json").write_text(json.dumps(POLICY))
    (files / "www").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(files / "key.pem"),
         "-out", str(files / "cert.pem")],
        check=True, capture_output=True, timeout=30)
    h1, h1s, h2c, h2s = (harness.free_port() for _ in range(4))
    up = f"http://127.0.0.1:{upstream.port}"
    www = files / "www"
    http = f"""
    cors_policy_file {files}/policy.json;
    ssl_certificate {files}/cert.pem;
    ssl_certificate_key {files}/key.pem;
    {server([f"127.0.0.1:{h1}", f"127.0.0.1:{h1s} ssl"], False, up, www)}
    {server([f"127.0.0.1:{h2c}"], True, up, www)}
    {server([f"127.0.0.1:{h2s} ssl"], True, up, www)}
"""
    n = start_nginx(tmp_path_factory, "http2", http, [h1, h1s, h2c, h2s])
    n.urls = {
        "http/1.1": (f"http://127.0.0.1:{h1}", ["--http1.1"]),
        "http/1.1+tls": (f"https://127.0.0.1:{h1s}", ["--http1.1", "-k"]),
        "h2c": (f"http://127.0.0.1:{h2c}", ["--http2-prior-knowledge"]),
        "h2": (f"https://127.0.0.1:{h2s}", ["--http2", "-k"]),
    }
    yield n
    stop_nginx(n)


def curl(srv, proto, method, path, headers=(), body=None):
    """(status line, [(lowercased name, value), ...]) of one request."""
    base, opts = srv.urls[proto]
    args = ["curl", "-sS", "-o", "/dev/null", "-D", "-", *opts,
            "-X", method]
    for name, value in headers:
        args += ["-H", f"{name}: {value}"]
    if body is not None:
        args += ["--data-binary", body]
    out = subprocess.run(args + [base + path], capture_output=True,
                         text=True, timeout=15, check=True).stdout
    # (text mode: curl's CRLFs arrive as LFs)
    lines = out.split("\n\n")[0].splitlines()
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    return lines[0], pairs


def comparable(pairs):
    """Headers by name, each name's values in order; hop-by-hop left out."""
    out = {}
    for name, value in pairs:
        if name not in HOP:
            out.setdefault(name, []).append(value)
    return out


def up(name, value):
    return (harness.UPSTREAM_HEADER, f"{name}: {value}")


PRE = [("Access-Control-Request-Method", "PUT"),
       ("Access-Control-Request-Headers", "content-type, x-request-id")]

# name: (method, path, request headers, body, expected status, expected
# CORS headers (name -> values); every other access-control-* absent)
CASES = {
    "allowed-actual": ("GET", "/proxy/a", [("Origin", APP)], None, 200, {
        "access-control-allow-origin": [APP],
        "access-control-allow-credentials": ["true"],
        "access-control-expose-headers": ["x-request-id"],
        "vary": ["Origin"]}),
    "allowed-post": ("POST", "/proxy/p", [("Origin", APP),
                                          ("Content-Type", "text/plain")],
                     "body", 200, {
        "access-control-allow-origin": [APP],
        "access-control-allow-credentials": ["true"],
        "access-control-expose-headers": ["x-request-id"],
        "vary": ["Origin"]}),
    "denied-actual": ("GET", "/proxy/d", [("Origin", EVIL)], None, 200, {
        "x-corsgate-reason": ["origin-not-allowed"], "vary": ["Origin"]}),
    "upstream-cors-replaced": ("GET", "/proxy/u", [
        ("Origin", EVIL), up("Access-Control-Allow-Origin", "*"),
        up("Access-Control-Allow-Credentials", "true")], None, 200, {
        "x-corsgate-reason": ["origin-not-allowed"], "vary": ["Origin"]}),
    "allowed-preflight": ("OPTIONS", "/proxy/pf", [("Origin", APP), *PRE],
                          None, 204, {
        "access-control-allow-origin": [APP],
        "access-control-allow-credentials": ["true"],
        "access-control-allow-methods": ["GET, POST, PUT"],
        "access-control-allow-headers": ["content-type, x-request-id"],
        "access-control-expose-headers": ["x-request-id"],
        "access-control-max-age": ["600"],
        "vary": ["Origin, Access-Control-Request-Method, "
                 "Access-Control-Request-Headers"]}),
    "denied-preflight": ("OPTIONS", "/return200", [
        ("Origin", APP), ("Access-Control-Request-Method", "DELETE")],
        None, 403, {
        "x-corsgate-reason": ["method-not-allowed"],
        "vary": ["Origin, Access-Control-Request-Method, "
                 "Access-Control-Request-Headers"]}),
    "error-404": ("GET", "/missing", [("Origin", APP)], None, 404, {
        "access-control-allow-origin": [APP],
        "access-control-allow-credentials": ["true"],
        "access-control-expose-headers": ["x-request-id"],
        "vary": ["Origin"]}),
    "not-cors": ("GET", "/return200", [], None, 200, {"vary": ["Origin"]}),
}


@pytest.mark.parametrize("proto", ["h2c", "h2"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_http2_headers_exactly_as_http1(srv, case, proto):
    method, path, headers, body, status, cors = CASES[case]
    h1_tls = proto == "h2"
    ref_status, ref = curl(srv, "http/1.1+tls" if h1_tls else "http/1.1",
                           method, path, headers, body)
    got_status, got = curl(srv, proto, method, path, headers, body)

    assert ref_status.startswith(f"HTTP/1.1 {status}"), ref_status
    assert got_status.split()[:2] == ["HTTP/2", str(status)], got_status

    # what corsgate decides, on both protocols
    for pairs in (ref, got):
        h = comparable(pairs)
        owned = {k: v for k, v in h.items()
                 if k.startswith("access-control-")
                 or k in ("vary", "x-corsgate-reason")}
        assert owned == cors, pairs
    # and every other header too, value for value
    assert comparable(got) == comparable(ref)
