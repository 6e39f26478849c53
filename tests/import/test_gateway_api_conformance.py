"""Gateway API's HTTPRouteCORS conformance test, replayed.

tests/conformance/gateway-api/httproute-cors.yaml is the test's HTTPRoutes
(kubernetes-sigs/gateway-api, cited in the file); `corsgate import` converts
them; each rule's path prefix is served by the converted policy through a
real nginx and a real Envoy; every request of the test
(httproute-cors.json, translated from conformance/tests/httproute-cors.go)
is sent to both and checked as conformance/utils/http checks it. A case
listed in tests/conformance/differences.json (suite "gateway-api") must
differ, for the reason given there; every other case must pass.
"""

import json
from pathlib import Path

import pytest

from servers import ROOT, corsgate_import

DATA = ROOT / "tests" / "conformance" / "gateway-api"
CASES = json.loads((DATA / "httproute-cors.json").read_text())["cases"]
DIFFERENCES = {
    row["case"]: row
    for row in json.loads(
        (ROOT / "tests" / "conformance" / "differences.json").read_text())
    if row["suite"] == "gateway-api"
}
SUITE = "HTTPRouteCORS/"


def routes_from_manifest():
    """[(path prefix, policy or None)] for every rule of the manifest."""
    code, items = corsgate_import(DATA / "httproute-cors.yaml")
    by_name = {i["name"]: i for i in items}
    # The rule's path prefixes, read from the same manifest by the same CLI's
    # YAML reader would be circular: read them with a tiny parser instead.
    routes = []
    name = None
    rule = -1
    for line in (DATA / "httproute-cors.yaml").read_text().splitlines():
        s = line.strip()
        if line.startswith("  name:"):
            name = s.split()[1]
            rule = -1
        elif s == "- filters:":
            rule += 1
        elif s.startswith("value: /"):
            item = by_name[f"gateway-conformance-infra/{name}/rule-{rule}"]
            routes.append((s.split()[1], item["policy"]))
    return code, items, routes


def expectation_failures(case, response, reached_backend):
    """What conformance/utils/http's CompareRoundTrip would complain of."""
    out = []
    if response.status not in case["status_codes"]:
        out.append(f"status {response.status} not in {case['status_codes']}")
        return out
    if response.status not in (200, 204):
        return out
    if case["reaches_backend"] and not reached_backend:
        out.append("the request did not reach the backend")
    if not case["reaches_backend"] and reached_backend:
        out.append("the preflight reached the backend")

    def norm(v):
        return v.replace(" ", "") if case["ignore_whitespace"] else v
    for name, valid in case["valid_header_values"].items():
        got = response.header_values(name)
        if not got:
            out.append(f"{name} absent, expected one of {valid}")
        elif norm(",".join(got)) not in [norm(v) for v in valid]:
            out.append(f"{name}: {','.join(got)!r} not one of {valid}")
    for name, want in case["exact_headers"].items():
        got = response.header_values(name)
        if not got:
            out.append(f"{name} absent, expected {want!r}")
        elif norm(",".join(got)) != norm(want):
            out.append(f"{name}: {','.join(got)!r} != {want!r}")
    for name in case["absent_headers"]:
        if response.header_values(name):
            out.append(f"{name} present: {response.header(name)!r}")
    return out


@pytest.fixture(scope="module")
def gateway(serve):
    code, items, routes = routes_from_manifest()
    return code, items, serve(routes)


def test_import_of_the_conformance_routes(gateway):
    code, items, _ = gateway
    assert code == 2
    refused = [i["name"] for i in items if i["error"]]
    assert refused == [
        "gateway-conformance-infra/cors-wildcard-methods-headers/rule-0"]
    assert "with credentials" in items[3]["error"]
    assert all(i["policy"] for i in items if not i["error"])


def test_every_difference_names_a_case():
    names = {SUITE + c["case"] for c in CASES}
    assert set(DIFFERENCES) <= names, set(DIFFERENCES) - names


@pytest.mark.parametrize("server", ["nginx", "envoy"])
@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_httproute_cors(gateway, upstream, server, case):
    _, _, servers = gateway
    before = upstream.hits
    response = servers.request(server, case["method"], case["path"],
                               case["headers"].items())
    failures = expectation_failures(case, response,
                                    upstream.hits > before)
    listed = DIFFERENCES.get(SUITE + case["case"])
    if listed:
        assert failures, (
            f"listed as a deliberate difference but {server} now meets the "
            f"expectation: drop the row from differences.json")
    else:
        assert not failures, (
            f"{server}: {failures}\nresponse headers: {response.headers}")
