"""Fixtures of the hostile suite; see hostile_env.py. The `proxy` fixture
is parametrized over nginx and Envoy (one process each per test module);
`live` checks after each test that it is the same healthy process."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_env import (envoy_module_dir, harness, start_envoy,  # noqa: E402
                         start_nginx)


@pytest.fixture(scope="session")
def upstream():
    with harness.Upstream() as up:
        yield up


@pytest.fixture(scope="module", params=["nginx", "envoy"])
def proxy(request, upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    start = start_nginx if request.param == "nginx" else start_envoy
    p = start(tmp, upstream)
    try:
        p.baseline = p.identity()
        yield p
    finally:
        p.process.stop()


@pytest.fixture
def live(proxy):
    """The proxy, checked alive and unchanged after the test."""
    yield proxy
    proxy.assert_alive()


@pytest.fixture(scope="session")
def envoy_dir():
    return envoy_module_dir()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    p = item.funcargs.get("proxy") if hasattr(item, "funcargs") else None
    if report.failed and p is not None:
        text = p.process.log() if p.kind == "nginx" else p.process.log_tail(80)
        report.sections.append((f"{p.kind} log (tail)", text[-6000:]))


