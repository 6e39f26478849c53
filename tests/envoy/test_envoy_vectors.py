"""Every shared vector that HTTP can carry, replayed through a real Envoy.

Each vector file has its own listener (its policy as a StringValue
filter_config) proxied to the harness Upstream. The cases without upstream
headers are replayed again on a direct_response route of the same listener:
Envoy's own reply, which the built-in CORS filter skips."""

import pytest

import corsgate_http as harness
from envoy_stack import DIRECT, vector_files

VECTORS = vector_files()
CASES = [case for _, _, cases in VECTORS for case in cases]
DIRECT_CASES = [case for case in CASES if not case.upstream_headers]


def test_vectors_present():
    assert len(VECTORS) >= 1 and CASES


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_vector_proxied(stack, case):
    response = stack.replay(case)
    assert harness.check_all(case, response) == []


@pytest.mark.parametrize("case", DIRECT_CASES, ids=lambda c: c.case_id)
def test_vector_direct_response(stack, case):
    response = stack.replay(case, DIRECT)
    problems = harness.check_case(case, response)
    if case.responds:
        problems += harness.check_body(case, response)
    elif case.method != "HEAD" and response.body != b"direct":
        problems.append("expected the direct_response body, got %r"
                        % response.body[:80])
    assert problems == []
