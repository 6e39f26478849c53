"""Real-nginx tests of the corsgate module (build/ngx_http_corsgate_module.so).

Every nginx started here runs in its own prefix under pytest's tmp dir, on
free loopback ports, and is stopped by PID when its fixture ends. The error
logs of the instances a failing test used are attached to its report.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nginx_process import (MODULE, NGINX, Nginx, harness,  # noqa
                           nginx_version, running)


def pytest_report_header(config):
    try:
        v = ".".join(map(str, nginx_version()))
    except (OSError, RuntimeError) as e:
        v = f"? ({e})"
    return [f"nginx under test: {NGINX} ({v}), module {MODULE}"]


def pytest_runtest_makereport(item, call):
    if call.when == "call" and call.excinfo is not None:
        for n in running:
            item.add_report_section(
                "call", f"nginx error log ({n.prefix.name})",
                n.log()[-6000:])


@pytest.fixture(scope="session")
def module():
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (scripts/setup)")
    if not MODULE.exists():
        pytest.fail(f"{MODULE} missing: run `make build` "
                    "(or scripts/build-nginx-module)")
    return MODULE


@pytest.fixture(scope="session")
def upstream():
    """The harness upstream: echoes X-Test-Upstream-Header lines back."""
    with harness.Upstream() as up:
        yield up


@pytest.fixture
def nginx_conf(tmp_path, module):
    """An Nginx whose config is only checked (`nginx -t`), never run."""
    def make(http):
        return Nginx(tmp_path / "conf", http)
    return make
