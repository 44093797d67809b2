"""pytest fixtures shared by every test; the helpers they use live in ``tests/_support.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests._support import Driver

if TYPE_CHECKING:
    from tests._metrics_support import Recorded


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each test using it runs twice: once per client flavour."""
    return Driver(request.param)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """The metrics recorded by the providers this test makes (its own meter provider)."""
    from tests._metrics_support import recording

    yield from recording()
