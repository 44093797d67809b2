"""A wrapper that keeps the WeChat app secret out of everything that prints frames.

pytest prints the arguments of every frame in a failure's traceback, and error trackers such
as Sentry capture every frame's locals. Inside the package the secret only ever travels as a
``Secret``, whose ``repr`` is a mask; the public methods wrap it on entry and drop the plain
argument from their frame.
"""

from __future__ import annotations

from typing import final

__all__ = ["Secret"]


@final
class Secret:
    """A string that never shows itself in ``repr`` or ``str``; ``reveal()`` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")
