"""Helpers for the provider tests: a fake upstream on a ``FakeClock``, an in-memory store, and
one driver that runs each provider test against the sync and the async provider.

Providers are built directly with a fetch callable (as the clients build them), so the rule
is tested without HTTP; the client wiring has tests of its own.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from datetime import UTC, datetime
from typing import Any

from authing_wechat import (
    AsyncWechatTokenProvider,
    AuthingAPIError,
    RefreshTiming,
    StoredToken,
    WechatAccessToken,
    WechatTokenProvider,
)
from authing_wechat.testing import FakeClock

TOKEN_PREFIX = "CANARY-token-"


class Upstream:
    """Authing, faked: numbered tokens living ``lifetime`` seconds from the clock's now.

    ``fail`` makes every fetch raise a 503 ``AuthingAPIError``; ``expired`` hands out tokens
    that expired a second ago; ``hold()`` makes fetches wait until ``release()``.
    """

    def __init__(self, clock: FakeClock, lifetime: float = 7200.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.fail = False
        self.expired = False
        self.calls: list[float] = []  # the fake monotonic time of each fetch
        self.entered = threading.Event()
        self._gate: threading.Event | None = None
        self._agate: asyncio.Event | None = None

    @property
    def count(self) -> int:
        return len(self.calls)

    def hold(self) -> None:
        self.entered.clear()
        self._gate, self._agate = threading.Event(), asyncio.Event()

    def release(self) -> None:
        if self._gate is not None and self._agate is not None:
            self._gate.set()
            self._agate.set()
        self._gate = self._agate = None

    def _answer(self) -> WechatAccessToken:
        if self.fail:
            raise AuthingAPIError("upstream down", status_code=503, attempts=1)
        expires = self.clock.time() + (-1 if self.expired else self.lifetime)
        return WechatAccessToken(
            access_token=f"{TOKEN_PREFIX}{self.count}",
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    def __call__(self) -> WechatAccessToken:
        self.calls.append(self.clock.monotonic())
        gate = self._gate
        if gate is not None:
            self.entered.set()
            assert gate.wait(10), "the test never released the upstream"
        return self._answer()

    async def afetch(self) -> WechatAccessToken:
        self.calls.append(self.clock.monotonic())
        gate = self._agate
        if gate is not None:
            self.entered.set()
            await asyncio.wait_for(gate.wait(), 10)
        return self._answer()


class MemoryStore:
    """A ``TokenStore`` in a dict, with the same atomic rules as the Redis one, that can be
    made to fail (``down``) and whose lock can be held by "another process" (``locked``)."""

    def __init__(self, lock_timeout: float = 5.0) -> None:
        self.lock_timeout = lock_timeout
        self.entries: dict[str, StoredToken] = {}
        self.locked = False
        self.down = False
        self.calls: list[str] = []
        self.on_poll: Any = None  # called on every load while the lock is held elsewhere

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise ConnectionError("store down")

    def load(self, key: str) -> StoredToken | None:
        self._call("load")
        if self.locked and self.on_poll is not None:
            self.on_poll()
        return self.entries.get(key)

    def save(self, key: str, token: StoredToken) -> bool:
        self._call("save")
        current = self.entries.get(key)
        if current is not None and not token.newer_than(current):
            return False
        self.entries[key] = token
        return True

    def discard(self, key: str, access_token: str) -> bool:
        self._call("discard")
        current = self.entries.get(key)
        if current is None or current.access_token != access_token:
            return False
        del self.entries[key]
        return True

    def try_lock(self, key: str) -> MemoryStore._Lock | None:
        self._call("try_lock")
        if self.locked:
            return None
        self.locked = True
        return MemoryStore._Lock(self)

    class _Lock:
        def __init__(self, store: MemoryStore) -> None:
            self.store = store

        def release(self) -> None:
            self.store._call("release")
            self.store.locked = False


class AsyncMemoryStore:
    """``MemoryStore`` behind the ``AsyncTokenStore`` protocol."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.lock_timeout = inner.lock_timeout

    async def load(self, key: str) -> StoredToken | None:
        return self.inner.load(key)

    async def save(self, key: str, token: StoredToken) -> bool:
        return self.inner.save(key, token)

    async def discard(self, key: str, access_token: str) -> bool:
        return self.inner.discard(key, access_token)

    async def try_lock(self, key: str) -> AsyncMemoryStore._Lock | None:
        held = self.inner.try_lock(key)
        return None if held is None else AsyncMemoryStore._Lock(held)

    class _Lock:
        def __init__(self, held: MemoryStore._Lock) -> None:
            self.held = held

        async def release(self) -> None:
            self.held.release()


class ProviderDriver:
    """Runs a provider test against ``WechatTokenProvider`` or ``AsyncWechatTokenProvider``.

    The async provider lives on one event loop for the whole test (an ``asyncio.Runner``), so
    its background tasks survive between calls.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.runner = asyncio.Runner() if mode == "async" else None

    def provider(
        self, upstream: Upstream, *, store: MemoryStore | None = None, **timing: float
    ) -> Any:
        kwargs: dict[str, Any] = {
            "app_id": "wx1",
            "timing": RefreshTiming(**timing),
            "clock": upstream.clock,
            "key": "token:test",
        }
        if self.runner is None:
            return WechatTokenProvider(upstream, store=store, **kwargs)
        wrapped = None if store is None else AsyncMemoryStore(store)
        return AsyncWechatTokenProvider(upstream.afetch, store=wrapped, **kwargs)

    def run(self, value: Any) -> Any:
        if self.runner is None:
            return value
        return self.runner.run(_awaited(value))

    def get(self, provider: Any) -> WechatAccessToken:
        token: WechatAccessToken = self.run(provider.get())
        return token

    def invalidate(
        self, provider: Any, token: WechatAccessToken | None = None, *, rejected: bool = False
    ) -> None:
        invalidate = functools.partial(provider.invalidate, rejected=rejected)
        if self.runner is None:
            invalidate(token)
        else:  # inside the loop, as an application would call it
            self.runner.run(_call_in_loop(invalidate, token))

    def settle(self, provider: Any) -> None:
        """Wait until the provider's refresh in flight, if any, has ended."""
        if self.runner is None:
            # The thread, not the flight: it logs after the flight has ended.
            for thread in threading.enumerate():
                if thread.name == f"authing-wechat-refresh[{provider.app_id}]":
                    thread.join(10)
        else:
            flight = provider._rule.in_flight()
            if flight is not None:
                self.runner.run(asyncio.wait_for(flight.signal.wait(), 10))
        assert provider._rule.in_flight() is None

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()


async def _awaited(value: Any) -> Any:
    return await value


async def _call_in_loop(function: Any, *args: Any) -> Any:
    return function(*args)
