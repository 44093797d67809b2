"""``WechatAuth``: an ``httpx.Auth`` that puts the provider's token on WeChat calls and resends
once when WeChat rejects it (after WxJava); ``_Exchange`` decides for both flows.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, cast
from urllib.parse import quote, unquote_plus

import httpx

from authing_wechat._core._errors import WechatTokenRejectedError
from authing_wechat._core._secret import install_log_filters

from ._rejection import TokenRejection, may_hold_rejection, rejection_error, rejection_in_body

if TYPE_CHECKING:
    from authing_wechat._core._models import WechatAccessToken
    from authing_wechat._provider._providers import AsyncWechatTokenProvider, WechatTokenProvider

__all__ = ["WechatAuth"]

logger = logging.getLogger("authing_wechat")

_PROVIDER_METHODS = ("get", "invalidate", "record_rejection")
_SYNC_IN_ASYNC = (
    "WechatAuth was given a WechatTokenProvider (sync), which cannot serve an httpx.AsyncClient: "
    "its refreshes would block the event loop. Use an AsyncWechatTokenClient's provider"
)
_ASYNC_IN_SYNC = (
    "WechatAuth was given an AsyncWechatTokenProvider, which cannot serve an httpx.Client: its "
    "get() must be awaited on an event loop. Use a WechatTokenClient's provider"
)


class WechatAuth(httpx.Auth):
    """Authenticate WeChat API calls with the access token of a token provider.

    Each request gets the ``access_token`` query parameter from ``provider.get()``. On errcode
    40001, 40014 or 42001 the provider drops exactly that token and the request is sent once
    more with the next one (unless its body is a stream); other answers are left untouched::

        wx = httpx.Client(base_url="https://api.weixin.qq.com", auth=WechatAuth(provider))

    Args:
        provider: A ``WechatTokenProvider`` for an ``httpx.Client``, or an
            ``AsyncWechatTokenProvider`` for an ``httpx.AsyncClient``.

    Raises:
        TypeError: ``provider`` is no token provider; or, when a request is sent, it does not
            fit the client (a sync provider in an ``AsyncClient`` would block the event loop).
        WechatTokenRejectedError: (requests) WeChat rejected the fresh token too, or the
            provider had no other.
        AuthingError: The provider could not get a token from Authing.
    """

    def __init__(self, provider: WechatTokenProvider | AsyncWechatTokenProvider) -> None:
        if not all(callable(getattr(provider, name, None)) for name in _PROVIDER_METHODS):
            raise TypeError(
                "WechatAuth needs a token provider (client.token_provider(...)), "
                f"not {type(provider).__name__}"
            )
        self._provider = provider
        self._is_async = inspect.iscoroutinefunction(provider.get)
        install_log_filters()  # the token travels in every URL that httpx logs

    @property
    def provider(self) -> WechatTokenProvider | AsyncWechatTokenProvider:
        """The token provider this auth takes tokens from."""
        return self._provider

    def __repr__(self) -> str:
        return f"WechatAuth({self._provider!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """The flow for ``httpx.Client``: token, send, and at most one resend; see the class."""
        if self._is_async:
            raise TypeError(_ASYNC_IN_SYNC)
        provider = cast("WechatTokenProvider", self._provider)
        exchange = _Exchange(provider, request)
        response = yield exchange.send(provider.get())
        while exchange.resend_after(response, _body(response)):
            try:
                token = provider.get()
            except WechatTokenRejectedError as exc:
                raise exchange.no_other_token() from exc
            response = yield exchange.send(token)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The flow for ``httpx.AsyncClient``; see ``sync_auth_flow``."""
        if not self._is_async:
            raise TypeError(_SYNC_IN_ASYNC)
        provider = cast("AsyncWechatTokenProvider", self._provider)
        exchange = _Exchange(provider, request)
        response = yield exchange.send(await provider.get())
        while exchange.resend_after(response, await _abody(response)):
            try:
                token = await provider.get()
            except WechatTokenRejectedError as exc:
                raise exchange.no_other_token() from exc
            response = yield exchange.send(token)


