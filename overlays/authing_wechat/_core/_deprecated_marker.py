"""The PEP 702 marker at run time, without importing typing_extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["pep702_marker"]

_F = TypeVar("_F", bound=Callable[..., Any])


def pep702_marker(message: str, /, *, category: None = None) -> Callable[[_F], _F]:
    """Run-time stand-in for ``typing_extensions.deprecated(message, category=None)``, which
    only sets ``__deprecated__``: importing typing_extensions would cost a third of our import
    time, and type checkers read the real one."""

    def mark(function: _F) -> _F:
        function.__deprecated__ = message  # type: ignore[attr-defined]
        return function

    return mark
