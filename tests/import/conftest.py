"""Imported policies replayed through `corsgate check`, real nginx and real
Envoy (servers.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import Servers, harness  # noqa: E402


@pytest.fixture(scope="module")
def upstream():
    with harness.Upstream() as up:
        yield up


@pytest.fixture(scope="module")
def serve(upstream, tmp_path_factory):
    """serve(routes) → started Servers; all stopped when the module ends."""
    started = []

    def make(routes):
        s = Servers(routes, upstream.port,
                    tmp_path_factory.mktemp("imported")).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()
