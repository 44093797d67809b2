"""Token providers: one cached, single-flight WeChat access token per WeChat app.

An application calling WeChat APIs needs a valid token on every call. Fetching one per call
wastes time and quota, and concurrent refreshes are a known cause of outages, so a provider
serves the token from memory, lets one caller refresh it while the others wait for that same
result, and bounds how often it refreshes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._clock import Clock

if TYPE_CHECKING:
    import asyncio
from ._errors import AuthingError
from ._models import WechatAccessToken

__all__ = ["AsyncWechatTokenProvider", "WechatTokenProvider"]

logger = logging.getLogger("authing_wechat")
_FetchT = TypeVar("_FetchT", bound=Callable[[], Any])


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
    return float(value)


class _TokenState:
    """The cache's decisions, shared by the sync and async providers; no I/O, no locking."""

    def __init__(self, *, refresh_margin: float, min_refresh_interval: float, clock: Clock) -> None:
        self.refresh_margin = _check_seconds("refresh_margin", refresh_margin)
        self.min_refresh_interval = _check_seconds("min_refresh_interval", min_refresh_interval)
        self._clock = clock
        self._token: WechatAccessToken | None = None
        self._expires = -math.inf  # epoch seconds
        self._refresh_after = -math.inf  # epoch seconds; serve from memory before this
        # Bumped by every refresh, so a caller that waited for the lock knows one happened.
        self.generation = 0
        self._failure: AuthingError | None = None

    def cached(self) -> WechatAccessToken | None:
        """The token while it needs no refresh; the fast path, a few attribute reads."""
        token = self._token
        if token is not None and self._clock.time() < self._refresh_after:
            return token
        return None

    def settled_while_waiting(self, generation: int) -> WechatAccessToken | None:
        """After taking the lock: what the refresh this caller waited for produced.

        Its token if it is still fresh; ``None`` if this caller must refresh itself.

        Raises:
            AuthingError: The refresh this caller waited for failed with no valid token to
                serve: every waiter gets that error instead of asking again, one by one.
        """
        token = self.cached()
        if token is None and generation != self.generation and self._failure is not None:
            raise self._failure
        return token

    def store(self, token: WechatAccessToken) -> None:
        self.generation += 1
        self._failure = None
        now = self._clock.time()
        expires = token.expires_at.timestamp()
        # A token handed out already inside the margin is still used: refreshing it on every
        # call would be a storm. Ask again after min_refresh_interval, never past expiry.
        refresh_after = max(expires - self.refresh_margin, now + self.min_refresh_interval)
        self._token, self._expires = token, expires
        self._refresh_after = min(refresh_after, expires)

    def refresh_failed(self, error: AuthingError) -> WechatAccessToken:
        """The cached token if it is still valid; otherwise raise ``error``."""
        self.generation += 1
        now = self._clock.time()
        token = self._token
        if token is None or now >= self._expires:
            self._failure = error
            raise error
        # Back off before the next refresh, so a failing upstream is not asked on every call.
        self._refresh_after = min(now + self.min_refresh_interval, self._expires)
        logger.warning(
            "refreshing the WeChat access token failed (%s: %s); serving the cached token, "
            "valid for %.0f s more",
            type(error).__name__,
            error.message,
            self._expires - now,
        )
        return token

    def invalidate(self, token: WechatAccessToken | None) -> None:
        # Only the token the caller saw rejected: a concurrent refresh may already have
        # replaced it, and dropping the new one would start a refresh storm.
        if token is None or (
            self._token is not None and self._token.access_token == token.access_token
        ):
            self._token, self._expires, self._refresh_after = None, -math.inf, -math.inf


class _ProviderBase(Generic[_FetchT]):
    """What both providers hold: the fetch function and the shared cache decisions."""

    def __init__(
        self,
        fetch: _FetchT,
        *,
        app_id: str,
        refresh_margin: float,
        min_refresh_interval: float,
        clock: Clock,
    ) -> None:
        self._fetch = fetch
        self.app_id = app_id
        self._state = _TokenState(
            refresh_margin=refresh_margin, min_refresh_interval=min_refresh_interval, clock=clock
        )
        self._lock = self._new_lock()

    def _new_lock(self) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.app_id!r})"

    @property
    def refresh_margin(self) -> float:
        """Seconds before expiry at which the token is refreshed."""
        return self._state.refresh_margin


class WechatTokenProvider(_ProviderBase[Callable[[], WechatAccessToken]]):
    """A cached, thread-safe, single-flight WeChat access token for one WeChat app.

    Make one with ``WechatTokenClient.token_provider()``; all providers of a client share its
    connection pool and retry budget.
    """

    def _new_lock(self) -> threading.Lock:
        return threading.Lock()

    def get(self) -> WechatAccessToken:
        """Return a valid token, from memory while more than ``refresh_margin`` seconds remain.

        Concurrent callers share one refresh. If a refresh fails while the cached token is
        still valid, that token is returned and the failure logged; an expired token is never
        returned.

        Raises:
            AuthingError: The refresh failed and no valid token is cached.
        """
        token = self._state.cached()
        if token is not None:
            return token
        generation = self._state.generation
        with self._lock:
            token = self._state.settled_while_waiting(generation)
            if token is not None:
                return token
            try:
                token = self._fetch()
            except AuthingError as error:
                return self._state.refresh_failed(error)
            self._state.store(token)
            return token

    def invalidate(self, token: WechatAccessToken | None = None) -> None:
        """Drop the cached token, e.g. after WeChat answered 40001 or 42001.

        Args:
            token: The token WeChat rejected. If given, the cache is dropped only while it
                still holds that token, so many callers reporting one bad token cause one
                refresh, not many. ``None`` drops whatever is cached.
        """
        with self._lock:
            self._state.invalidate(token)


class AsyncWechatTokenProvider(_ProviderBase[Callable[[], Awaitable[WechatAccessToken]]]):
    """The asyncio twin of ``WechatTokenProvider``, made by
    ``AsyncWechatTokenClient.token_provider()``; ``get()`` is awaited.

    Single-flight across the tasks of one event loop.
    """

    def _new_lock(self) -> asyncio.Lock:
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        return asyncio.Lock()

    async def get(self) -> WechatAccessToken:
        """Return a valid token; see ``WechatTokenProvider.get()``."""
        token = self._state.cached()
        if token is not None:
            return token
        generation = self._state.generation
        async with self._lock:
            token = self._state.settled_while_waiting(generation)
            if token is not None:
                return token
            try:
                token = await self._fetch()
            except AuthingError as error:
                return self._state.refresh_failed(error)
            self._state.store(token)
            return token

    def invalidate(self, token: WechatAccessToken | None = None) -> None:
        """Drop the cached token; see ``WechatTokenProvider.invalidate()``."""
        self._state.invalidate(token)
