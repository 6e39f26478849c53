"""A shared HTTP cache in front of the module (issue 12, item 7): an nginx
server with `proxy_cache` (no CORS of its own) in front of a server with the
module. A request without Origin, then requests with one, for the same URL:
what the cache serves must be what a browser accepts.

- `*`: the response to the request without Origin carries
  `Access-Control-Allow-Origin: *` (Fetch, "CORS protocol and HTTP caches"),
  so the cached copy, served to the CORS request, passes the browser's check.
- exact origins: every response carries `Vary: Origin`, so the cache keeps
  the variants apart and never serves one origin's answer to another, nor
  the no-Origin answer to a CORS request.
- control: the usual `add_header` recipe without `Vary` poisons the cache (the
  CORS request gets the cached answer without Allow-Origin), which shows the
  cache here does what a shared cache does.
"""

import json

import pytest

from nginx_process import harness, start_nginx, stop_nginx

APP = "https://app.example.com"
OTHER = "https://other.example.org"
EVIL = "https://evil.example.net"


@pytest.fixture(scope="module")
def srv(tmp_path_factory, module, upstream):
    files = tmp_path_factory.mktemp("cache-files")
    (files / "cache").mkdir()
    (files / "star.json").write_text(json.dumps({"allow_origins": ["*"]}))
    (files / "exact.json").write_text(json.dumps(
        {"allow_origins": [APP, OTHER], "allow_credentials": True}))
    front, back = harness.free_port(), harness.free_port()
    up = f"http://127.0.0.1:{upstream.port}"
    http = f"""
    proxy_cache_path {files}/cache levels=1 keys_zone=shared:1m;

    map $http_origin $naive_origin {{
        default "";
        "{APP}" $http_origin;
    }}

    server {{
        listen 127.0.0.1:{front};
        cors off;
        location / {{
            proxy_pass http://127.0.0.1:{back};
            proxy_cache shared;
            proxy_cache_key $uri;
            proxy_cache_valid 200 10m;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}

    server {{
        listen 127.0.0.1:{back};
        location /star/ {{
            cors_policy_file {files}/star.json;
            proxy_pass {up};
        }}
        location /exact/ {{
            cors_policy_file {files}/exact.json;
            proxy_pass {up};
        }}
        location /naive/ {{
            add_header Access-Control-Allow-Origin $naive_origin always;
            proxy_pass {up};
        }}
    }}
"""
    n = start_nginx(tmp_path_factory, "shared-cache", http, [front, back])
    n.front = front
    yield n
    stop_nginx(n)


def get(srv, path, origin=None):
    lines = [("Origin", origin)] if origin else []
    r = harness.raw_request("127.0.0.1", srv.front, "GET", path, lines)
    assert r.status == 200, r
    return r


def browser_accepts(resp, origin):
    """Fetch's CORS check for a request without credentials."""
    acao = resp.header_values("access-control-allow-origin")
    return acao in (["*"], [origin])


def test_star_cached_response_serves_cors_requests(srv, upstream):
    path = "/star/a"
    hits = upstream.hits
    first = get(srv, path)
    assert first.header("x-cache-status") == "MISS"
    # not CORS, but under * it says * (what the cache stores)
    assert first.header_values("access-control-allow-origin") == ["*"]
    assert "origin" not in first.vary_tokens()
    for origin in (APP, EVIL):
        r = get(srv, path, origin)
        assert r.header("x-cache-status") == "HIT", r.headers
        assert browser_accepts(r, origin), r.headers
        assert r.header_values("access-control-allow-origin") == ["*"]
    assert upstream.hits == hits + 1  # one response, shared by everyone


def test_exact_origins_keep_cache_entries_apart(srv):
    path = "/exact/a"
    first = get(srv, path)
    assert first.header("x-cache-status") == "MISS"
    assert first.header_values("access-control-allow-origin") == []
    assert "origin" in first.vary_tokens()

    r = get(srv, path, APP)
    assert browser_accepts(r, APP), r.headers
    assert r.header_values("access-control-allow-credentials") == ["true"]
    assert "origin" in r.vary_tokens()

    r = get(srv, path, OTHER)  # never APP's cached answer
    assert browser_accepts(r, OTHER), r.headers
    assert r.header_values("access-control-allow-origin") == [OTHER]

    r = get(srv, path, EVIL)  # never an allowed origin's cached answer
    assert r.header_values("access-control-allow-origin") == []

    r = get(srv, path, APP)
    assert r.header_values("access-control-allow-origin") == [APP]
    r = get(srv, path)
    assert r.header_values("access-control-allow-origin") == []


def test_exact_same_origin_served_from_cache(srv):
    path = "/exact/b"
    assert get(srv, path, APP).header("x-cache-status") == "MISS"
    r = get(srv, path, APP)
    assert r.header("x-cache-status") == "HIT"
    assert r.header_values("access-control-allow-origin") == [APP]


def test_control_without_vary_poisons_the_cache(srv):
    # the recipe corsgate replaces: add_header with no Vary
    path = "/naive/a"
    assert get(srv, path).header_values("access-control-allow-origin") in (
        [], [""])
    r = get(srv, path, APP)
    assert r.header("x-cache-status") == "HIT"
    assert not browser_accepts(r, APP)
