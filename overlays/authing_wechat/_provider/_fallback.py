"""``StableTokenFallback``: WeChat's ``POST /cgi-bin/stable_token`` in normal mode (never
``force_refresh``), asked by a provider only when Authing is unavailable (``_fleet``)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from authing_wechat._core._clock import Clock
from authing_wechat._core._errors import AuthingError, StableTokenError
from authing_wechat._core._models import WechatAccessToken
from authing_wechat._core._secret import Secret, redact
from authing_wechat._core._settings import _base_url
from authing_wechat._core._validation import check_seconds

__all__ = ["STABLE_TOKEN_PATH", "StableTokenFallback"]

STABLE_TOKEN_PATH = "/cgi-bin/stable_token"  # noqa: S105 - a path, not a password
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_ADVICE = {  # what to do about WeChat's refusals users meet
    40164: "this server's IP is not on the app's IP whitelist (WeChat console, Development > "
    "Basic configuration): add its egress IP, or send the fallback through a whitelisted proxy "
    "with StableTokenFallback(http_client=...)",
    40125: "the app secret is wrong: check the app_secret given to token_provider()",
    45009: "the app's daily quota of token calls is spent: it resets at midnight (Beijing time) "
    "or in the WeChat console",
}


class StableTokenFallback:
    """WeChat's ``POST /cgi-bin/stable_token`` (normal mode: the app's current stable token;
    unlike ``/cgi-bin/token`` it never breaks the token Authing caches) as a provider's token
    while Authing is unavailable: ``client.token_provider(..., fallback=StableTokenFallback())``.
    Authing is always asked first; the fallback only when it is unavailable (connection error,
    timeout, HTTP 5xx or 429, a page that is not JSON, the retry budget spent) and callers
    would otherwise fail or wait. The caller's IP must be on the app's IP whitelist.

    Args:
        base_url: WeChat's API, or a proxy or fake in its place.
        http_client: An ``httpx.Client`` (``AsyncClient`` for the async token client), used as
            given (your egress proxy: your whitelisted IP); ``None``: its own, TLS verified,
            closed with the token client.
        timeout: Seconds for the request.

    Raises:
        TypeError: A wrong type; ``ValueError``: ``base_url`` is not https:// (http:// only to
            loopback), or ``timeout`` is not positive.
    """

    def __init__(
        self,
        *,
        base_url: str = "https://api.weixin.qq.com",
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not isinstance(http_client, httpx.Client | httpx.AsyncClient | None):
            raise TypeError(f"http_client must be an httpx client, not {type(http_client)}")
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
        try:
            self.base_url = _base_url(base_url, allow_insecure_http=False)
        except ValueError as exc:
            raise ValueError(f"base_url: {str(exc).replace('app_host', 'base_url')}") from None
        self.timeout = check_seconds("timeout", timeout, positive=True)
        self._given, self._own, self._lock = http_client, dict[type, Any](), threading.Lock()

    def __repr__(self) -> str:
        return f"StableTokenFallback(base_url={self.base_url!r}, timeout={self.timeout})"

    def _http(self, kind: type[_HttpT]) -> _HttpT:
        """The ``httpx.Client`` or ``AsyncClient`` (``kind``) it sends with: the one given, or
        its own, made on first use; a ``TypeError`` if the one given is not a ``kind``."""
        if self._given is not None and not isinstance(self._given, kind):
            raise TypeError(f"this fallback's http_client must be an httpx.{kind.__name__}")
        with self._lock:
            if self._given is None and kind not in self._own:
                self._own[kind] = kind(follow_redirects=False)
            return self._given or self._own[kind]

    def close(self) -> None:
        """Close the ``httpx.Client`` it built, if any (the next request builds another)."""
        if (client := self._own.pop(httpx.Client, None)) is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the ``httpx.AsyncClient`` it built, if any."""
        if (client := self._own.pop(httpx.AsyncClient, None)) is not None:
            await client.aclose()

    def _request(self, http: httpx.Client | httpx.AsyncClient, app_id: str, secret: Secret) -> Any:
        body = {"grant_type": "client_credential", "appid": app_id, "secret": secret.reveal()}
        return http.build_request(
            "POST", self.base_url + STABLE_TOKEN_PATH, json=body, timeout=self.timeout
        )

    def _fetch(
        self, app_id: str, secret: Secret, outage: AuthingError, clock: Clock
    ) -> WechatAccessToken:
        """The stable token of ``app_id`` (``outage``: Authing's error), through ``Client.send``.

        Raises:
            StableTokenError: WeChat refused, or could not be reached.
        """
        http = self._http(httpx.Client)
        try:
            answer: httpx.Response | Exception = http.send(self._request(http, app_id, secret))
        except Exception as exc:  # every failure becomes a StableTokenError
            answer = exc
        return _token_of(answer, app_id, outage, clock.time())

    async def _afetch(
        self, app_id: str, secret: Secret, outage: AuthingError, clock: Clock
    ) -> WechatAccessToken:
        """``_fetch`` through ``AsyncClient.send``."""
        http = self._http(httpx.AsyncClient)
        try:
            answer: httpx.Response | Exception = await http.send(
                self._request(http, app_id, secret)
            )
        except Exception as exc:  # every failure becomes a StableTokenError
            answer = exc
        return _token_of(answer, app_id, outage, clock.time())


def _token_of(
    answer: httpx.Response | Exception, app_id: str, outage: AuthingError, now: float
) -> WechatAccessToken:
    """The token in WeChat's answer, or raise the ``StableTokenError`` it stands for."""
    try:
        payload = json.loads(answer.content) if isinstance(answer, httpx.Response) else None
    except (ValueError, RecursionError):
        payload = None
    payload = payload if isinstance(payload, dict) else {}
    token, expires_in, errcode, errmsg = map(
        payload.get, ("access_token", "expires_in", "errcode", "errmsg")
    )
    if isinstance(token, str) and token and type(expires_in) is int and expires_in > 0:
        expires_at = datetime.fromtimestamp(now + expires_in, UTC)
        return WechatAccessToken(access_token=token, expires_at=expires_at, fallback=True)
    errmsg = redact(errmsg) if isinstance(errmsg, str) else None
    if type(errcode) is int and errcode != 0:
        advice = _ADVICE.get(errcode, "see WeChat's documentation of getStableAccessToken")
        what = f"WeChat refused the stable_token fallback: errcode {errcode} ({errmsg}); {advice}"
    else:
        errcode, failed = None, f"HTTP {getattr(answer, 'status_code', 0)} without a token"
        if isinstance(answer, Exception):
            failed = f"{type(answer).__name__}: {redact(str(answer))}"
        what = f"the stable_token fallback failed too ({failed})"
    message = f"Authing is unavailable for {app_id} ({outage.message}), and {what}"
    attempts, request_id = outage.attempts + 1, outage.request_id
    raise StableTokenError(
        message,
        authing_error=outage,
        errcode=errcode,
        errmsg=errmsg,
        attempts=attempts,
        request_id=request_id,
    ) from outage
