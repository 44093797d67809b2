"""Whether a WeChat answer rejects the access token it was sent, for every integration.

WeChat answers a stale, replaced or expired token with HTTP 200 and a small JSON body such as
``{"errcode": 40001, "errmsg": "invalid credential ..."}``; 40001, 40014 and 42001 mean the
token is wrong, and a fresh one fixes them. Only a small answer labelled JSON (or text) is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from authing_wechat._core._errors import WechatTokenRejectedError
from authing_wechat._core._secret import redact

__all__ = [
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
    """WeChat said the token it was sent is invalid, not the latest, or expired: ``errcode``
    40001, 40014 or 42001, with WeChat's ``errmsg`` ("" when it sent none)."""

    errcode: int
    errmsg: str


def may_hold_rejection(content_type: str | None, content_length: str | None) -> bool:
    """Whether an answer with these headers can be a token rejection, so is worth reading:
    not for images, media and other non-JSON types, nor bodies announced too large."""
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
    """The token rejection in a whole WeChat answer's body, if it is one."""
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
    """The token rejection in a decoded WeChat answer (any value), if it is one. Device APIs
    put ``errcode`` inside ``base_resp``; both places are read."""
    if not isinstance(result, Mapping):
        return None
    if "errcode" not in result and isinstance(result.get("base_resp"), Mapping):
        result = result["base_resp"]
    errcode = result.get("errcode")
    # WeChat sends a number; some proxies and old APIs a numeric string (wechatpy int()s it).
    if isinstance(errcode, str) and errcode.strip().lstrip("-").isdigit():
        errcode = int(errcode)
    if not isinstance(errcode, int) or isinstance(errcode, bool):
        return None
    if errcode not in REJECTED_TOKEN_ERRCODES:
        return None
    errmsg = result.get("errmsg")
    return TokenRejection(errcode=errcode, errmsg=errmsg if isinstance(errmsg, str) else "")


def rejection_error(
    app_id: str, rejection: TokenRejection, *, resent: bool, attempts: int, **where: Any
) -> WechatTokenRejectedError:
    """The error for a call whose token WeChat rejected and that a resend cannot help:
    ``resent``, a fresh token was rejected too; otherwise the provider had no other token.
    ``where`` holds the ``request`` and ``response`` of WeChat's answer, if any."""
    errmsg = redact(rejection.errmsg)[:200]  # WeChat's text never holds the token; to be sure
    said = f"errcode {rejection.errcode}" + (f": {errmsg}" if errmsg else "")
    if resent:
        what = f"again ({said}) after one resend with a fresh token"
    else:
        what = (
            f"({said}) and the token provider had no other: Authing still serves the rejected "
            "one, so it was not resent"
        )
    return WechatTokenRejectedError(
        f"WeChat rejected the access token of {app_id} {what}",
        app_id=app_id,
        errcode=rejection.errcode,
        errmsg=rejection.errmsg,
        attempts=attempts,
        **where,
    )