def _wants_body(response: httpx.Response) -> bool:
    # WeChat rejects a token with HTTP 200; an error status is the caller's, untouched.
    if not response.is_success:
        return False
    headers = response.headers
    return may_hold_rejection(headers.get("content-type"), headers.get("content-length"))


def _body(response: httpx.Response) -> bytes | None:
    return response.read() if _wants_body(response) else None


async def _abody(response: httpx.Response) -> bytes | None:
    return await response.aread() if _wants_body(response) else None


class _Exchange:
    """One request's decisions: its token, whether WeChat rejected it, whether to resend."""

    def __init__(
        self, provider: WechatTokenProvider | AsyncWechatTokenProvider, request: httpx.Request
    ) -> None:
        self._provider = provider
        self._request = request
        self._sent: WechatAccessToken | None = None
        self._attempts = 0
        self._rejection: TokenRejection | None = None
        self._response: httpx.Response | None = None
        # Judged before sending: a transport may read a streamed body into the request.
        try:
            self._replayable = request.content is not None  # raises for a body that is a stream
        except httpx.RequestNotRead:
            self._replayable = False

    def send(self, token: WechatAccessToken) -> httpx.Request:
        """The request to send with ``token``: the original, or a copy for the resend (a
        ``WechatTokenRejectedError`` if ``token`` is the one WeChat just rejected)."""
        if self._sent is not None and token.access_token == self._sent.access_token:
            raise self.no_other_token()
        self._sent = token
        self._attempts += 1
        url = _with_token(self._request.url, token.access_token)
        if self._attempts == 1:
            self._request.url = url  # auth flows prepare the request they are given
            return self._request
        return httpx.Request(
            self._request.method,
            url,
            headers=self._request.headers,
            content=self._request.content,
            extensions=self._request.extensions,
        )

    def resend_after(self, response: httpx.Response, body: bytes | None) -> bool:
        """Whether to send again after ``response`` (``body``: read if it may be a rejection);
        a ``WechatTokenRejectedError`` if WeChat rejected the resent request's token too."""
        rejection = None if body is None else rejection_in_body(body)
        if rejection is None:
            return False
        token = self._sent
        assert token is not None  # noqa: S101 - send() came first
        # Only this token: if another caller's refresh has replaced it already, nothing
        # happens, so a hundred callers meeting one bad token cause one refresh.
        self._provider.invalidate(token, rejected=True)
        self._provider.record_rejection(rejection.errcode)
        app_id = self._provider.app_id
        if self._attempts >= 2:
            raise rejection_error(
                app_id,
                rejection,
                resent=True,
                attempts=self._attempts,
                request=response.request,
                response=response,
            )
        logger.info(
            "WeChat rejected the access token of %s (errcode %d); %s",
            app_id,
            rejection.errcode,
            "resending once with a fresh one"
            if self._replayable
            else "the request is not sent again (its body is a stream), the next call gets a "
            "fresh token",
        )
        self._rejection, self._response = rejection, response
        return self._replayable

    def no_other_token(self) -> WechatTokenRejectedError:
        """The error for a provider that has nothing but the token WeChat just rejected."""
        assert self._rejection is not None  # noqa: S101 - only after a rejection
        response = self._response
        return rejection_error(
            self._provider.app_id,
            self._rejection,
            resent=False,
            attempts=self._attempts,
            request=None if response is None else response.request,
            response=response,
        )


def _with_token(url: httpx.URL, access_token: str) -> httpx.URL:
    """``url`` with its ``access_token`` parameter (all of them) replaced; the other parameters
    keep their exact bytes, as re-encoding could change how a signed query reads."""
    kept = [
        pair
        for pair in url.query.decode("ascii", "replace").split("&")
        if pair and unquote_plus(pair.partition("=")[0]) != "access_token"
    ]
    kept.append("access_token=" + quote(access_token, safe=""))
    return url.copy_with(query="&".join(kept).encode("ascii"))
