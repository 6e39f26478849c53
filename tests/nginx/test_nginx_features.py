"""nginx-specific behaviour: where preflights are answered, CORS headers on
every response (auth, errors, internal redirects), ownership of the CORS
headers against the upstream and add_header, report mode, reject mode,
$cors_result, subrequests.

One nginx: an http-level cors_policy_file (MAIN) and one location per
feature.
"""

import json
import shutil
import socket
import subprocess
import time

import pytest

from nginx_process import harness, nginx_version, start_nginx, stop_nginx

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
MAIN = {
    "allow_origins": [APP, "https://*.example.org"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-request-id"],
    "expose_headers": ["x-request-id"],
    "allow_credentials": True,
    "max_age": 600,
}
# a policy under which a subrequest, were it evaluated, would be refused
REFUSING = "cors_allow_origins https://nobody.example.net; " \
           "cors_actual_deny reject;"


@pytest.fixture(scope="module")
def srv(tmp_path_factory, module, upstream):
    files = tmp_path_factory.mktemp("features-files")
    (files / "main.json").write_text(json.dumps(MAIN))
    (files / "htpasswd").write_text("user:{PLAIN}secret\n")
    www = files / "www"
    (www / "static").mkdir(parents=True)
    (www / "errpage").mkdir()
    (www / "tryfiles").mkdir()
    (www / "ssi").mkdir()
    (www / "custom404.html").write_text("custom 404 page\n")
    (www / "ssi" / "index.html").write_text(
        'before <!--# include virtual="/ssi-part" --> after\n')
    port, h2, dead = (harness.free_port() for _ in range(3))
    up = f"http://127.0.0.1:{upstream.port}"
    log = files / "cors.log"
    # (test_nginx_http2.py compares HTTP/2 with HTTP/1.1 in depth)
    h2_listen = (f"listen 127.0.0.1:{h2}; http2 on;"
                 if nginx_version() >= (1, 25, 1)
                 else f"listen 127.0.0.1:{h2} http2;")
    http = f"""
    log_format cors '$request_uri $status $cors_result';
    cors_policy_file {files}/main.json;

    server {{
        listen 127.0.0.1:{port};
        root {www};
        access_log {log} cors;

        location /proxy/ {{ proxy_pass {up}; }}
        location = /return200 {{ return 200 "hi\\n"; }}
        location = /return403 {{ return 403; }}
        location /basic/ {{
            auth_basic "test";
            auth_basic_user_file {files}/htpasswd;
            proxy_pass {up};
        }}
        location /denyall/ {{ deny all; proxy_pass {up}; }}
        location /authreq/ {{ auth_request /authfail; proxy_pass {up}; }}
        location = /authfail {{ internal; return 401; }}
        location /static/ {{ }}
        location /dead/ {{ proxy_pass http://127.0.0.1:{dead}; }}
        location /upstream-status/ {{ proxy_pass {up}/status/; }}
        location /errpage/ {{ error_page 404 /custom404.html; }}
        location = /custom404.html {{ cors off; }}
        location /tryfiles/ {{ try_files $uri @fallback; }}
        location @fallback {{ proxy_pass {up}; }}
        location /rewrite/ {{ rewrite ^ /proxy/rewritten last; }}
        location /addheader/ {{
            add_header Access-Control-Allow-Origin "*" always;
            add_header Access-Control-Allow-Credentials "false" always;
            add_header Vary "Accept-Encoding" always;
            proxy_pass {up};
        }}
        location /report/ {{ cors report; proxy_pass {up}; }}
        location /reject/ {{ cors_actual_deny reject; proxy_pass {up}; }}
        location /off/ {{ cors off; proxy_pass {up}; }}
        location /mirror/ {{ mirror /mirror-target; proxy_pass {up}; }}
        location = /mirror-target {{
            internal;
            {REFUSING}
            proxy_pass {up}/mirrored;
        }}
        location /mirror-off/ {{
            cors off;
            mirror /mirror-target;
            proxy_pass {up};
        }}
        location /ssi/ {{ ssi on; }}
        location /ssi-off/ {{ cors off; ssi on; alias {www}/ssi/; }}
        location = /ssi-part {{ {REFUSING} return 200 "PART"; }}
    }}

    server {{
        {h2_listen}
        location = /return200 {{ return 200 "hi\n"; }}
    }}
"""
    n = start_nginx(tmp_path_factory, "features", http, [port, h2])
    n.port, n.h2_port = port, h2
    n.access_log = log
    yield n
    stop_nginx(n)


def get(srv, path, origin=APP, method="GET", headers=(), body=None):
    lines = [("Origin", origin)] if origin else []
    return harness.raw_request("127.0.0.1", srv.port, method, path,
                               lines + list(headers), body=body)


def preflight(srv, path, origin=APP, method="PUT", headers="content-type"):
    lines = [("Access-Control-Request-Method", method)]
    if headers:
        lines.append(("Access-Control-Request-Headers", headers))
    return get(srv, path, origin, "OPTIONS", lines)


def upstream_sends(*pairs):
    return [(harness.UPSTREAM_HEADER, f"{n}: {v}") for n, v in pairs]


def assert_allowed_actual(resp):
    assert resp.header_values("access-control-allow-origin") == [APP]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert resp.header_values("access-control-expose-headers") == [
        "x-request-id"]
    assert "origin" in resp.vary_tokens()


def assert_no_cors(resp):
    assert [n for n, _ in resp.headers
            if n.lower().startswith("access-control-")] == []


# --- preflights are answered first --------------------------------------

@pytest.mark.parametrize("path", [
    "/proxy/x", "/return200", "/return403", "/basic/x", "/denyall/x",
    "/authreq/x", "/static/missing", "/dead/x", "/reject/x",
])
def test_preflight_answered_before_everything(srv, upstream, path):
    hits = upstream.hits
    resp = preflight(srv, path)
    assert resp.status == 204
    assert resp.body == b""
    assert resp.header_values("access-control-allow-origin") == [APP]
    assert resp.header_values("access-control-allow-credentials") == ["true"]
    assert resp.header_values("access-control-allow-methods") == [
        "GET, POST, PUT"]
    assert resp.header_values("access-control-allow-headers") == [
        "content-type, x-request-id"]
    assert resp.header_values("access-control-max-age") == ["600"]
    assert {"origin", "access-control-request-method",
            "access-control-request-headers"} <= set(resp.vary_tokens())
    assert upstream.hits == hits


def test_denied_preflight_is_403_before_auth(srv, upstream):
    hits = upstream.hits
    for path in ("/basic/x", "/return200", "/proxy/x"):
        resp = preflight(srv, path, origin=EVIL)
        assert resp.status == 403
        assert resp.body == b""
        assert resp.header("content-length") == "0"
        assert_no_cors(resp)
        assert "origin" in resp.vary_tokens()
    resp = preflight(srv, "/proxy/x", method="DELETE")
    assert resp.status == 403
    assert upstream.hits == hits


def test_answers_keep_the_connection_usable(srv):
    # keep-alive: a 204 preflight, a rejected POST whose body must be
    # discarded, then a normal request, all on one connection
    body = "x" * 5000
    req = (f"OPTIONS /return200 HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\n"
           "Access-Control-Request-Method: PUT\r\n\r\n"
           f"POST /reject/x HTTP/1.1\r\nHost: x\r\nOrigin: {EVIL}\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}"
           f"GET /return200 HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\n"
           "Connection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(req.encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    statuses = [line.split()[1] for line in data.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]
    assert statuses == [b"204", b"403", b"200"]
    assert data.endswith(b"hi\n")


# --- CORS headers on every response -------------------------------------

@pytest.mark.parametrize("path,status", [
    ("/basic/x", 401),
    ("/authreq/x", 401),
    ("/denyall/x", 403),
    ("/return403", 403),
    ("/static/missing", 404),
    ("/dead/x", 502),
    ("/upstream-status/500", 500),
    ("/upstream-status/404", 404),
    ("/return200", 200),
])
def test_cors_headers_on_every_status(srv, path, status):
    resp = get(srv, path)
    assert resp.status == status
    assert_allowed_actual(resp)
    denied = get(srv, path, origin=EVIL)
    assert denied.status == status
    assert_no_cors(denied)
    assert "origin" in denied.vary_tokens()


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: x\r\nOrigin: %s\r\nBad Header\r\n\r\n",
    b"GET / HTTP/1.1\r\nOrigin: %s\r\n\r\n",   # no Host
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
])
def test_bad_requests_answered_safely(srv, head):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(head.replace(b"%s", APP.encode()))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 ")
    head_lines = data.split(b"\r\n\r\n")[0].lower().split(b"\r\n")
    if APP.encode() in head:
        assert b"access-control-allow-origin: " + APP.encode() in head_lines
    assert "exited on signal" not in srv.log()


