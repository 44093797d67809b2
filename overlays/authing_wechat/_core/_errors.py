"""The exceptions of authing-wechat.

Every failure of a call is one of these, never a raw ``KeyError``, ``JSONDecodeError``,
``ValueError`` or httpx exception (bad *arguments* raise ``ValueError`` before any request)::

    AuthingError
    ├── AuthingAPIError            the server answered with an error (HTTP status or envelope)
    ├── AuthingConnectionError     no usable answer reached us (refused, reset, dropped)
    │   ├── AuthingTimeoutError    ... because a timeout or the call's deadline ran out
    │   └── AuthingTLSError        ... because the server's certificate was not accepted
    ├── AuthingResponseError       a 2xx answer that is not the documented shape
    ├── DeprecatedEndpointError    a deprecated method was called with ``deprecated="error"``
    ├── StableTokenError           Authing is unavailable and WeChat's stable_token failed too
    └── WechatTokenRejectedError   WeChat keeps rejecting the token Authing serves (40001 ...)

    AuthingDeprecationWarning (a DeprecationWarning): a deprecated method or server notice.

No message or attribute ever holds the WeChat app secret or an access token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import httpx

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "AuthingAPIError",
    "AuthingConnectionError",
    "AuthingDeprecationWarning",
    "AuthingError",
    "AuthingResponseError",
    "AuthingTLSError",
    "AuthingTimeoutError",
    "DeprecatedEndpointError",
    "StableTokenError",
    "WechatTokenRejectedError",
]


class AuthingError(Exception):
    """Base class of every error a call raises.

    Attributes:
        message: What went wrong, safe to log.
        attempts: How many requests the call made before giving up (0 if it made none).
        request: The last ``httpx.Request`` sent, if any (its body holds the app secret).
        response: The last ``httpx.Response`` received, if any.
        retry_after: The server's retry hint in seconds, if the call gave up on it (too long).
        request_id: The server's ``requestId``, if its answer had one; quote it to support.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 0,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.request = request
        self.response = response
        self.retry_after = retry_after
        self.request_id = request_id

    @property
    def http_status(self) -> int | None:
        """The HTTP status of the last response, or ``None`` when none arrived."""
        return None if self.response is None else self.response.status_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, attempts={self.attempts})"


class _Context(TypedDict, total=False):
    # What AuthingError takes besides its message, passed through by the subclasses.
    attempts: int
    request: httpx.Request | None
    response: httpx.Response | None
    retry_after: float | None
    request_id: str | None


class AuthingAPIError(AuthingError):
    """The server answered with an error: an HTTP error status, or an error envelope in a 2xx.

    Attributes:
        status_code: The envelope's business ``statusCode`` (the HTTP status when the body
            carried no envelope, such as an HTML page from a proxy).
        api_code: The envelope's detailed ``apiCode``, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        api_code: int | None = None,
        **context: Unpack[_Context],
    ) -> None:
        super().__init__(message, **context)
        self.status_code, self.api_code = status_code, api_code

    def __str__(self) -> str:
        # What Authing's support asks for, in the one line a log or traceback shows.
        ids = [
            f"{name} {value}"
            for name, value in (("apiCode", self.api_code), ("requestId", self.request_id))
            if value is not None
        ]
        return f"{self.message} ({', '.join(ids)})" if ids else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, http_status={self.http_status}, "
            f"status_code={self.status_code}, api_code={self.api_code}, "
            f"request_id={self.request_id!r}, attempts={self.attempts})"
        )


class AuthingConnectionError(AuthingError):
    """No usable answer arrived: connection refused or reset, dropped mid-way, TLS failure."""


class AuthingTimeoutError(AuthingConnectionError):
    """A timeout ran out: connecting, reading, or the call's whole ``deadline``."""


class AuthingTLSError(AuthingConnectionError):
    """The server's TLS certificate failed verification. Never retried: it would fail again."""


class AuthingResponseError(AuthingError):
    """A 2xx answer whose body is not the documented shape (not JSON, missing ``data``, wrong
    types, an ``expiresAt`` that is not epoch seconds)."""


class DeprecatedEndpointError(AuthingError):
    """A deprecated method was called with ``deprecated="error"``; raised before any request.
    ``successor`` names the method to call instead."""

    def __init__(self, message: str, *, successor: str) -> None:
        super().__init__(message)
        self.successor = successor


class StableTokenError(AuthingError):
    """Authing is unavailable, and the ``StableTokenFallback`` failed too: WeChat refused it
    (``errcode``; the message says what to do) or could not be reached.

    Attributes:
        errcode: WeChat's ``errcode``, e.g. 40164 (IP not whitelisted), 40125 (wrong secret),
            45009 (quota); ``None`` when WeChat gave no errcode.
        errmsg: WeChat's ``errmsg``, if any.
        authing_error: Authing's error that made the provider take the fallback.
    """

    def __init__(
        self,
        message: str,
        *,
        authing_error: AuthingError,
        errcode: int | None = None,
        errmsg: str | None = None,
        **context: Unpack[_Context],
    ) -> None:
        super().__init__(message, **context)
        self.errcode, self.errmsg, self.authing_error = errcode, errmsg, authing_error


class AuthingDeprecationWarning(DeprecationWarning):
    """Issued when a deprecated endpoint is used or the server announces a deprecation; a
    ``DeprecationWarning``, so ``-W error::DeprecationWarning`` makes it fail."""


# What a rejection that outlives a fresh token nearly always means; said in every message.
_LIKELY_CAUSE = (
    "this usually means that something else fetches access tokens for this WeChat app (another "
    "service or script calling WeChat's token API, or a tool of the WeChat console), and each "
    "fetch replaces the token that Authing caches; let Authing be the only one that fetches it"
)


class WechatTokenRejectedError(AuthingError):
    """WeChat rejected the access token even after one fresh token (``WechatAuth``, wechatpy:
    errcode 40001, 40014 or 42001 once the one resend is spent), or the provider had no other
    (its ``get()`` while Authing keeps handing out a token WeChat rejected; it backs off).

    Attributes:
        app_id: The WeChat app id, if known.
        errcode: WeChat's ``errcode`` (40001, 40014 or 42001); ``None`` if the provider refused.
        errmsg: WeChat's ``errmsg``, if any.
        response: The WeChat response that rejected the token, if there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        app_id: str | None = None,
        errcode: int | None = None,
        errmsg: str | None = None,
        **context: Unpack[_Context],
    ) -> None:
        super().__init__(f"{message}; {_LIKELY_CAUSE}", **context)
        self.app_id, self.errcode, self.errmsg = app_id, errcode, errmsg

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, app_id={self.app_id!r}, "
            f"errcode={self.errcode}, attempts={self.attempts})"
        )
