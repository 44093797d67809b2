"""``WechatTokenClient`` and ``AsyncWechatTokenClient``: every decision is shared (``_BaseClient``
and ``Call``); the two differ only in how they send a request and how they sleep.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import httpx

from . import _deferred_imports as _io
from ._clock import Clock, SystemClock

if TYPE_CHECKING:
    import asyncio

    from typing_extensions import deprecated

    # The provider layer, imported by token_provider() alone: a client without one never loads it.
    from authing_wechat._provider._fallback import StableTokenFallback
    from authing_wechat._provider._providers import AsyncWechatTokenProvider, WechatTokenProvider
    from authing_wechat._provider._registry import ProviderRegistry
    from authing_wechat._provider._store import AsyncTokenStore, TokenStore

    from ._call import Call
    from ._deprecation import DeprecationGate, DeprecationPolicy
    from ._models import DeprecationNotice, WechatAccessToken
    from ._operations import Operation
    from ._retry import RetryPolicy, TokenBucket
    from ._secret import Secret
    from ._settings import Brand, ClientOptions
else:
    # typing_extensions.deprecated(message, category=None) only sets __deprecated__ at run time,
    # and importing it would cost a third of this package's import time: type checkers read it.
    def deprecated(message: str, /, *, category: None = None) -> Callable[[Any], Any]:
        def mark(function: Any) -> Any:
            function.__deprecated__ = message
            return function

        return mark


__all__ = ["AsyncWechatTokenClient", "WechatTokenClient"]


class _Default:
    """A default that is not the value itself, shown as what it stands for."""

    def __init__(self, shown: str) -> None:
        self._shown = shown

    def __repr__(self) -> str:
        return self._shown


_UNCHANGED: Any = _Default("<unchanged>")  # a with_options() argument not given
# RetryPolicy(), made with the first client: importing the client does not import attrs.
_DEFAULT_RETRY: Any = _Default("RetryPolicy()")
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_ProviderT = TypeVar("_ProviderT", "WechatTokenProvider", "AsyncWechatTokenProvider")
_StoreT = TypeVar("_StoreT", "TokenStore", "AsyncTokenStore")


def _end_in(scope: asyncio.Timeout, seconds: float) -> None:
    # The async attempt's end, moved once its request is leaving (see _call).
    import asyncio  # noqa: PLC0415 - loaded by the async client already

    scope.reschedule(asyncio.get_running_loop().time() + seconds)


def _bucket_for(retry: RetryPolicy | None) -> TokenBucket | None:
    # One budget per client, shared by its calls: a long outage drains it to one try per call.
    budget = None if retry is None else retry.budget
    return None if budget is None else _io.TokenBucket(budget)


class _BaseClient(Generic[_HttpT, _ProviderT, _StoreT]):
    """The constructor, settings and decisions both clients share; subclasses add the I/O."""

    _http_type: type[_HttpT]
    _options: ClientOptions
    _http: _HttpT
    _owns_http: bool
    _bucket: TokenBucket | None
    _clock: Clock
    _deprecation: DeprecationGate
    _providers: ProviderRegistry[_ProviderT] | None
    _provider_class: str  # its name in authing_wechat._provider._providers
    _send: Callable[[Operation, str, Secret], Any]

    def __init__(
        self,
        app_host: str,
        authing_app_id: str,
        *,
        brand: Brand = "authing",
        access_token: str | None = None,
        lang: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = _DEFAULT_RETRY,
        deprecated: DeprecationPolicy = "warn",
        http_client: _HttpT | None = None,
        allow_insecure_http: bool = False,
        on_deprecation: Callable[[DeprecationNotice], None] | None = None,
        clock: Clock | None = None,
        pool_timeout: float = 30.0,
        max_connections: int = 100,
    ) -> None:
        if retry is _DEFAULT_RETRY:
            retry = _io.DEFAULT_RETRY
        settings = {n: v for n, v in locals().items() if n not in ("self", "http_client")}
        options = _io.ClientOptions(**settings)
        if http_client is not None and not isinstance(http_client, self._http_type):
            raise TypeError(
                f"http_client must be an httpx.{self._http_type.__name__}, "
                f"not {type(http_client).__name__}"
            )
        _io.install_log_filters()
        http = self._own_http(options) if http_client is None else http_client
        self._setup(options, http, owns_http=http_client is None, bucket=_bucket_for(retry))

    def _own_http(self, options: ClientOptions) -> _HttpT:
        # httpx's defaults (TLS verified, proxies, trust_env) without redirects or cookies, and
        # at most 20 idle connections (httpx's default) whatever max_connections says.
        limits = httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=min(20, options.max_connections),
        )
        return self._http_type(
            limits=limits,
            follow_redirects=False,
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )

    def _setup(
        self,
        options: ClientOptions,
        http: _HttpT,
        *,
        owns_http: bool,
        bucket: TokenBucket | None,
    ) -> None:
        self._options = options
        self._http = http
        self._owns_http = owns_http
        self._bucket = bucket
        self._clock = SystemClock() if options.clock is None else options.clock
        self._deprecation = _io.DeprecationGate(options.deprecated, options.on_deprecation)
        self._providers = None  # made by the first token_provider()

    def __repr__(self) -> str:
        o = self._options
        return (
            f"{type(self).__name__}(app_host={o.base_url!r}, brand={o.brand!r}, "
            f"timeout={o.timeout}, deprecated={o.deprecated!r})"
        )

    def with_options(
        self,
        *,
        timeout: float = _UNCHANGED,
        retry: RetryPolicy | None = _UNCHANGED,
        deprecated: DeprecationPolicy = _UNCHANGED,
        lang: str | None = _UNCHANGED,
        access_token: str | None = _UNCHANGED,
    ) -> Self:
        """A new client with some settings changed, sharing this one's connection pool (only
        closing this one closes it) and its retry budget unless ``retry`` changes.

        Args:
            timeout: Seconds per attempt.
            retry: A retry policy, or ``None`` for one attempt.
            deprecated: ``"warn"``, ``"error"`` or ``"migrate"``.
            lang: ``"zh-CN"``, ``"en-US"`` or ``None``.
            access_token: A user access token, or ``None``.

        Raises:
            ValueError: A changed setting cannot work; ``TypeError``: it has the wrong type.
        """
        changes = {
            name: v for name, v in locals().items() if name != "self" and v is not _UNCHANGED
        }
        import attrs  # noqa: PLC0415 - loaded by the settings already

        options = attrs.evolve(self._options, **changes)
        bucket = (
            self._bucket if options.retry is self._options.retry else _bucket_for(options.retry)
        )
        derived = object.__new__(type(self))
        derived._setup(options, self._http, owns_http=False, bucket=bucket)
        return derived

    @property
    def retry(self) -> RetryPolicy | None:
        """The retry policy of this client."""
        return self._options.retry

    def _legacy_operation(self) -> Operation:
        """The operation a deprecated-method call goes to, after the deprecation policy."""
        migrate = self._deprecation.use_deprecated(_io.LEGACY.method, _io.SUCCESSOR.method)
        return _io.SUCCESSOR if migrate else _io.LEGACY

    def _start(self, operation: Operation, app_id: str, app_secret: Secret) -> Call:
        _io.check_credentials(app_id, app_secret)
        run = _io.RetryRun(
            self._options.retry, self._bucket, self._clock, operation=operation.method
        )
        gate, clock = self._deprecation, self._clock
        return _io.Call(
            self._options, gate, clock, operation, run, app_id=app_id, secret=app_secret
        )

    def token_provider(
        self,
        *,
        app_id: str,
        app_secret: str,
        refresh_margin: float = 300.0,
        mandatory_margin: float = 60.0,
        min_refresh_interval: float = 30.0,
        store: _StoreT | None = None,
        fallback: StableTokenFallback | None = None,
    ) -> _ProviderT:
        """A cached token for one WeChat app, refreshed before it expires, on this client's
        pool and retry budget; the same arguments return the same provider.

        Args:
            app_id: The WeChat app id.
            app_secret: The WeChat app secret.
            refresh_margin: Below this many seconds left (STALE), ``get()`` returns the cached
                token and one background refresh starts.
            mandatory_margin: Below this many seconds left (MUST), callers wait for one
                shared refresh (and get the cached token if it fails).
            min_refresh_interval: Least seconds between refreshes while a valid token is
                cached; the cap of the backoff while none is.
            store: A ``TokenStore`` shared by a fleet of processes, such as
                ``RedisTokenStore(redis.Redis(...))`` (``AsyncTokenStore`` for the async
                client); ``None``: this process only.
            fallback: A ``StableTokenFallback``: WeChat's stable_token while Authing is
                unavailable and callers would otherwise fail or wait; ``None``: never.

        Raises:
            ValueError: Blank credentials, timings out of range, or a provider for ``app_id``
                with another secret or other settings exists; ``TypeError``: a wrong type.
        """
        secret = _io.Secret(app_secret)
        del app_secret  # tools that print a frame's arguments or locals must not find it
        from authing_wechat._provider import _fallback, _providers, _refresh, _registry, _store  # noqa: PLC0415

        timing = _refresh.RefreshTiming(
            refresh_margin=refresh_margin,
            mandatory_margin=mandatory_margin,
            min_refresh_interval=min_refresh_interval,
        )
        _io.check_credentials(app_id, secret)
        fetch_fallback = None
        if fallback is not None:
            if not isinstance(fallback, _fallback.StableTokenFallback):
                raise TypeError(f"fallback must be a StableTokenFallback, not {type(fallback)}")
            fallback._http(self._http_type)  # the right kind of http_client, or a TypeError now
            method = fallback._fetch if self._http_type is httpx.Client else fallback._afetch
            fetch_fallback = functools.partial(method, app_id, secret, clock=self._clock)
        if self._providers is None:
            self._providers = _registry.ProviderRegistry()
        options = self._options
        key = _store.store_key(
            host=httpx.URL(options.base_url).host,
            app_id=app_id,
            authing_app_id=options.authing_app_id,
            app_secret=secret,
        )

        def build() -> _ProviderT:
            if store is not None:
                longest = _io.longest_call(options.retry, options.timeout)
                extra = 0.0 if fallback is None else fallback.timeout
                _store.check_lock_timeout(store, longest_refresh=longest + extra)
            make: Callable[..., _ProviderT] = getattr(_providers, self._provider_class)
            fetch = functools.partial(self._send, _io.SUCCESSOR, app_id, secret)
            return make(
                fetch,
                app_id=app_id,
                timing=timing,
                clock=self._clock,
                store=store,
                key=key,
                fallback=fallback,
                fetch_fallback=fetch_fallback,
            )

        # The same store and fallback objects (or none) and the same timing: the same settings.
        return self._providers.get_or_make(app_id, secret, (timing, store, fallback), build)


class WechatTokenClient(_BaseClient[httpx.Client, "WechatTokenProvider", "TokenStore"]):
    """Fetch the WeChat access token that Authing / GenAuth caches, over one keep-alive pool.

    Args:
        app_host: Base URL of your Authing / GenAuth app, e.g. ``https://<app>.authing.cn``.
        authing_app_id: Your Authing (or GenAuth) app id, sent as ``x-authing-app-id``
            (``x-genauth-app-id`` with ``brand="genauth"``).
        brand: ``"authing"`` (China) or ``"genauth"`` (international): which headers to send.
        access_token: Optional user access token, sent raw as ``Authorization``.
        lang: ``"zh-CN"`` or ``"en-US"``: language of the server's messages.
        timeout: Seconds for each connect, read and write, and for an attempt from the moment
            its request leaves (its body read by then).
        retry: How to retry failed attempts; ``None`` makes exactly one attempt.
        deprecated: What the deprecated method does: ``"warn"`` (warn, then call it),
            ``"error"`` (raise ``DeprecatedEndpointError``) or ``"migrate"`` (call the successor).
        http_client: Your own ``httpx.Client``, used as given (transports, proxies, hooks, TLS)
            and not closed by ``close()``. The client the package builds always verifies TLS.
        allow_insecure_http: Allow ``http://`` to a non-loopback host.
        on_deprecation: Called with each ``DeprecationNotice`` a response carries.
        clock: Time source and sleeper for retries (``testing.FakeClock`` in tests).
        pool_timeout: Seconds a call may wait for a free connection (never past the deadline);
            the attempt's ``timeout`` starts once its request is leaving.
        max_connections: Size of the client's own pool (calls in flight at once).

    Raises:
        ValueError: A value that cannot work (blank app id, ``http://`` to a remote host,
            unknown brand or lang, non-positive timeout); ``TypeError``: a wrong type.
    """

    _http_type = httpx.Client
    _provider_class = "WechatTokenProvider"

    def get_wechat_mp_access_token_info(self, *, app_id: str, app_secret: str) -> WechatAccessToken:
        """Fetch the WeChat access token (``POST /api/v3/get-wechat-access-token-info``).

        Args:
            app_id: The WeChat Mini Program / Official Account app id (not the Authing app's).
            app_secret: The WeChat app secret. Never logged, never in any repr or error.

        Returns:
            The token, its expiry and the server's request id.

        Raises:
            ValueError: ``app_id`` or ``app_secret`` is empty or blank (before any request).
            AuthingAPIError: The server answered with an error.
            AuthingConnectionError: No usable answer (``AuthingTimeoutError`` on timeouts).
            AuthingResponseError: A 2xx answer that is not the documented shape.
        """
        secret = _io.Secret(app_secret)
        del app_secret  # tools that print a frame's arguments or locals must not find it
        return self._send(_io.SUCCESSOR, app_id, secret)

    # A literal (type checkers read no constant); category=None: the policy warns, or not.
    @deprecated(
        "POST /api/v3/get-wechat-access-token is deprecated; "
        "use get_wechat_mp_access_token_info() (POST /api/v3/get-wechat-access-token-info)",
        category=None,
    )
    def get_wechat_mp_access_token(self, *, app_id: str, app_secret: str) -> WechatAccessToken:
        """Deprecated twin of ``get_wechat_mp_access_token_info()``, same arguments and result.

        Warns with ``AuthingDeprecationWarning`` (``deprecated="warn"``), raises
        ``DeprecatedEndpointError`` (``"error"``) or calls the successor (``"migrate"``).
        """
        secret = _io.Secret(app_secret)
        del app_secret  # tools that print a frame's arguments or locals must not find it
        return self._send(self._legacy_operation(), app_id, secret)

    def _send(self, operation: Operation, app_id: str, secret: Secret) -> WechatAccessToken:
        call = self._start(operation, app_id, secret)
        while True:
            request = call.next_request(self._http)
            try:
                answer = _io.read_body(call, self._http.send(request, stream=True))
            except Exception as exc:  # every failure of the HTTP client becomes an AuthingError
                self._clock.sleep(call.transport_failed(exc, request))
                continue
            outcome = call.answered(answer)
            if isinstance(outcome, _io.WechatAccessToken):
                return outcome
            self._clock.sleep(outcome)

    def close(self) -> None:
        """Stop the providers' background refreshes and close the connection pool (a caller's
        own ``http_client`` is left open)."""
        for provider in () if self._providers is None else self._providers.providers():
            provider._shutdown()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncWechatTokenClient(
    _BaseClient[httpx.AsyncClient, "AsyncWechatTokenProvider", "AsyncTokenStore"]
):
    """The asyncio twin of ``WechatTokenClient``: same arguments, same results, same errors.

    ``http_client`` takes an ``httpx.AsyncClient``. Close with ``await client.aclose()`` or use
    ``async with``.
    """

    _http_type = httpx.AsyncClient
    _provider_class = "AsyncWechatTokenProvider"

    async def get_wechat_mp_access_token_info(
        self, *, app_id: str, app_secret: str
    ) -> WechatAccessToken:
        """Fetch the WeChat access token; see ``WechatTokenClient``'s method of the same name."""
        secret = _io.Secret(app_secret)
        del app_secret  # tools that print a frame's arguments or locals must not find it
        return await self._send(_io.SUCCESSOR, app_id, secret)

    @deprecated(  # a literal, category=None: see WechatTokenClient's
        "POST /api/v3/get-wechat-access-token is deprecated; "
        "use get_wechat_mp_access_token_info() (POST /api/v3/get-wechat-access-token-info)",
        category=None,
    )
    async def get_wechat_mp_access_token(
        self, *, app_id: str, app_secret: str
    ) -> WechatAccessToken:
        """Deprecated twin of ``get_wechat_mp_access_token_info()``; see the sync client."""
        secret = _io.Secret(app_secret)
        del app_secret  # tools that print a frame's arguments or locals must not find it
        return await self._send(self._legacy_operation(), app_id, secret)

    async def _send(self, operation: Operation, app_id: str, secret: Secret) -> WechatAccessToken:
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        call = self._start(operation, app_id, secret)
        while True:
            request = call.next_request(self._http)
            try:
                # The whole attempt, body included; its end moves once the request leaves.
                async with asyncio.timeout(call.attempt_limit) as scope:
                    call.on_sending = functools.partial(_end_in, scope)
                    response = await self._http.send(request, stream=True)
                    answer = await _io.aread_body(call, response)
            except TimeoutError:
                timed_out = httpx.ReadTimeout("the attempt ran out of time", request=request)
                delay = call.transport_failed(timed_out, request, cut_short=True)
                await self._clock.asleep(delay)
                continue
            except Exception as exc:  # every failure of the HTTP client becomes an AuthingError
                await self._clock.asleep(call.transport_failed(exc, request))
                continue
            outcome = call.answered(answer)
            if isinstance(outcome, _io.WechatAccessToken):
                return outcome
            await self._clock.asleep(outcome)

    async def aclose(self) -> None:
        """Cancel the providers' background refreshes and close the connection pool (a
        caller's own ``http_client`` is left open)."""
        for provider in () if self._providers is None else self._providers.providers():
            await provider._ashutdown()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