def test_error_page_internal_redirect(srv):
    # /errpage/ decides; the error page's location (cors off) does not undo it
    resp = get(srv, "/errpage/missing")
    assert resp.status == 404
    assert resp.body == b"custom 404 page\n"
    assert_allowed_actual(resp)
    denied = get(srv, "/errpage/missing", origin=EVIL)
    assert denied.status == 404
    assert_no_cors(denied)


def test_try_files_fallback(srv, upstream):
    resp = get(srv, "/tryfiles/missing",
               headers=upstream_sends(("Access-Control-Allow-Origin", "*")))
    assert resp.status == 200
    assert resp.body == harness.UPSTREAM_BODY
    assert_allowed_actual(resp)
    assert upstream.requests[-1].path == "/tryfiles/missing"


def test_rewrite_last(srv):
    resp = get(srv, "/rewrite/x")
    assert resp.status == 200
    assert_allowed_actual(resp)


# --- the engine owns the CORS headers -----------------------------------

def test_upstream_acao_replaced_not_duplicated(srv):
    resp = get(srv, "/proxy/x", headers=upstream_sends(
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Origin", "https://other.example"),
        ("Access-Control-Allow-Methods", "DELETE"),
        ("Vary", "Accept-Language")))
    assert_allowed_actual(resp)
    assert resp.header_values("access-control-allow-methods") == []
    assert {"origin", "accept-language"} <= set(resp.vary_tokens())


