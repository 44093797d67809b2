"""wechatpy with the token from Authing (the ``wechatpy`` extra): ``AuthingWeChatClient``.
wechatpy answers 40001 / 40014 / 42001 by fetching a new token from WeChat (replacing Authing's)
and calling again, without bound; here the provider drops the token and the call is resent once.
"""

from __future__ import annotations

import contextvars
import inspect
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from authing_wechat._core._errors import WechatTokenRejectedError
from authing_wechat._core._models import WechatAccessToken

from ._rejection import (
    TokenRejection,
    may_hold_rejection,
    rejection_error,
    rejection_in_body,
    rejection_in_result,
)

if TYPE_CHECKING:
    from authing_wechat._provider._providers import WechatTokenProvider

__all__ = ["AuthingWeChatClient"]

# Set while a call is being resent (per thread and task): its second rejection raises.
_RESENDING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "authing_wechat_wechatpy_resending", default=False
)
_EPOCH = datetime.fromtimestamp(0, UTC)


class AuthingWeChatClient(WeChatClient):  # type: ignore[misc]  # wechatpy has no types
    """A ``wechatpy.WeChatClient`` whose access token comes from a token provider.

    Every wechatpy API works unchanged (``client.user.get(openid)`` ...). On errcode 40001,
    40014 or 42001 the provider drops exactly that token and the call is resent once; a second
    rejection raises ``WechatTokenRejectedError``. It never fetches a token from WeChat itself.

    Args:
        provider: A (sync) ``WechatTokenProvider`` (``client.token_provider(...)``).
        session: A wechatpy session storage for what wechatpy caches besides the token
            (jsapi tickets ...); its memory storage when ``None``.
        timeout: Seconds per WeChat request (wechatpy's ``timeout``).
        auto_retry: ``False``: never resend; a rejected token is still dropped from the
            provider, and wechatpy raises its ``WeChatClientException``.

    Raises:
        TypeError: ``provider`` is an ``AsyncWechatTokenProvider`` (wechatpy is synchronous).
        WechatTokenRejectedError: (API calls) WeChat rejected the fresh token too, or the
            provider had no other; its ``response`` is a ``requests.Response``.
    """

    def __init__(
        self,
        provider: WechatTokenProvider,
        *,
        session: Any = None,
        timeout: float | None = None,
        auto_retry: bool = True,
    ) -> None:
        if inspect.iscoroutinefunction(getattr(provider, "get", None)):
            raise TypeError(
                "AuthingWeChatClient needs a WechatTokenProvider (sync); wechatpy cannot await "
                "an AsyncWechatTokenProvider"
            )
        self._provider = provider
        # No secret: this client never asks WeChat for a token.
        super().__init__(
            provider.app_id, None, session=session, timeout=timeout, auto_retry=auto_retry
        )

    @property
    def provider(self) -> WechatTokenProvider:
        """The token provider the access tokens come from."""
        return self._provider

    @property
    def access_token(self) -> str:
        """The provider's token, valid now (wechatpy reads it for every request)."""
        return self._provider.get().access_token

    def fetch_access_token(self) -> dict[str, Any]:
        """The provider's token as WeChat's token API answers it (``{"access_token": ...,
        "expires_in": seconds left}``); that API is never called: it would replace the token
        Authing caches."""
        token = self._provider.get()
        return {"access_token": token.access_token, "expires_in": int(token.expires_in())}

    def _handle_result(
        self,
        res: Any,
        method: Any = None,
        url: Any = None,
        result_processor: Any = None,
        **kwargs: Any,
    ) -> Any:
        rejection = _rejection_of(res)
        if rejection is None:
            return super()._handle_result(res, method, url, result_processor, **kwargs)
        params = kwargs.get("params")
        sent = params.get("access_token") if isinstance(params, dict) else None
        self._provider.record_rejection(rejection.errcode)
        if isinstance(sent, str):
            # Only that token: if another call's refresh replaced it already, nothing happens.
            # The provider compares tokens by value; the expiry of a rejected token is moot.
            named = WechatAccessToken(access_token=sent, expires_at=_EPOCH, attempts=0)
            self._provider.invalidate(named, rejected=True)
        where = {"attempts": 2 if _RESENDING.get() else 1}
        if _RESENDING.get():
            raise self._error(rejection, res, resent=True, **where)
        if not self.auto_retry or not _replayable(kwargs) or not isinstance(params, dict):
            raise WeChatClientException(
                rejection.errcode,
                rejection.errmsg,
                client=self,
                request=getattr(res, "request", None),
                response=res,
            )
        try:
            fresh = self._provider.get()
        except WechatTokenRejectedError as exc:
            raise self._error(rejection, res, resent=False, **where) from exc
        if fresh.access_token == sent:
            raise self._error(rejection, res, resent=False, **where)
        params["access_token"] = fresh.access_token
        resending = _RESENDING.set(True)
        try:
            return self._request(
                method=method, url_or_endpoint=url, result_processor=result_processor, **kwargs
            )
        finally:
            _RESENDING.reset(resending)

    def _error(
        self, rejection: TokenRejection, res: Any, *, resent: bool, attempts: int
    ) -> WechatTokenRejectedError:
        error = rejection_error(self._provider.app_id, rejection, resent=resent, attempts=attempts)
        error.response = None if isinstance(res, dict) else res
        return error


def _rejection_of(res: Any) -> TokenRejection | None:
    """The token rejection in a wechatpy answer (a ``requests.Response``, or a dict)."""
    if isinstance(res, dict):
        return rejection_in_result(res)
    headers = getattr(res, "headers", {})
    if getattr(res, "ok", True) and may_hold_rejection(
        headers.get("content-type"), headers.get("content-length")
    ):
        return rejection_in_body(res.content)
    return None


def _replayable(kwargs: dict[str, Any]) -> bool:
    """Whether requests can send this call's body again: not files or a stream (read once)."""
    if kwargs.get("files"):
        return False
    data = kwargs.get("data")
    return data is None or isinstance(data, bytes | str | dict | list | tuple)
