"""Imported policies (tests/import/*/*.yaml through `corsgate import`)
replayed through `corsgate check`, real nginx and real Envoy.

replay.json lists, per converted object, requests a browser could send:
origins the source allowed and the policy keeps, and origin classes the
import refused (each named in a note). `corsgate check` must give the
expected verdict, and nginx and Envoy must answer with exactly the CORS
headers (and preflight status) `check` printed.
"""

import json
import re

import pytest

from servers import ROOT, check, cors_headers, corsgate_import

HERE = ROOT / "tests" / "import"
REPLAY = json.loads((HERE / "replay.json").read_text())["items"]


def prefix_of(name):
    return "/" + re.sub(r"[^a-z0-9-]+", "-", name.lower()) + "/"


def imported():
    """{name: policy} of every item replay.json names."""
    out = {}
    for file, items in REPLAY.items():
        _, converted = corsgate_import(HERE / file)
        by_name = {i["name"]: i for i in converted}
        for name in items:
            assert by_name[name]["policy"], by_name[name]
            out[name] = by_name[name]["policy"]
    return out


POLICIES = imported()
CASES = [(name, *req) for items in REPLAY.values()
         for name, reqs in items.items() for req in reqs]


def request_headers(origin, acrm, acrh):
    headers = [("Origin", origin)]
    if acrm:
        headers.append(("Access-Control-Request-Method", acrm))
    if acrh:
        headers.append(("Access-Control-Request-Headers", acrh))
    return headers


@pytest.fixture(scope="module")
def servers(serve):
    return serve([(prefix_of(n), p) for n, p in POLICIES.items()])


@pytest.mark.parametrize(
    "name,method,origin,acrm,acrh,expect", CASES,
    ids=[f"{c[0]} {c[1]} {c[2]} {c[3] or ''}".strip() for c in CASES])
def test_replay(servers, name, method, origin, acrm, acrh, expect):
    headers = request_headers(origin, acrm, acrh)
    decision = check(servers.files[prefix_of(name)], method, headers)
    assert decision["verdict"] == expect, decision
    want, want_vary = cors_headers(decision["headers"])
    for server in ("nginx", "envoy"):
        response = servers.request(server, method, prefix_of(name) + "x",
                                   headers)
        got, got_vary = cors_headers(response.headers)
        assert got == want, (server, response.headers)
        assert set(want_vary) <= set(got_vary), (server, response.headers)
        if decision["status"] is not None:
            assert response.status == decision["status"], server