def test_denied_origin_never_sees_upstream_star(srv):
    resp = get(srv, "/proxy/x", origin=EVIL, headers=upstream_sends(
        ("Access-Control-Allow-Origin", "*")))
    assert resp.status == 200
    assert_no_cors(resp)


def test_add_header_replaced_and_vary_appended(srv):
    resp = get(srv, "/addheader/x", headers=upstream_sends(
        ("Vary", "Accept-Language")))
    assert_allowed_actual(resp)
    assert {"origin", "accept-encoding", "accept-language"} <= set(
        resp.vary_tokens())
    denied = get(srv, "/addheader/x", origin=EVIL)
    assert_no_cors(denied)
    assert {"origin", "accept-encoding"} <= set(denied.vary_tokens())


def test_cors_off_leaves_response_alone(srv):
    resp = get(srv, "/off/x", headers=upstream_sends(
        ("Access-Control-Allow-Origin", "*")))
    assert resp.header_values("access-control-allow-origin") == ["*"]
    assert resp.header_values("vary") == []


# --- report and reject ---------------------------------------------------

def test_report_mode_changes_nothing(srv, upstream):
    sent = upstream_sends(("Access-Control-Allow-Origin", "*"),
                          ("Vary", "Accept-Language"))
    for origin in (APP, EVIL, None):
        resp = get(srv, "/report/x", origin=origin, headers=sent)
        assert resp.status == 200
        assert resp.body == harness.UPSTREAM_BODY
        assert resp.header_values("access-control-allow-origin") == ["*"]
        assert resp.header_values("vary") == ["Accept-Language"]
    hits = upstream.hits
    resp = preflight(srv, "/report/x")
    assert resp.status == 200
    assert resp.body == harness.UPSTREAM_BODY
    assert upstream.hits == hits + 1
    assert resp.header_values("access-control-allow-origin") == []


