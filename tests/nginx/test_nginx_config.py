"""Directives: http/server/location levels, field-by-field inheritance,
cors_policy_file with directive overrides, and configuration errors that
fail `nginx -t` with corsgate's message and the directive's file:line.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from nginx_process import (MODULE, NGINX, ROOT, harness, start_nginx,
                           stop_nginx)

A = "https://a.example.com"
B = "https://b.example.com"
EVIL = "https://evil.example.net"
FILE_POLICY = {"allow_origins": [B]}


@pytest.fixture(scope="module")
def levels(tmp_path_factory, module, upstream):
    files = tmp_path_factory.mktemp("levels-files")
    (files / "b.json").write_text(json.dumps(FILE_POLICY))
    p1, p2, p3, p4 = (harness.free_port() for _ in range(4))
    up = f"http://127.0.0.1:{upstream.port}"
    http = f"""
    cors_allow_methods GET PUT PATCH;
    cors_allow_headers x-a;
    cors_max_age 10m;

    server {{
        listen 127.0.0.1:{p1};
        cors_allow_origins {A};

        location / {{ return 200 "ok\\n"; }}
        location /methods/ {{ cors_allow_methods DELETE; return 200; }}
        location /nested/ {{
            cors_allow_headers x-b;
            location /nested/inner/ {{ cors_max_age 5; return 200; }}
            return 200;
        }}
        location /off/ {{ cors off; return 200 "off\\n"; }}
        location /report/ {{ cors report; return 200 "report\\n"; }}
        location /file/ {{ cors_policy_file {files}/b.json; return 200; }}
        location /file-override/ {{
            cors_policy_file {files}/b.json;
            cors_max_age 30;
            cors_allow_methods PATCH;
            return 200;
        }}
    }}

    server {{
        listen 127.0.0.1:{p2};
        location / {{ return 200 "no policy\\n"; }}
    }}

    server {{
        listen 127.0.0.1:{p3};
        cors_policy_file {files}/b.json;

        location / {{ return 200; }}
        location /creds/ {{ cors_allow_credentials on; return 200; }}
        location /status200/ {{ cors_preflight_status 200; return 200; }}
        location /forward/ {{ cors_preflight_deny forward; proxy_pass {up}; }}
        location /debug/ {{ cors_debug on; return 200; }}
        location /expose/ {{
            cors_expose_headers x-one x-two;
            cors_expose_headers x-three;
            return 200;
        }}
        location /off/ {{
            cors off;
            location /off/on/ {{ cors on; return 200; }}
            return 200;
        }}
    }}

    server {{
        listen 127.0.0.1:{p4};
        cors_policy_file {files}/b.json;
        return 200 "server return\n";
    }}
