"""Token providers: the rule (``_refresh``) decides; they run the refreshes (``_fleet``) in a
daemon thread or an event-loop task, and wait for them.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from authing_wechat._core._clock import Clock, SystemClock
from authing_wechat._core._models import WechatAccessToken

from ._fleet import AsyncFetch, RefreshJob, StoreGuard, SyncFetch, arun_refresh, run_refresh
from ._metrics import current_metrics
from ._refresh import Flight, ProviderStats, Refreshed, RefreshRule, RefreshTiming, Wait
from ._store import AsyncTokenStore, TokenStore

if TYPE_CHECKING:
    import asyncio  # sync users never import it
    from collections.abc import Callable

    from authing_wechat._core._errors import AuthingError

    from ._fallback import StableTokenFallback

__all__ = ["AsyncWechatTokenProvider", "WechatTokenProvider"]

_SignalT = TypeVar("_SignalT")
_FetchT = TypeVar("_FetchT")
_StoreT = TypeVar("_StoreT", TokenStore, AsyncTokenStore)
_CANCELLED = "the refresh was cancelled (its client closed, or its event loop ended)"
_CLOSED = "the token provider's client was closed during the refresh"

# Every provider alive in this process, so that a forked child can reset them all.
_LIVE: weakref.WeakSet[_ProviderBase[Any, Any, Any]] = weakref.WeakSet()


def _reset_after_fork() -> None:
    # A forked child's providers may hold a lock, or wait for a thread the child lacks.
    for provider in list(_LIVE):
        provider._rule.after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


class _ProviderBase(Generic[_SignalT, _FetchT, _StoreT]):
    """What both providers share: the rule, the store and everything but the waiting."""

    def __init__(
        self,
        fetch: _FetchT,
        *,
        app_id: str,
        timing: RefreshTiming,
        clock: Clock,
        store: _StoreT | None = None,
        key: str | None = None,
        fallback: StableTokenFallback | None = None,
        fetch_fallback: Callable[[AuthingError], Any] | None = None,
    ) -> None:
        if store is not None and key is None:
            raise ValueError("a provider with a store needs its key")
        self._fetch, self._fallback, self._fetch_fallback = fetch, fallback, fetch_fallback
        self._clock = clock
        self._store: _StoreT | None = store
        self._key = key
        self._metrics = current_metrics()  # those current when the provider is made
        self._guard = StoreGuard(clock, app_id, self._metrics)
        self._closed = False
        # The FRESH path is every WeChat call's cost: time.time itself, the token read here.
        self._time = time.time if type(clock) is SystemClock else clock.time
        self._fresh: tuple[WechatAccessToken | None, float]
        publish = functools.partial(setattr, self, "_fresh")
        self._rule: RefreshRule[_SignalT] = RefreshRule(
            timing, clock, app_id, self._metrics, new_signal=self._new_signal, publish=publish
        )
        self._fresh_cells = self._rule.fresh_cells
        _LIVE.add(self)

    def _new_signal(self) -> _SignalT:
        raise NotImplementedError

    def _launch(self, flight: Flight[_SignalT]) -> None:
        raise NotImplementedError

    def _can_launch(self) -> bool:
        return True

    def __repr__(self) -> str:
        t, store = self._rule.timing, None if self._store is None else type(self._store).__name__
        return (f"{type(self).__name__}(app_id={self.app_id!r}, "
                f"refresh_margin={t.refresh_margin}, mandatory_margin={t.mandatory_margin}, "
                f"min_refresh_interval={t.min_refresh_interval}, store={store})")  # fmt: skip

    @property
    def app_id(self) -> str:
        """The WeChat app id this provider serves."""
        return self._rule.app_id

    @property
    def timing(self) -> RefreshTiming:
        """``refresh_margin``, ``mandatory_margin`` and ``min_refresh_interval``."""
        return self._rule.timing

    @property
    def refresh_margin(self) -> float:
        """Seconds before expiry at which a background refresh starts."""
        return self._rule.timing.refresh_margin

    @property
    def store(self) -> _StoreT | None:
        """The shared store, or ``None`` (this process's memory only)."""
        return self._store

    def stats(self) -> ProviderStats:
        """A frozen snapshot: tokens served by state, refreshes by mode and outcome, waits,
        errors, invalidations, store errors, and the cached token's state and expiry."""
        return self._rule.stats(store_errors=self._guard.errors, store_skips=self._guard.skips)

    def invalidate(self, token: WechatAccessToken | None = None, *, rejected: bool = False) -> None:
        """Drop the cached token (after WeChat's 40001 or 42001) and its store entry, and start
        a refresh (the async provider's only in a running event loop; else the next ``get()``).
        ``WechatAuth`` and ``AuthingWeChatClient`` call it for you, with ``rejected=True``.

        Args:
            token: Drop the cache only while it holds this token, so that many callers
                reporting one bad token cause one refresh; ``None`` drops whatever is cached.
            rejected: WeChat rejected ``token``: a refresh that brings it back fails, and
                ``get()`` raises ``WechatTokenRejectedError`` until the failure backoff ends.

        Raises:
            TypeError: ``token`` is not a token, or ``rejected`` is true without one.
        """
        if self._rule.invalidate(token, rejected=rejected) and self._can_launch():
            flight = self._rule.start_refresh(closed=self._closed)
            if flight is not None:
                self._launch(flight)

    def record_rejection(self, errcode: int) -> None:
        """Count a WeChat answer (errcode 40001, 40014 or 42001; ``TypeError`` if not an int)
        that rejected this provider's token in the metric ``authing_wechat.wechat.rejections``;
        the integrations call it beside ``invalidate``."""
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            raise TypeError(f"errcode must be an int, not {type(errcode).__name__}")
        self._metrics.count("rejections", self._rule.app_id, errcode=errcode)

    def _serve(self) -> WechatAccessToken | Wait[_SignalT]:
        """``get()`` up to its wait: the token now, the refresh to wait for, or it raises."""
        token, fresh_until = self._fresh
        if self._time() < fresh_until:  # -inf without a token
            try:
                self._fresh_cells.cell[0] += 1
            except AttributeError:  # this thread's first FRESH serve
                self._rule.new_fresh_cell()[0] += 1
            return token  # type: ignore[return-value]
        served, launch = self._rule.decide(closed=self._closed)
        if launch is not None:
            self._launch(launch)
        if isinstance(served, BaseException):
            raise served
        return served

    def _job(self, flight: Flight[_SignalT]) -> RefreshJob:
        token = self._fresh[0]
        return RefreshJob(
            fallback=self._fetch_fallback if flight.mode == "blocking" else None,  # callers wait
            on_fallback=token is not None and token.fallback,
            key=self._key if self._store is not None else None,
            local_expires=flight.local_expires,
            rejected=flight.rejected,
            min_refresh_interval=self._rule.timing.min_refresh_interval,
            lock_timeout=float(self._store.lock_timeout) if self._store is not None else 0.0,
        )


class WechatTokenProvider(_ProviderBase[threading.Event, SyncFetch, TokenStore]):
    """A cached WeChat access token for one WeChat app, safe to share between threads; made
    by ``WechatTokenClient.token_provider()``."""

    def _new_signal(self) -> threading.Event:
        return threading.Event()

    def get(self) -> WechatAccessToken:
        """Return a valid token, never an expired one: FRESH and STALE tokens at once (STALE
        ones start a background refresh); MUST and INVALID callers wait for one shared refresh.

        Returns:
            The token, valid now.

        Raises:
            AuthingError: No valid token is cached and the refresh failed (or failed less
                than a backoff ago: every caller then gets that error at once).
            RuntimeError: The client is closed and no valid token is cached.
        """
        # _serve()'s FRESH path, inlined: the call would add a third to every WeChat call's cost.
        token, fresh_until = self._fresh
        if self._time() < fresh_until:
            try:
                self._fresh_cells.cell[0] += 1
            except AttributeError:
                self._rule.new_fresh_cell()[0] += 1
            return token  # type: ignore[return-value]
        served = self._serve()
        if isinstance(served, WechatAccessToken):
            return served
        served.flight.signal.wait()
        return self._rule.after_wait(served)

    def _launch(self, flight: Flight[threading.Event]) -> None:
        thread = threading.Thread(
            target=self._refresh,
            args=(flight,),
            name=f"authing-wechat-refresh[{self.app_id}]",
            daemon=True,  # never holds the interpreter open at exit
        )
        flight.worker = thread
        try:
            thread.start()
        except RuntimeError as exc:  # no thread can start (interpreter shutting down)
            self._finish(flight, exc)

    def _refresh(self, flight: Flight[threading.Event]) -> None:
        outcome: Refreshed | BaseException
        try:
            outcome = run_refresh(self._job(flight), fetch=self._fetch, store=self._store,
                                  guard=self._guard, clock=self._clock)  # fmt: skip
        except BaseException as exc:  # every waiter gets it; nothing is lost in the thread
            outcome = exc
        self._finish(flight, outcome)

    def _finish(self, flight: Flight[threading.Event], outcome: Refreshed | BaseException) -> None:
        self._rule.finish(flight, outcome)
        flight.signal.set()

    def _shutdown(self) -> None:
        """Start no more refreshes and release the callers waiting (from ``close()``); a
        refresh thread reading an answer ends at the client's timeout, its outcome dropped."""
        self._closed = True
        flight = self._rule.in_flight()
        if flight is not None:
            self._rule.abandon(flight, RuntimeError(_CLOSED))
            flight.signal.set()
        if self._fallback is not None:
            self._fallback.close()


class AsyncWechatTokenProvider(_ProviderBase["asyncio.Event", AsyncFetch, AsyncTokenStore]):
    """The asyncio twin of ``WechatTokenProvider``, made by
    ``AsyncWechatTokenClient.token_provider()``. A refresh runs as one task on the event loop
    of the ``get()`` that started it; a waiting caller that is cancelled leaves it running."""

    def _new_signal(self) -> asyncio.Event:
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        return asyncio.Event()

    async def get(self) -> WechatAccessToken:
        """Return a valid token; see ``WechatTokenProvider.get()``."""
        served = self._serve()
        if isinstance(served, WechatAccessToken):
            return served
        await served.flight.signal.wait()  # cancelling this caller cancels only its wait
        return self._rule.after_wait(served)

    def _can_launch(self) -> bool:
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def _launch(self, flight: Flight[asyncio.Event]) -> None:
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        flight.worker = asyncio.get_running_loop().create_task(
            self._refresh(flight), name=f"authing-wechat-refresh[{self.app_id}]"
        )

    async def _refresh(self, flight: Flight[asyncio.Event]) -> None:
        outcome: Refreshed | BaseException
        try:
            outcome = await arun_refresh(self._job(flight), fetch=self._fetch, store=self._store,
                                         guard=self._guard, clock=self._clock)  # fmt: skip
        except Exception as exc:  # every waiter gets it; the task itself ends cleanly
            outcome = exc
        except BaseException:  # cancelled, by aclose() or with its event loop
            self._rule.abandon(flight, RuntimeError(_CANCELLED))
            flight.signal.set()
            raise
        self._rule.finish(flight, outcome)
        flight.signal.set()

    async def _ashutdown(self) -> None:
        """Start no more refreshes and cancel the one in flight (from ``aclose()``)."""
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        self._closed = True
        flight = self._rule.in_flight()
        task = flight.worker if flight is not None else None
        if isinstance(task, asyncio.Task) and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
        if self._fallback is not None:
            await self._fallback.aclose()