def test_actual_deny_reject_never_reaches_upstream(srv, upstream):
    hits = upstream.hits
    resp = get(srv, "/reject/x", origin=EVIL, method="POST",
               headers=[("Content-Type", "text/plain")], body=b"side effect")
    assert resp.status == 403
    assert resp.body == b""
    assert_no_cors(resp)
    assert "origin" in resp.vary_tokens()
    assert upstream.hits == hits
    resp = get(srv, "/reject/x", method="POST", body=b"fine")
    assert resp.status == 200
    assert_allowed_actual(resp)
    assert upstream.hits == hits + 1
    assert upstream.requests[-1].body == b"fine"


# --- $cors_result ---------------------------------------------------------

def test_cors_result_in_access_log(srv):
    cases = {
        "/proxy/log-allowed": (APP, "allowed"),
        "/proxy/log-denied": (EVIL, "origin-not-allowed"),
        "/proxy/log-malformed": ("https://APP.example.com",
                                 "origin-malformed"),
        "/proxy/log-none": (None, "not-cors"),
        "/off/log-off": (APP, "-"),
        "/return403?log-error": (APP, "allowed"),
        "/report/log-report": (EVIL, "origin-not-allowed"),
    }
    for path, (origin, _) in cases.items():
        get(srv, path, origin=origin)
    deadline = time.monotonic() + 5
    while True:
        lines = srv.access_log.read_text().splitlines()
        got = {line.split()[0]: line.split()[2] for line in lines}
        if all(p in got for p in cases) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {p: got.get(p) for p in cases} == {
        p: want for p, (_, want) in cases.items()}


def test_denial_logged_at_info_with_reason(srv):
    get(srv, "/proxy/info-log", origin=EVIL)
    get(srv, "/report/info-log", origin=EVIL)
    preflight(srv, "/proxy/info-log", headers="x-secret")
    lines = srv.log().splitlines()

    def logged(*parts):
        return any(all(p in line for p in parts) for line in lines)

    assert logged("[info]", "cors: denied: origin-not-allowed "
                  f'"{EVIL}"', "GET /proxy/info-log")
    assert logged("[info]", "cors: would deny: origin-not-allowed",
                  "GET /report/info-log")
    assert logged("[info]", 'cors: denied: header-not-allowed "x-secret"',
                  "OPTIONS /proxy/info-log")


# --- subrequests are not evaluated ---------------------------------------

def mirrored(upstream):
    return sum(r.path == "/mirrored" for r in upstream.requests)


@pytest.mark.parametrize("path", ["/mirror/x", "/mirror-off/x"])
def test_mirror_subrequest_not_evaluated(srv, upstream, path):
    before = mirrored(upstream)
    resp = get(srv, path)
    assert resp.status == 200
    if path == "/mirror/x":
        assert_allowed_actual(resp)
    else:
        assert_no_cors(resp)
    # the mirror's location would refuse this origin with a 403 before the
    # upstream; skipped, the mirrored request reaches the upstream
    deadline = time.monotonic() + 5
    while mirrored(upstream) == before:
        assert time.monotonic() < deadline, "mirror subrequest never arrived"
        time.sleep(0.02)


@pytest.mark.parametrize("path", ["/ssi/", "/ssi-off/"])
def test_ssi_subrequest_not_evaluated(srv, path):
    resp = get(srv, path)
    assert resp.status == 200
    assert resp.body == b"before PART after\n"
    if path == "/ssi/":
        assert_allowed_actual(resp)
    else:
        assert_no_cors(resp)
        assert resp.header_values("vary") == []


# --- HTTP/2 ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_http2(srv):
    def curl(*args):
        out = subprocess.run(
            ["curl", "-s", "-i", "--http2-prior-knowledge", *args,
             f"http://127.0.0.1:{srv.h2_port}/return200"],
            capture_output=True, text=True, timeout=10, check=True).stdout
        head = out.split("\r\n\r\n")[0].splitlines()
        return head[0], [line.lower() for line in head[1:]]

    status, headers = curl("-H", f"Origin: {APP}")
    assert status.startswith("HTTP/2 200")
    assert headers.count(f"access-control-allow-origin: {APP}") == 1
    status, headers = curl("-X", "OPTIONS", "-H", f"Origin: {APP}",
                           "-H", "Access-Control-Request-Method: PUT")
    assert status.startswith("HTTP/2 204")
    assert "access-control-allow-methods: get, post, put" in headers
