"""Keeping the WeChat app secret and access tokens out of frames, errors and log records.

Error trackers print every frame's locals, so the secret travels only as a ``Secret`` (its
``repr`` a mask). A server may echo what it was sent, and httpx and httpcore log reason phrases,
headers and URLs (``?access_token=``): ``redact`` removes every live secret, recent access token
(``register_token``) and ``access_token`` value from a text, and a filter on those loggers
applies it to each record made (disabled levels cost nothing).
"""

from __future__ import annotations

import collections
import json
import logging
import re
import threading
import weakref
from typing import final

__all__ = [
    "MIN_REDACTED_LENGTH",
    "REDACTED",
    "Secret",
    "install_log_filters",
    "redact",
    "redact_value",
    "register_token",
]

REDACTED = "[redacted]"
# Shorter values are not searched for (a WeChat app secret has 32 characters).
MIN_REDACTED_LENGTH = 8
# Every Secret alive in the process: the values to remove from anything that gets printed.
_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()
# Adding to a WeakSet that another thread iterates raises "Set changed size during iteration".
_LIVE_LOCK = threading.Lock()
# The access tokens handed out lately (a token is useless two hours after it was issued).
_TOKENS: collections.deque[str] = collections.deque(maxlen=256)


class _Forms:
    """The values ``redact`` searches for, rebuilt only after ``version`` was bumped by a new
    value (a dead secret stays until then, which only ever redacts a little more)."""

    version = 0
    built = -1
    values: frozenset[str] = frozenset()


_FORMS = _Forms()
# ``access_token=...`` in a URL or form, ``"access_token": "..."`` in JSON or a dict's repr
# (wechatpy's params), also Authing's ``accessToken``: the value up to the next delimiter.
_TOKEN_FIELD = re.compile(
    r"""(access_?token(?:=|["']?\s*[:=]\s*["']?))([^&\s"'#<>;,)}\]]+)""", re.IGNORECASE
)
# The loggers of the libraries that see our requests and responses, each named: a filter on
# a logger does not apply to records of its child loggers.
_LOGGERS = (
    "authing_wechat",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


@final
class Secret:
    """A string that never shows itself in ``repr`` or ``str``; ``reveal()`` returns it."""

    __slots__ = ("__weakref__", "_forms", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms: tuple[str, ...] = ()
        if isinstance(value, str) and len(value.strip()) >= MIN_REDACTED_LENGTH:
            escaped = json.dumps(value)[1:-1]
            self._forms = (value,) if escaped == value else (value, escaped)
            with _LIVE_LOCK:
                if self._forms[0] not in _FORMS.values:
                    _FORMS.version += 1
                _LIVE.add(self)

    def reveal(self) -> str:
        """The plain value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")


def register_token(access_token: str) -> None:
    """Remember ``access_token`` (unless shorter than ``MIN_REDACTED_LENGTH``) to redact it."""
    if isinstance(access_token, str) and len(access_token.strip()) >= MIN_REDACTED_LENGTH:
        with _LIVE_LOCK:
            if access_token not in _TOKENS:
                _TOKENS.append(access_token)
                _FORMS.version += 1


def redact(text: str) -> str:
    """``text`` with every live secret, recent access token and ``access_token`` value
    replaced by ``[redacted]``; ``text`` itself if it holds none."""
    if len(text) < MIN_REDACTED_LENGTH:
        return text
    if _FORMS.built != _FORMS.version:
        with _LIVE_LOCK:
            version = _FORMS.version
            # Calls of one app hold equal secrets: each value is searched for once.
            values = {form for secret in _LIVE for form in secret._forms}
            values.update(_TOKENS)
            _FORMS.values, _FORMS.built = frozenset(values), version
    for form in _FORMS.values:
        if form in text:
            text = text.replace(form, REDACTED)
    if "oken" in text or "OKEN" in text:  # skips the regex for most text
        text = _TOKEN_FIELD.sub(_redact_field, text)
    return text


def _redact_field(match: re.Match[str]) -> str:
    if match.string.startswith(REDACTED, match.start(2)):  # a token removed above
        return match.group(0)
    return match.group(1) + REDACTED


def redact_value(value: str | None) -> str | None:
    """``redact`` for an optional server-sent string."""
    return None if value is None else redact(value)


class _RedactingFilter(logging.Filter):
    """Rewrites a record whose message holds a live secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # A formatting per record, but only records of enabled levels reach a filter.
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_filters_installed = False


def install_log_filters() -> None:
    """Put the redacting filter on the loggers that see our requests, once per process: when
    the first client is made, as importing a library should not change the process's logging."""
    global _filters_installed  # noqa: PLW0603 - once per process
    if _filters_installed:
        return
    _filters_installed = True
    log_filter = _RedactingFilter()
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(log_filter)
