"""Deprecation: the client-side policy, the server's headers, and warnings at the caller's line."""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable
from typing import Literal

import httpx

from ._errors import AuthingDeprecationWarning, DeprecatedEndpointError
from ._httpdate import parse_header_date, parse_http_date
from ._models import DeprecationNotice
from ._secret import redact

__all__ = [
    "DeprecationGate",
    "DeprecationPolicy",
    "parse_deprecation_headers",
]

logger = logging.getLogger("authing_wechat")
DeprecationPolicy = Literal["warn", "error", "migrate"]
DEPRECATION_POLICIES: tuple[DeprecationPolicy, ...] = ("warn", "error", "migrate")

# The caller's frame, counted from warnings.warn, in both clients (an awaiting coroutine is the
# awaited one's f_back): method, _legacy_operation, use_deprecated; or method, _send, answered,
# observe for a server notice.
_CALLER_OF_METHOD = 4
_CALLER_OF_CALL = 5
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)


def _parse_links(values: list[str]) -> tuple[tuple[str, str], ...]:
    links: list[tuple[str, str]] = []
    for value in values:
        for match in _LINK.finditer(value):
            rel = _REL.search(match.group(2) or "")
            # Server text, shown in warnings: an echoed secret must not reach them.
            target = redact(match.group(1).strip())
            links.append((target, rel.group(1).strip() if rel else ""))
    return tuple(links)


def parse_deprecation_headers(headers: httpx.Headers, endpoint: str) -> DeprecationNotice | None:
    """The notice in ``Deprecation``, ``Sunset`` and ``Link`` headers, or ``None`` without the
    first two. Unreadable values are left ``None``: the token is still good."""
    deprecation = headers.get("deprecation")
    sunset = headers.get("sunset")
    if deprecation is None and sunset is None:
        return None
    links = _parse_links(headers.get_list("link"))
    successor = next(
        (url for url, rel in links if "successor-version" in rel.lower().split()), None
    )
    return DeprecationNotice(
        endpoint=endpoint,
        # RFC 9745 sends "@<epoch>"; earlier drafts sent "true" (no date) or an HTTP-date.
        deprecated_at=None if deprecation is None else parse_header_date(deprecation),
        sunset=None if sunset is None else parse_http_date(sunset),
        successor=successor,
        links=links,
    )


class DeprecationGate:
    """One client's deprecation decisions, shared by its sync and async methods.

    Args:
        policy: ``"warn"``, ``"error"`` or ``"migrate"``; see the clients' docs.
        on_deprecation: Called with every notice a response carries (for telemetry).
    """

    def __init__(
        self,
        policy: DeprecationPolicy,
        on_deprecation: Callable[[DeprecationNotice], None] | None = None,
    ) -> None:
        self.policy = policy
        self._on_deprecation = on_deprecation
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def use_deprecated(self, method: str, successor: str) -> bool:
        """Decide a deprecated method call: ``True`` sends it to the successor instead; with
        ``policy="error"``, ``DeprecatedEndpointError`` before any request."""
        message = f"{method}() calls a deprecated endpoint; use {successor}() instead"
        if self.policy == "error":
            raise DeprecatedEndpointError(message, successor=successor)
        if self.policy == "migrate":
            return True
        warnings.warn(message, AuthingDeprecationWarning, stacklevel=_CALLER_OF_METHOD)
        return False

    def observe(self, notice: DeprecationNotice | None) -> None:
        """Report a server notice: warn once per endpoint per client, call the hook every time."""
        if notice is None:
            return
        with self._lock:
            first = notice.endpoint not in self._warned
            self._warned.add(notice.endpoint)
        if first:
            warnings.warn(notice.describe(), AuthingDeprecationWarning, stacklevel=_CALLER_OF_CALL)
        if self._on_deprecation is not None:
            try:
                self._on_deprecation(notice)
            except Exception as hook_error:  # telemetry must not fail a call that succeeded
                logger.error(
                    "on_deprecation hook raised %s; ignoring it", type(hook_error).__name__
                )
