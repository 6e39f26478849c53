"""The outside suites of tests/conformance (jub0bs/cors, rs/cors, WPT)
replayed through a real Envoy, judged with tests/conformance/conformance.py
against the one table of differences (tests/conformance/differences.json).

Every distinct policy is first loaded by `envoy --mode validate` (the
filter's config-load path: a refused policy fails there with its message);
config cases are judged on that. Request cases: one Envoy with a listener
per accepted policy (a StringValue filter_config), proxied to the harness
upstream.
"""

import json
import os
import subprocess
import sys

import pytest

import corsgate_http as harness
import envoy_config as ec
from envoy_process import Envoy
from envoy_stack import ROOT

sys.path.insert(0, str(ROOT / "tests" / "conformance"))
import conformance as cf  # noqa: E402

CASES = [c for c in cf.load_cases() if c.http]
CONFIGS = cf.load_configs()


def policy_key(policy):
    return json.dumps(policy, sort_keys=True)


def one_listener(policy, port, upstream_port, admin):
    listener = ec.listener("conformance", port, [ec.virtual_host(
        "conformance", [ec.route("/", "upstream")])],
        [ec.corsgate_filter(json.dumps(policy))])
    return ec.bootstrap(admin, [listener],
                        [ec.cluster("upstream", upstream_port)])


@pytest.fixture(scope="module")
def accepted(module_dir, tmp_path_factory):
    """policy key -> (accepted, Envoy's message) from `envoy --mode
    validate`, for every policy of the suites."""
    root = tmp_path_factory.mktemp("conformance-validate")
    env = dict(os.environ, ENVOY_DYNAMIC_MODULES_SEARCH_PATH=str(module_dir))
    out = {}
    for c in CASES + CONFIGS:
        if c.policy is None or policy_key(c.policy) in out:
            continue
        path = root / f"envoy-{len(out)}.json"
        path.write_text(json.dumps(one_listener(c.policy, 1, 2, 3)))
        res = subprocess.run(
            [ec.envoy_binary(), "--mode", "validate", "-c", str(path),
             "--disable-hot-restart", "-l", "warning"],
            capture_output=True, text=True, env=env, timeout=60)
        lines = [line for line in (res.stdout + res.stderr).splitlines()
                 if "filter_config" in line or "error" in line]
        out[policy_key(c.policy)] = (res.returncode == 0, " | ".join(lines))
    return out


@pytest.fixture(scope="module")
def envoy(module_dir, accepted, upstream, tmp_path_factory):
    """policy key -> listener port, on one running Envoy."""
    keys = sorted({policy_key(c.policy) for c in CASES
                   if c.policy is not None and accepted[policy_key(c.policy)][0]})
    ports = {k: harness.free_port() for k in keys}
    admin = harness.free_port()
    listeners = [ec.listener(f"conformance_{i}", ports[k], [ec.virtual_host(
        f"conformance_{i}", [ec.route("/", "upstream")])],
        [ec.corsgate_filter(k)]) for i, k in enumerate(keys)]
    config = ec.bootstrap(admin, listeners,
                          [ec.cluster("upstream", upstream.port)])
    e = Envoy(config, tmp_path_factory.mktemp("envoy-conformance"),
              module_dir, admin)
    e.start()
    try:
        if not e.wait_ready():
            pytest.fail("envoy exited at startup:\n" + e.log_tail())
        yield ports
    finally:
        e.stop()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.slug)
def test_conformance_request(case, envoy, accepted, upstream):
    if case.policy is None:
        problems = cf.observe_unreplayable(case)
    elif not accepted[policy_key(case.policy)][0]:
        problems = [cf.refused(accepted[policy_key(case.policy)][1])]
    else:
        hits = upstream.hits
        resp = harness.raw_request("127.0.0.1", envoy[policy_key(case.policy)],
                                   case.method, "/", list(case.headers))
        respond = upstream.hits == hits
        problems = cf.compare(case, cf.Observed(
            respond, resp.status if respond else None, resp.headers))
    assert cf.check_one(case.suite, case.id, problems, "envoy") == []


@pytest.mark.parametrize("case", CONFIGS, ids=lambda c: c.suite + "/" + c.id)
def test_conformance_config(case, accepted):
    problems = cf.config_problems(case, accepted, policy_key)
    assert cf.check_one(case.suite, case.id, problems, "envoy") == []


def test_every_row_names_a_case():
    keys = [(c.suite, c.id) for c in CASES + CONFIGS]
    assert cf.unmatched_rows(keys, "envoy") == []
