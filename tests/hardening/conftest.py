"""The hostile soak server, one process for the whole hardening suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening._soak import SoakServer


@pytest.fixture(scope="session")
def soak_server() -> Iterator[SoakServer]:
    """The hostile server (``_soak_server.py``) on a free loopback port; stopped by PID."""
    server = SoakServer()
    yield server
    server.stop()
