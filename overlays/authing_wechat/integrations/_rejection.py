"""Whether a WeChat answer rejects the access token it was sent: one decision for every
integration (``WechatAuth`` for httpx, sync and async, and the wechatpy client).

WeChat answers a stale, replaced or expired token with HTTP 200 and a small JSON body::

    {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest ..."}

40001 (not the latest / invalid credential), 40014 (invalid token) and 42001 (expired token)
mean the token, not the request, is wrong: a fresh token and one resend fix them. Every other
errcode (45009 rate limits, 40003 a bad openid, ...) and every HTTP status belong to the
caller, untouched.

Only an answer that can hold such a body is read: a JSON (or plain-text, as some WeChat APIs
label their JSON) content type, and a small body. QR codes, media and other images are never
parsed, and nor is a large JSON answer (a token rejection is under a hundred bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from authing_wechat._core._errors import WechatTokenRejectedError
from authing_wechat._core._secret import redact

__all__ = [
    "MAX_REJECTION_BYTES",
    "REJECTED_TOKEN_ERRCODES",
    "TokenRejection",
    "may_hold_rejection",
    "rejection_error",
    "rejection_in_body",
    "rejection_in_result",
]

REJECTED_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# A rejection is about a hundred bytes; a body larger than this is the API's answer.
MAX_REJECTION_BYTES = 16_384
_TEXT_TYPES = ("application/json", "text/plain", "text/json", "text/javascript")


@attrs.frozen
class TokenRejection:
    """WeChat said the token it was sent is invalid, not the latest, or expired.

    Attributes:
        errcode: 40001, 40014 or 42001.
        errmsg: WeChat's ``errmsg`` ("" when it sent none).
    """

    errcode: int
    errmsg: str


def may_hold_rejection(content_type: str | None, content_length: str | None) -> bool:
    """Whether an answer with these headers can be a token rejection, so is worth reading.

    Args:
        content_type: The ``Content-Type`` header, if any.
        content_length: The ``Content-Length`` header, if any (absent when chunked).

    Returns:
        ``False`` for images, media and other non-JSON types, and for bodies announced larger
        than ``MAX_REJECTION_BYTES``.
    """
    if content_length is not None:
        try:
            if int(content_length) > MAX_REJECTION_BYTES:
                return False
        except ValueError:
            return False
    if content_type is None:
        return True  # unlabelled: the body's first byte decides (rejection_in_body)
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type in _TEXT_TYPES or media_type.endswith("+json")


def rejection_in_body(body: bytes) -> TokenRejection | None:
    """The token rejection in a WeChat answer's body, if it is one.

    Args:
        body: The whole body (of an answer ``may_hold_rejection`` allowed).

    Returns:
        The rejection, or ``None`` for any other body (another errcode, success, not JSON).
    """
    # Cheap checks first: most answers are the API's result, and parsing them would be waste.
    if len(body) > MAX_REJECTION_BYTES or b"errcode" not in body:
        return None
    text = body.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return None
    try:
        result = json.loads(text)
    except ValueError:
        return None
    return rejection_in_result(result)


def rejection_in_result(result: Any) -> TokenRejection | None:
    """The token rejection in a decoded WeChat answer, if it is one.

    Args:
        result: The decoded JSON (any value; only an object can be a rejection). Device APIs
            put ``errcode`` inside ``base_resp``; both places are read.

    Returns:
        The rejection, or ``None``.
    """
    if not isinstance(result, Mapping):
        return None
    if "errcode" not in result and isinstance(result.get("base_resp"), Mapping):
        result = result["base_resp"]
    errcode = _errcode(result.get("errcode"))
    if errcode not in REJECTED_TOKEN_ERRCODES:
        return None
    errmsg = result.get("errmsg")
    return TokenRejection(errcode=errcode, errmsg=errmsg if isinstance(errmsg, str) else "")


def _errcode(value: Any) -> int | None:
    # WeChat sends a number; some proxies and old APIs a numeric string (wechatpy int()s it).
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _said(rejection: TokenRejection) -> str:
    errmsg = redact(rejection.errmsg)[:200]  # WeChat's text never holds the token; to be sure
    return f"errcode {rejection.errcode}" + (f": {errmsg}" if errmsg else "")


def rejection_error(
    app_id: str, rejection: TokenRejection, *, resent: bool, attempts: int, **where: Any
) -> WechatTokenRejectedError:
    """The error for a call whose token WeChat rejected and that cannot be helped by a resend.

    Args:
        app_id: The WeChat app id.
        rejection: WeChat's last answer.
        resent: ``True``: a fresh token was rejected too, after the one resend. ``False``: the
            provider had no other token than the one WeChat had just rejected.
        attempts: Requests sent to WeChat for the call.
        where: ``request`` and ``response`` of that answer, if any.
    """
    if resent:
        what = f"again ({_said(rejection)}) after one resend with a fresh token"
    else:
        what = (
            f"({_said(rejection)}) and the token provider had no other: Authing still serves "
            "the rejected one, so it was not resent"
        )
    return WechatTokenRejectedError(
        f"WeChat rejected the access token of {app_id} {what}",
        app_id=app_id,
        errcode=rejection.errcode,
        errmsg=rejection.errmsg,
        attempts=attempts,
        **where,
    )
