"""The mock's varied mode: the optional parts of every JSON answer chosen by a seeded coin.

A client tested against one shape of answer may depend on parts the contract leaves optional.
In varied mode each answer may lose ``requestId`` and ``apiCode``, gain fields nobody
documented, carry ``data: null`` or ``data: {}`` on a failure, name its charset or not, and
leave out the deprecation headers. The same seed and the same requests give the same answers.
"""

from __future__ import annotations

import random
from typing import Any, Final

__all__ = ["Variation"]

# The first is the default answer's; the others are how real servers spell the same thing.
_JSON_TYPES: Final = (
    b"application/json; charset=utf-8",
    b"application/json",
    b"application/json;charset=UTF-8",
)
_DEPRECATION_HEADERS: Final = frozenset({b"deprecation", b"sunset", b"link"})
_MISSING: Final[Any] = object()
# What a failure carries as ``data``: nothing, ``null`` or an empty object.
_FAILURE_DATA: Final[tuple[Any, ...]] = (_MISSING, None, {})


class Variation:
    """Seeded choices of what a JSON answer leaves out or adds; not thread-safe on its own.

    Args:
        seed: Seeds the choices; the same seed gives the same sequence of answers.
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 - test data, not secrets

    def vary(
        self, payload: dict[str, Any], headers: list[tuple[bytes, bytes]]
    ) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
        """Change an answer's envelope and headers, as a server within the contract may.

        Args:
            payload: The envelope as the mock would send it.
            headers: Its headers; ``content-type`` first.

        Returns:
            The varied envelope and headers (new objects).
        """
        coin = self._random.random
        varied = {
            name: value
            for name, value in payload.items()
            if name not in {"requestId", "apiCode"} or coin() < 0.5
        }
        if coin() < 0.5:
            varied["unknownField"] = "added by the varied mode"
            if isinstance(varied.get("data"), dict):
                varied["data"] = {**varied["data"], "unknownField": 1}
        if varied["statusCode"] != 200:
            data = self._random.choice(_FAILURE_DATA)
            if data is not _MISSING:
                varied["data"] = data
        kept = headers[1:]
        if coin() < 0.5:
            kept = [(name, value) for name, value in kept if name not in _DEPRECATION_HEADERS]
        return varied, [(b"content-type", self._random.choice(_JSON_TYPES)), *kept]
