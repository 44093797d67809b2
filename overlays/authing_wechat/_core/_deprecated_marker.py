"""The PEP 702 marker at run time, without importing typing_extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["pep702_marker"]

_F = TypeVar("_F", bound=Callable[..., Any])


def pep702_marker(message: str, /, *, category: None = None) -> Callable[[_F], _F]:
    """Run-time stand-in for ``typing_extensions.deprecated(message, category=None)``.

    With ``category=None`` that decorator only sets ``__deprecated__``; type checkers read the
    real one (imported under ``TYPE_CHECKING``), and importing typing_extensions at run time
    would cost more than a third of this package's import time.
    """

    def mark(function: _F) -> _F:
        function.__deprecated__ = message  # type: ignore[attr-defined]
        return function

    return mark
