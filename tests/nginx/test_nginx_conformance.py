"""The outside suites of tests/conformance (jub0bs/cors, rs/cors, WPT)
replayed through a real nginx, judged with tests/conformance/conformance.py
against the one table of differences (tests/conformance/differences.json).

Config cases: each policy through `nginx -t` (cors_policy_file). Request
cases: one server per distinct policy nginx accepts, proxying to the
harness upstream; a policy nginx refuses makes each of its cases a
"corsgate refuses the policy" result, as in the Rust and C runners.
"""

import json
import sys

import pytest

from nginx_process import ROOT, Nginx, harness, start_nginx, stop_nginx

sys.path.insert(0, str(ROOT / "tests" / "conformance"))
import conformance as cf  # noqa: E402

CASES = [c for c in cf.load_cases() if c.http]
CONFIGS = cf.load_configs()


def policy_key(policy):
    return json.dumps(policy, sort_keys=True)


@pytest.fixture(scope="module")
def accepted(tmp_path_factory, module):
    """policy key -> (accepted, nginx -t output), for every policy of the
    suites, each checked by `nginx -t` in its own prefix."""
    out = {}
    policies = [c.policy for c in CASES + CONFIGS if c.policy is not None]
    root = tmp_path_factory.mktemp("conformance-t")
    for i, policy in enumerate(policies):
        key = policy_key(policy)
        if key in out:
            continue
        path = root / f"policy-{i}.json"
        path.write_text(json.dumps(policy), encoding="utf-8")
        n = Nginx(root / f"t-{i}", f"""
    server {{
        listen 127.0.0.1:{harness.free_port()};
        cors_policy_file {path};
        location / {{ return 200; }}
    }}
""")
        res = n.check()
        emerg = [line for line in res.stderr.splitlines() if "[emerg]" in line]
        out[key] = (res.returncode == 0, " | ".join(emerg))
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory, accepted, upstream):
    """policy key -> port of a server enforcing it."""
    keys = sorted({policy_key(c.policy) for c in CASES if c.policy is not None
                   and accepted[policy_key(c.policy)][0]})
    root = tmp_path_factory.mktemp("conformance-policies")
    ports = {k: harness.free_port() for k in keys}
    blocks = []
    for i, k in enumerate(keys):
        path = root / f"policy-{i}.json"
        path.write_text(k, encoding="utf-8")
        blocks.append(f"""
    server {{
        listen 127.0.0.1:{ports[k]};
        cors_policy_file {path};
        location / {{
            proxy_pass http://127.0.0.1:{upstream.port};
        }}
    }}
""")
    n = start_nginx(tmp_path_factory, "conformance", "".join(blocks),
                    ports.values())
    yield ports
    stop_nginx(n)


def replay(case, servers, accepted, upstream):
    """The problems of CASE through nginx (conformance.compare)."""
    if case.policy is None:
        return cf.observe_unreplayable(case)
    ok, message = accepted[policy_key(case.policy)]
    if not ok:
        return [cf.refused(message)]
    hits = upstream.hits
    resp = harness.raw_request("127.0.0.1", servers[policy_key(case.policy)],
                               case.method, "/", list(case.headers))
    respond = upstream.hits == hits
    obs = cf.Observed(respond, resp.status if respond else None,
                      resp.headers)
    return cf.compare(case, obs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.slug)
def test_conformance_request(case, servers, accepted, upstream):
    problems = replay(case, servers, accepted, upstream)
    assert cf.check_one(case.suite, case.id, problems, "nginx") == []


@pytest.mark.parametrize("case", CONFIGS, ids=lambda c: c.suite + "/" + c.id)
def test_conformance_config(case, accepted):
    problems = cf.config_problems(case, accepted, policy_key)
    assert cf.check_one(case.suite, case.id, problems, "nginx") == []


def test_every_row_names_a_case():
    keys = [(c.suite, c.id) for c in CASES + CONFIGS]
    assert cf.unmatched_rows(keys, "nginx") == []