"""
    n = start_nginx(tmp_path_factory, "levels", http, [p1, p2, p3, p4])
    n.ports = (p1, p2, p3, p4)
    yield n
    stop_nginx(n)


def send(port, path, origin, method="GET", lines=()):
    headers = [("Origin", origin)] if origin else []
    return harness.raw_request("127.0.0.1", port, method, path,
                               headers + list(lines))


def pre(port, path, origin, method, headers=None):
    lines = [("Access-Control-Request-Method", method)]
    if headers:
        lines.append(("Access-Control-Request-Headers", headers))
    return send(port, path, origin, "OPTIONS", lines)


def h(resp, name):
    return resp.header_values(name)


def test_everything_inherited_from_http_and_server(levels):
    p1 = levels.ports[0]
    r = pre(p1, "/", A, "PATCH", "x-a")
    assert r.status == 204
    assert h(r, "access-control-allow-origin") == [A]
    assert h(r, "access-control-allow-methods") == ["GET, PUT, PATCH"]
    assert h(r, "access-control-allow-headers") == ["x-a"]
    assert h(r, "access-control-max-age") == ["600"]


def test_location_replaces_one_field_keeps_the_others(levels):
    p1 = levels.ports[0]
    r = pre(p1, "/methods/", A, "DELETE", "x-a")
    assert r.status == 204
    assert h(r, "access-control-allow-methods") == ["DELETE"]
    assert h(r, "access-control-allow-headers") == ["x-a"]
    assert h(r, "access-control-max-age") == ["600"]
    assert pre(p1, "/methods/", A, "PUT").status == 403


def test_nested_locations(levels):
    p1 = levels.ports[0]
    r = pre(p1, "/nested/inner/", A, "PATCH", "x-b")
    assert r.status == 204
    assert h(r, "access-control-allow-headers") == ["x-b"]
    assert h(r, "access-control-allow-methods") == ["GET, PUT, PATCH"]
    assert h(r, "access-control-max-age") == ["5"]
    denied = pre(p1, "/nested/inner/", A, "PATCH", "x-a")
    assert denied.status == 403
    r = pre(p1, "/nested/", A, "PATCH", "x-b")
    assert h(r, "access-control-max-age") == ["600"]


def test_cors_off_and_on_again(levels):
    p1, _, p3, _ = levels.ports
    r = pre(p1, "/off/", A, "PUT")
    assert (r.status, r.body) == (200, b"off\n")
    assert h(r, "access-control-allow-origin") == []
    assert h(r, "vary") == []
    r = send(p3, "/off/on/", B)
    assert h(r, "access-control-allow-origin") == [B]
    r = send(p3, "/off/", B)
    assert h(r, "access-control-allow-origin") == []


def test_report_at_location(levels):
    p1 = levels.ports[0]
    r = pre(p1, "/report/", A, "PUT")
    assert (r.status, r.body) == (200, b"report\n")
    assert h(r, "access-control-allow-origin") == [] and h(r, "vary") == []


def test_policy_file_at_location_starts_over(levels):
    p1 = levels.ports[0]
    assert pre(p1, "/file/", A, "POST").status == 403
    assert pre(p1, "/file/", B, "PUT").status == 403  # default methods
    r = pre(p1, "/file/", B, "POST")
    assert r.status == 204
    assert h(r, "access-control-max-age") == []  # not inherited from http


def test_policy_file_with_directive_overrides(levels):
    p1 = levels.ports[0]
    r = pre(p1, "/file-override/", B, "PATCH")
    assert r.status == 204
    assert h(r, "access-control-allow-origin") == [B]
    assert h(r, "access-control-allow-methods") == ["PATCH"]
    assert h(r, "access-control-max-age") == ["30"]


def test_no_origins_no_module(levels):
    p2 = levels.ports[1]
    r = send(p2, "/", A)
    assert r.status == 200
    assert h(r, "access-control-allow-origin") == [] and h(r, "vary") == []


def test_server_level_file_and_scalar_overrides(levels):
    p3 = levels.ports[2]
    r = send(p3, "/", B)
    assert h(r, "access-control-allow-origin") == [B]
    assert h(r, "access-control-allow-credentials") == []
    r = send(p3, "/creds/", B)
    assert h(r, "access-control-allow-credentials") == ["true"]
    r = pre(p3, "/status200/", B, "GET")
    assert (r.status, r.body, r.header("content-length")) == (200, b"", "0")
    assert h(r, "access-control-allow-origin") == [B]
    r = pre(p3, "/forward/", EVIL, "GET")
    assert (r.status, r.body) == (200, harness.UPSTREAM_BODY)
    assert h(r, "access-control-allow-origin") == []
    r = send(p3, "/debug/", EVIL)
    assert h(r, "x-corsgate-reason") == ["origin-not-allowed"]
    r = send(p3, "/", EVIL)
    assert h(r, "x-corsgate-reason") == []
    r = send(p3, "/expose/", B)
    assert h(r, "access-control-expose-headers") == ["x-one, x-two, x-three"]


def test_server_level_return_gets_cors_headers(levels):
    # answered in SERVER_REWRITE, before any location: the header filter
    # evaluates then
    p4 = levels.ports[3]
    r = send(p4, "/", B)
    assert (r.status, r.body) == (200, b"server return\n")
    assert h(r, "access-control-allow-origin") == [B]
    r = send(p4, "/", EVIL)
    assert h(r, "access-control-allow-origin") == [] and "origin" in (
        r.vary_tokens())


# --- configuration errors ------------------------------------------------

LOC = "        location /x {{ {} return 200; }}\n"


def conf_with(location_body, http_extra=""):
    return ("    cors_allow_origins https://a.example.com;\n" + http_extra +
            "    server {\n        listen 127.0.0.1:1;\n" +
            LOC.format(location_body) + "    }\n")


def assert_fails_at(n, needle, *parts):
    res = n.check()
    assert res.returncode != 0, res.stderr
    where = f" in {n.conf}:{n.line_of(needle)}"
    line = next((x for x in res.stderr.splitlines() if "[emerg]" in x), "")
    assert line.endswith(where), res.stderr
    for part in parts:
        assert part in line, res.stderr
    return line


@pytest.mark.parametrize("directive,parts", [
    ("cors_max_age 2d;", ["max_age", "172800", "86400"]),
    ("cors_allow_origins https://a.com:443;", ["allow_origins", ":443"]),
    ("cors_allow_origins https://*.com; cors_allow_credentials on;",
     ["allow_origins", "*.com"]),
    ("cors_allow_origins *; cors_allow_credentials on;",
     ["allow_origins", "credentials"]),
    ("cors_allow_methods GET CONNECT;", ["allow_methods", "CONNECT"]),
    ("cors_allow_headers 'bad header';", ["allow_headers", "bad header"]),
    ("cors_preflight_status 201;", ["preflight_status", "201"]),
    ("cors_preflight_deny maybe;", ["on_preflight_deny", "maybe"]),
    ("cors_actual_deny drop;", ["on_actual_deny", "drop"]),
])
def test_bad_value_fails_nginx_t_with_corsgate_message(
        nginx_conf, directive, parts):
    n = nginx_conf(conf_with(directive))
    line = assert_fails_at(n, directive, "invalid CORS policy: ", *parts)
    assert "\n" not in line


def test_non_utf8_value(nginx_conf):
    n = nginx_conf(conf_with("cors_allow_origins https://@.com;"))
    n.conf.write_bytes(n.conf.read_bytes().replace(b"@", b"\xff"))
    assert_fails_at(n, "https://\ufffd", "allow_origins: ", "UTF-8")


def test_error_at_http_level_names_its_directive(nginx_conf):
    # a problem of one field alone is reported at the directive itself
    n = nginx_conf(conf_with("", "    cors_max_age 2d;\n"))
    assert_fails_at(n, "cors_max_age 2d", "max_age", "172800")


def test_cross_field_error_names_the_level(nginx_conf):
    # a problem that involves two fields is found when the level compiles:
    # it is reported at the level's first CORS directive
    n = nginx_conf(conf_with("cors_allow_origins http://a.com;\n"
                             "            cors_allow_credentials on;"))
    assert_fails_at(n, "cors_allow_origins http://a.com", "allow_origins[0]",
                    "https://a.com")


@pytest.mark.parametrize("directive,parts", [
    ("cors maybe;", ["invalid value \"maybe\""]),
    ("cors_debug yes;", ["it must be \"on\" or \"off\""]),
    ("cors_max_age soon;", ["invalid value"]),
    ("cors_max_age 1; cors_max_age 2;", ["is duplicate"]),
    ("cors_allow_origins;", ["invalid number of arguments"]),
    ("cors_policy_file /nonexistent/policy.json;", ["open()", "failed"]),
])
def test_bad_directive_syntax(nginx_conf, directive, parts):
    n = nginx_conf(conf_with(directive))
    assert_fails_at(n, directive, *parts)


@pytest.mark.parametrize("content,parts", [
    ('{"allow_origins": [,]}', ["invalid JSON"]),
    ('{"allow_origin": ["https://a.com"]}',
     ["unknown field", "allow_origins"]),
    ("[]", ["JSON object"]),
])
def test_bad_policy_file_fails_at_its_directive(
        nginx_conf, tmp_path, content, parts):
    f = tmp_path / "bad.json"
    f.write_text(content)
    n = nginx_conf(conf_with(f"cors_policy_file {f};"))
    assert_fails_at(n, "cors_policy_file", f"\"{f}\"", *parts)


def test_policy_file_value_error_at_its_directive(nginx_conf, tmp_path):
    f = tmp_path / "creds.json"
    f.write_text('{"allow_origins": ["*"], "allow_credentials": true}')
    n = nginx_conf(conf_with(f"cors_policy_file {f};"))
    assert_fails_at(n, "cors_policy_file", "allow_origins")


def test_cors_on_without_origins(nginx_conf):
    n = nginx_conf("    server {\n        listen 127.0.0.1:1;\n" +
                   LOC.format("cors on;") + "    }\n")
    assert_fails_at(n, "cors on;", "allow_origins")


def test_relative_policy_file_resolves_against_conf_dir(nginx_conf):
    n = nginx_conf(conf_with("cors_policy_file p.json;"))
    (n.prefix / "p.json").write_text(json.dumps(FILE_POLICY))
    res = n.check()
    assert res.returncode == 0, res.stderr


def test_example_nginx_conf_passes_nginx_t(tmp_path, module):
    prefix = tmp_path / "example"
    (prefix / "modules").mkdir(parents=True)
    (prefix / "logs").mkdir()
    (prefix / "modules" / MODULE.name).symlink_to(MODULE)
    shutil.copy(ROOT / "examples" / "nginx.conf", prefix / "nginx.conf")
    shutil.copy(ROOT / "examples" / "policy.json", prefix / "policy.json")
    res = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c",
         str(prefix / "nginx.conf"), "-e", str(prefix / "logs/error.log")],
        capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


def test_module_exports_only_nginx_symbols(module):
    out = subprocess.run(["nm", "-D", "--defined-only", str(module)],
                         capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert names == {"ngx_modules", "ngx_module_names", "ngx_module_order"}


def test_module_links_no_libcorsgate_so(module):
    out = subprocess.run(["readelf", "-d", str(module)],
                         capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
    assert not [n for n in needed if "corsgate" in n], needed


def test_policy_file_with_bom_accepted(nginx_conf):
    """A policy file saved with a UTF-8 byte order mark loads (issue 12
    item 6); on old main `nginx -t` failed "expected value at line 1
    column 1"."""
    n = nginx_conf(conf_with("cors_policy_file bom.json;"))
    (n.prefix / "bom.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(FILE_POLICY).encode())
    res = n.check()
    assert res.returncode == 0, res.stderr
