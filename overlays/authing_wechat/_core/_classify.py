"""Answers classified robustly: a token, or the typed error each failure stands for.

The generated parsers trust the server (``KeyError``, ``JSONDecodeError``, ``ValueError`` on
status 520): every response is classified here instead, by HTTP status, then the envelope's
``statusCode``, then the shape of ``data``, through the generated models (wire names by
regeneration alone).
"""

from __future__ import annotations

import json
import re
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx
from authing_wechat_client.models import (
    ErrorRespDto,
    GetWechatAccessTokenDataDto,
    GetWechatAccessTokenRespDto,
)
from authing_wechat_client.types import Unset

from ._body import MAX_BODY_BYTES
from ._deprecation import parse_deprecation_headers
from ._errors import (
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    AuthingResponseError,
    AuthingTimeoutError,
    AuthingTLSError,
)
from ._models import WechatAccessToken
from ._secret import redact, redact_value

__all__ = ["BodyTooLarge", "read_token", "translate_transport_error"]

# Any run of ASCII digits (leading zeros too); out-of-range values fail in fromtimestamp().
_EPOCH_SECONDS = re.compile(r"[0-9]+")
# Generated from_dict raises these on a wrong shape (missing key, non-mapping, bad enum).
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


class BodyTooLarge(httpx.DecodingError):
    """A response body past ``MAX_BODY_BYTES``: refused without reading the rest."""


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _http_error(
    response: httpx.Response, attempts: int, *, cut_off: bool, base_url: str
) -> AuthingAPIError:
    """An HTTP error status: the envelope if the body has one, else the status alone."""
    status = response.status_code
    reason = redact(response.reason_phrase) or "error"
    envelope: ErrorRespDto | None = None
    body = None if cut_off else _json_object(response)
    if body is not None:
        try:
            envelope = ErrorRespDto.from_dict(body)
        except _SHAPE_ERRORS:
            envelope = None
    api_code = request_id = None
    if cut_off:
        message = f"HTTP {status} {reason} (body larger than {MAX_BODY_BYTES} bytes; not read)"
    elif envelope is None:
        kind = "non-JSON body" if body is None else "body without the error envelope"
        message = f"HTTP {status} {reason} ({kind})"
    else:
        message = f"HTTP {status}: {redact(_str_or_none(envelope.message) or reason)}"
        api_code = _int_or_none(envelope.api_code)
        request_id = redact_value(_str_or_none(envelope.request_id))
        status = _int_or_none(envelope.status_code) or status
    path = httpx.URL(base_url).path.rstrip("/") if response.status_code == 404 else ""
    if path:  # the commonest 404: app_host given as .../api/v3, so the path is there twice
        message += (
            f"; app_host has the path {path!r} and the request went to "
            f"{response.request.url.path!r}: app_host is your app's base URL"
        )
    return AuthingAPIError(
        message,
        status_code=status,
        api_code=api_code,
        request_id=request_id,
        attempts=attempts,
        request=response.request,
        response=response,
    )


def read_token(
    response: httpx.Response, *, attempts: int, body_cut_off: bool = False, base_url: str = ""
) -> WechatAccessToken:
    """Turn a response into a token, or raise the error it stands for: ``AuthingAPIError``
    (an HTTP error status, or ``statusCode`` not 200), ``AuthingResponseError`` (a 2xx of
    another shape). ``body_cut_off``: an error status's body was too large and left unread."""
    # Raised here, not in the deciding frame: its parsed body may echo the secret.
    outcome = _classify(response, attempts, body_cut_off, base_url)
    if isinstance(outcome, AuthingError):
        raise outcome
    return outcome


