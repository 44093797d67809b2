"""pytest fixtures shared by every test; the helpers they use live in ``tests/_support.py``."""

from __future__ import annotations

import pytest

from tests._support import Driver


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each test using it runs twice: once per client flavour."""
    return Driver(request.param)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
