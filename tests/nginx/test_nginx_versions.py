"""Where nginx versions differ under the module. `make test` runs this file
against Debian's nginx 1.22.1 and against nginx 1.28.3 (nginx_process.py);
each test checks the behaviour of the version it runs on.

- Response headers (ngx_table_elt_t): nginx 1.23.0 added `next`, which links
  the lines of one header name; the module sets `h->next = NULL` on each
  header it pushes (`#if (nginx_version >= 1023000)` in the header filter).
  test_pushed_headers_join_other_lines_of_their_name runs that code on
  1.28.3: nginx >= 1.23 reads every line of a name through `next`
  (`$sent_http_vary` joins the upstream's, add_header's and the module's
  Vary lines); 1.22 gives the first line only.
- Request headers: the module reads Origin and the Access-Control-Request-*
  lines by walking `r->headers_in.headers` on every version (1.22 has no
  `headers_in.origin`, and 1.23+'s folding of repeated known headers does
  not apply to them); test_request_header_lines_read_one_by_one checks that
  two Origin lines, which 1.23+ could link, are refused on both.
"""

import json
import time

import pytest

from nginx_process import harness, nginx_version, start_nginx, stop_nginx

APP = "https://app.example.com"
POLICY = {"allow_origins": [APP], "allow_credentials": True}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, module, upstream):
    files = tmp_path_factory.mktemp("versions-files")
    (files / "policy.json").write_text(json.dumps(POLICY))
    port = harness.free_port()
    log = files / "sent.log"
    http = f"""
    cors_policy_file {files}/policy.json;
    log_format sent 'vary=[$sent_http_vary] '
                    'acao=[$sent_http_access_control_allow_origin] '
                    'origin=[$http_origin] cors=$cors_result';

    server {{
        listen 127.0.0.1:{port};
        access_log {log} sent;
        location / {{
            add_header Vary "Accept-Encoding" always;
            proxy_pass http://127.0.0.1:{upstream.port};
        }}
    }}
"""
    n = start_nginx(tmp_path_factory, "versions", http, [port])
    n.port, n.access_log = port, log
    yield n
    stop_nginx(n)


def last_log_line(srv, before):
    """The request's access log line (nginx writes it after the response
    went out, so it may come a moment after the client has read it)."""
    deadline = time.monotonic() + 5
    while True:
        lines = srv.access_log.read_text().splitlines()
        if len(lines) > before or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert len(lines) == before + 1, lines
    return lines[-1]


def log_lines(srv):
    return len(srv.access_log.read_text().splitlines())


def test_pushed_headers_join_other_lines_of_their_name(srv):
    before = log_lines(srv)
    r = harness.raw_request("127.0.0.1", srv.port, "GET", "/x", [
        ("Origin", APP),
        (harness.UPSTREAM_HEADER, "Vary: Accept-Language"),
        (harness.UPSTREAM_HEADER, "Access-Control-Allow-Origin: *")])
    assert r.status == 200
    # on the wire, every version: three Vary lines, one Allow-Origin
    assert r.header_values("vary") == ["Accept-Language", "Accept-Encoding",
                                       "Origin"]
    assert r.header_values("access-control-allow-origin") == [APP]
    line = last_log_line(srv, before)
    # the upstream's Allow-Origin is cleared (hash 0): only the module's
    assert f"acao=[{APP}]" in line, line
    if nginx_version() >= (1, 23, 0):
        # every Vary line, the module's included, through `next`
        assert "vary=[Accept-Language, Accept-Encoding, Origin]" in line, line
    else:
        assert "vary=[Accept-Language]" in line, line


def test_request_header_lines_read_one_by_one(srv):
    before = log_lines(srv)
    r = harness.raw_request("127.0.0.1", srv.port, "GET", "/x", [
        ("Origin", APP), ("Origin", APP)])
    assert r.status == 200
    assert r.header_values("access-control-allow-origin") == []
    line = last_log_line(srv, before)
    assert line.endswith(" cors=origin-duplicated"), line
    if nginx_version() >= (1, 23, 0):
        # nginx >= 1.23 joins repeated lines in $http_*
        assert f"origin=[{APP}, {APP}]" in line, line
    else:
        assert f"origin=[{APP}]" in line, line