def _classify(  # noqa: PLR0911 - one return for each way an answer can be wrong
    response: httpx.Response, attempts: int, body_cut_off: bool, base_url: str
) -> WechatAccessToken | AuthingError:
    if not 200 <= response.status_code < 300:
        return _http_error(response, attempts, cut_off=body_cut_off, base_url=base_url)

    def malformed(what: str, request_id: str | None = None) -> AuthingResponseError:
        return AuthingResponseError(
            f"HTTP {response.status_code} response {what}",
            request_id=request_id,
            attempts=attempts,
            request=response.request,
            response=response,
        )

    body = _json_object(response)
    if body is None:
        return malformed("is not a JSON object")
    try:
        envelope = GetWechatAccessTokenRespDto.from_dict(body)
    except _SHAPE_ERRORS:
        return malformed("is not the documented envelope")
    request_id = envelope.request_id if not isinstance(envelope.request_id, Unset) else None
    api_code = envelope.api_code if not isinstance(envelope.api_code, Unset) else None
    if (
        _int_or_none(envelope.status_code) is None
        or not isinstance(envelope.message, str)
        or (request_id is not None and not isinstance(request_id, str))
        or (api_code is not None and _int_or_none(api_code) is None)
    ):
        return malformed("envelope has mistyped fields", redact_value(_str_or_none(request_id)))
    # A server that echoes the request must not put the secret into our errors or results.
    request_id = redact_value(request_id)
    if envelope.status_code != 200:
        return AuthingAPIError(
            f"statusCode {envelope.status_code} in HTTP {response.status_code}: "
            f"{redact(envelope.message)}",
            status_code=envelope.status_code,
            api_code=api_code,
            request_id=request_id,
            attempts=attempts,
            request=response.request,
            response=response,
        )
    data = envelope.data
    # The generated union falls back to the raw value (or {}'s model) when data is not the token.
    if not isinstance(data, GetWechatAccessTokenDataDto):
        return malformed("has statusCode 200 but no token in data", request_id)
    token, expires = data.access_token, data.expires_at
    if not isinstance(token, str) or not token:
        return malformed("data has no access token string", request_id)
    if not isinstance(expires, str) or not _EPOCH_SECONDS.fullmatch(expires):
        return malformed("data's expiry is not a string of epoch seconds", request_id)
    try:
        expires_at = datetime.fromtimestamp(int(expires), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return malformed("data's expiry is out of range", request_id)
    return WechatAccessToken(
        access_token=token,
        expires_at=expires_at,
        request_id=request_id,
        deprecation=parse_deprecation_headers(response.headers, response.url.path),
        attempts=attempts,
        data=_redacted_data(data),
    )


def _redacted_data(data: GetWechatAccessTokenDataDto) -> GetWechatAccessTokenDataDto:
    # Server text the model's repr shows (bar the token and its expiry): no echoed secret.
    fields = data.to_dict().items()
    keep = ("accessToken", "expiresAt")
    return type(data).from_dict(
        {k: redact(v) if isinstance(v, str) and k not in keep else v for k, v in fields}
    )


def _certificate_rejected(exc: BaseException) -> bool:
    # httpx wraps httpcore's ConnectError, which wraps the ssl module's error.
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate_transport_error(
    exc: httpx.HTTPError, request: httpx.Request, *, attempts: int
) -> AuthingError:
    """Map an httpx exception to ours; the original stays reachable as ``__cause__``."""
    # httpx's message may quote what the server sent (a header, a status line).
    detail = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, BodyTooLarge):
        return AuthingResponseError(
            f"response body is larger than {MAX_BODY_BYTES} bytes; not read",
            attempts=attempts,
            request=request,
        )
    if isinstance(exc, httpx.PoolTimeout):
        return AuthingTimeoutError(
            f"PoolTimeout: {request.method} {request.url} waited longer than pool_timeout for a "
            "free connection (every one of the pool's max_connections was busy)",
            attempts=attempts,
            request=request,
        )
    if isinstance(exc, httpx.TimeoutException):
        return AuthingTimeoutError(
            f"{type(exc).__name__}: {request.method} {request.url} timed out ({detail})",
            attempts=attempts,
            request=request,
        )
    if _certificate_rejected(exc):
        return AuthingTLSError(
            f"{request.method} {request.url}: the server's TLS certificate was not accepted "
            f"({detail})",
            attempts=attempts,
            request=request,
        )
    if isinstance(exc, httpx.DecodingError):
        return AuthingResponseError(
            f"response body could not be decoded ({detail})", attempts=attempts, request=request
        )
    return AuthingConnectionError(
        f"{type(exc).__name__}: {request.method} {request.url} failed ({detail})",
        attempts=attempts,
        request=request,
    )
