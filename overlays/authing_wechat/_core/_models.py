"""The values a call returns: the token and what the server said about deprecation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from ._secret import register_token

if TYPE_CHECKING:  # imported when a token needs one: importing the client stays cheap
    from authing_wechat_client.models import GetWechatAccessTokenDataDto

__all__ = ["DeprecationNotice", "WechatAccessToken", "mask_token"]


def mask_token(token: str) -> str:
    """A token shortened for reprs and logs."""
    # Enough to tell two tokens apart in a log, far too little to use one.
    return f"{token[:4]}…({len(token)} chars)" if len(token) > 8 else f"…({len(token)} chars)"


@attrs.frozen(kw_only=True)
class DeprecationNotice:
    """What the server said about an endpoint's deprecation in its response headers.

    Attributes:
        endpoint: The path of the endpoint the notice is about.
        deprecated_at: When it was (or will be) deprecated, from the RFC 9745 ``Deprecation``
            header (``@<epoch seconds>``), aware UTC; ``None`` if absent or unreadable.
        sunset: When it may stop answering, from the RFC 8594 ``Sunset`` header (an
            HTTP-date), aware UTC; ``None`` if absent or unreadable.
        successor: The target of a ``Link`` with ``rel="successor-version"``, if any.
        links: Every ``Link`` target with its ``rel``, as ``(url, rel)`` pairs.
    """

    endpoint: str
    deprecated_at: datetime | None = None
    sunset: datetime | None = None
    successor: str | None = None
    links: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """One human sentence for logs and warnings."""
        parts = [f"the server marks {self.endpoint} as deprecated"]
        if self.deprecated_at is not None:
            parts.append(f"since {self.deprecated_at.isoformat()}")
        if self.sunset is not None:
            parts.append(f"with sunset {self.sunset.isoformat()}")
        text = " ".join(parts)
        if self.successor is not None:
            text += f"; successor: {self.successor}"
        return text


@attrs.frozen(kw_only=True)
class WechatAccessToken:
    """The WeChat access token that the Authing / GenAuth server caches; its ``repr`` shows
    only the first characters of the token.

    Attributes:
        access_token: The WeChat access token, to pass to WeChat APIs.
        expires_at: When the token expires, timezone-aware UTC.
        request_id: The server's request id, if it sent one.
        deprecation: The server's ``Deprecation`` / ``Sunset`` / ``Link`` headers, or ``None``.
        attempts: How many requests the call made (1 unless it retried).
        data: The answer's ``data`` as the generated model: the spec's fields, typed, and
            undeclared ones in ``additional_properties`` (made of the two above if not given).
        fallback: Whether it came from WeChat's stable_token (``StableTokenFallback``).
    """

    access_token: str = attrs.field(repr=mask_token)
    expires_at: datetime
    request_id: str | None = None
    deprecation: DeprecationNotice | None = None
    attempts: int = 1
    # Out of repr (it holds the token whole) and of the hash (the model is mutable).
    data: GetWechatAccessTokenDataDto = attrs.field(repr=False, hash=False)
    fallback: bool = False

    @data.default
    def _data_of_the_token(self) -> GetWechatAccessTokenDataDto:
        from authing_wechat_client.models import GetWechatAccessTokenDataDto  # noqa: PLC0415

        expires = str(int(self.expires_at.timestamp()))
        return GetWechatAccessTokenDataDto(access_token=self.access_token, expires_at=expires)

    @property
    def retries(self) -> int:
        """How many times the call retried before it got this token."""
        return self.attempts - 1

    def expires_in(self, *, now: datetime | None = None) -> float:
        """Seconds until the token expires (negative once it has)."""
        current = datetime.now(UTC) if now is None else now
        return (self.expires_at - current).total_seconds()

    def __attrs_post_init__(self) -> None:
        # Every token handed out is kept out of log records and error messages from now on.
        register_token(self.access_token)

    def __str__(self) -> str:
        return repr(self)
