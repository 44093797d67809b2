"""One refresh, written once for both providers: ``_Refresh.steps`` yields the calls to make
(ask Authing, call the store, sleep); ``run_refresh`` and ``arun_refresh`` only make them.
With a store, a refresh follows the fleet protocol:

1. read the store; a token there that is newer than ours (or that another process asked
   Authing for within ``min_refresh_interval``) is the result, with no request;
2. take the store's lock (SET NX PX); read again; ask Authing; write the token only if it is
   newer than the entry (atomic compare); release;
3. a process that misses the lock polls the store until the holder's token appears, taking
   the lock itself if the holder gave up, for at most ``lock_timeout``; then it asks alone.

A failing store is skipped for a while (``StoreGuard``). A blocking refresh of a provider with
a fallback asks it, under the same lock, only if Authing is unavailable.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import attrs

from authing_wechat._core._clock import Clock
from authing_wechat._core._errors import AuthingError, AuthingResponseError
from authing_wechat._core._models import WechatAccessToken
from authing_wechat._core._retry import authing_unavailable

from ._metrics import Metrics
from ._refresh import Refreshed, failure_backoff
from ._store import AsyncTokenStore, StoredToken, TokenStore

__all__ = ["AsyncFetch", "RefreshJob", "StoreGuard", "SyncFetch", "arun_refresh", "run_refresh"]

logger = logging.getLogger("authing_wechat")

_POLL_SECONDS = 0.05  # how often a process that missed the lock looks for the holder's token
_MAX_STORE_SKIP = 30.0  # the longest a failing store is skipped before it is tried again
ALONE = object()  # try_lock's answer without a usable store: go ahead alone
SyncFetch = Callable[[], WechatAccessToken]
AsyncFetch = Callable[[], Awaitable[WechatAccessToken]]
_Steps = Generator[Callable[[], Any], Any, Any]


@attrs.frozen(kw_only=True)
class RefreshJob:
    """What one refresh knows when it starts."""

    key: str | None  # the store's key; None without a store
    local_expires: float  # epoch seconds of this process's cached token (-inf: none)
    rejected: frozenset[str]  # access tokens invalidated here, never adopted from the store
    min_refresh_interval: float
    lock_timeout: float
    fallback: Callable[[AuthingError], Any] | None = None  # asked if Authing is unavailable
    on_fallback: bool = False  # this process's cached token came from the fallback


def _adoptable(entry: StoredToken | None, job: RefreshJob, now: float) -> bool:
    """Whether a store entry is this refresh's result, with no request to Authing."""
    if entry is None or entry.access_token in job.rejected or entry.expires_at <= now:
        return False
    # Newer than ours, or asked for recently (Authing would bring back the same one); an
    # expiry that went through a datetime on one side only differs by under a millisecond.
    recent = now - entry.requested_at < job.min_refresh_interval
    newer = entry.expires_at > job.local_expires + 1e-3
    return newer or recent or (job.on_fallback and not entry.fallback)


def _adopt(entry: StoredToken) -> Refreshed:
    return Refreshed(token=entry.to_token(), source="store")


class StoreGuard:
    """Keeps a failing store from slowing refreshes: after an error it is skipped for a while
    (1 s, doubling up to 30 s), with one warning per outage; counts errors and skips."""

    def __init__(self, clock: Clock, app_id: str, metrics: Metrics) -> None:
        self._clock, self._app_id, self._metrics = clock, app_id, metrics
        self._skip_until = float("-inf")
        self._failures = self.errors = self.skips = 0

    def usable(self) -> bool:
        """Whether to try the store now."""
        if self._clock.monotonic() < self._skip_until:
            self.skips += 1
            return False
        return True

    def failed(self, step: str, error: Exception) -> None:
        """Record a failed store operation (``step``: ``load``, ``trylock``, ...)."""
        self.errors += 1
        self._failures += 1
        skip = failure_backoff(self._failures, _MAX_STORE_SKIP)
        self._skip_until = self._clock.monotonic() + skip
        self._metrics.count("store.errors", self._app_id, step=step)
        logger.log(logging.WARNING if self._failures == 1 else logging.DEBUG,
                   "the token store failed (%s in %s: %s); the provider of %s asks Authing "
                   "alone and tries the store again in %.0f s",
                   type(error).__name__, step, error, self._app_id, skip)  # fmt: skip

    def succeeded(self) -> None:
        """Record a store operation that worked."""
        if self._failures:
            logger.info("the token store works again for %s", self._app_id)
            self._failures = 0


class _Refresh:
    """The steps of one refresh, with what performs each (sync or async callables)."""

    def __init__(
        self,
        job: RefreshJob,
        *,
        clock: Clock,
        fetch: Callable[[], Any],
        sleep: Callable[[float], Any],
        store: TokenStore | AsyncTokenStore | None,
        guard: StoreGuard,
    ) -> None:
        self._job, self._clock, self._fetch, self._sleep = job, clock, fetch, sleep
        self._store, self._guard = store, guard
        self._steps = self.steps()

    def advance(self, answer: Any, error: Exception | None) -> Callable[[], Any] | Refreshed:
        """Send the last call's answer (or throw its error) into the steps: the next call to
        make, or the refresh's result once they end."""
        try:
            return self._steps.send(answer) if error is None else self._steps.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def steps(self) -> Generator[Callable[[], Any], Any, Refreshed]:
        """Yield each call to make; its answer is sent back in, its error thrown in (an
        ``AuthingError`` ends them: Authing failed, or handed out an expired token)."""
        job, clock = self._job, self._clock
        if job.key is None:
            return (yield from self._ask_authing())
        key = job.key
        entry = yield from self._call("load", key)
        if _adoptable(entry, job, clock.time()):
            return _adopt(entry)
        if entry is not None and entry.access_token in job.rejected:
            # Reported bad here: drop it for the fleet, unless another process replaced it.
            yield from self._call("discard", key, entry.access_token, otherwise=False)
        deadline = clock.monotonic() + job.lock_timeout
        while True:
            lock = yield from self._call("try_lock", key, otherwise=ALONE)
            if lock is not None:
                try:
                    if lock is not ALONE:
                        entry = yield from self._call("load", key)  # a holder may just be done
                    if lock is not ALONE and _adoptable(entry, job, clock.time()):
                        outcome = _adopt(entry)
                    else:
                        outcome = yield from self._ask_authing()
                except Exception:
                    yield from self._release(lock)
                    raise
                yield from self._release(lock)
                return outcome
            if clock.monotonic() >= deadline:
                return (yield from self._ask_authing())  # the holder is stuck or gone
            yield functools.partial(self._sleep, _POLL_SECONDS)
            entry = yield from self._call("load", key)
            if _adoptable(entry, job, clock.time()):
                return _adopt(entry)

    def _call(self, method: str, *args: Any, otherwise: Any = None) -> _Steps:
        """Call ``method`` of the store (``release``: of the lock in ``args``); ``otherwise``
        answers it while the store is unavailable or failing."""
        if self._store is None or not self._guard.usable():
            return otherwise
        if method == "release":
            call = args[0].release
        else:
            call = functools.partial(getattr(self._store, method), *args)
        try:
            answer = yield call
        except Exception as exc:
            self._guard.failed(method.replace("_", ""), exc)  # "trylock" in logs and metrics
            return otherwise
        self._guard.succeeded()
        return answer

    def _release(self, lock: Any) -> _Steps:
        if lock is not ALONE:
            yield from self._call("release", lock)

    def _ask_authing(self) -> Generator[Callable[[], Any], Any, Refreshed]:
        job, clock = self._job, self._clock
        requested_at = clock.time()
        try:
            token: WechatAccessToken = yield self._fetch
        except AuthingError as outage:
            if job.fallback is None or not authing_unavailable(outage):
                raise
            token = yield functools.partial(job.fallback, outage)
        expires = token.expires_at.timestamp()
        if expires <= clock.time():
            raise AuthingResponseError(
                f"the server handed out an access token that expired already "
                f"(expiresAt {token.expires_at.isoformat()}); it is never used",
                request_id=token.request_id,
                attempts=token.attempts,
            )
        refreshed = Refreshed(token=token, source="fallback" if token.fallback else "upstream")
        if job.key is None:
            return refreshed
        stored = StoredToken.of(token, requested_at=requested_at)
        if (yield from self._call("save", job.key, stored)) is False:
            entry = yield from self._call("load", job.key)
            if entry is not None and entry.fallback and not token.fallback:
                # Authing is back: its token replaces the fallback's, whatever their expiries.
                yield from self._call("discard", job.key, entry.access_token)
                yield from self._call("save", job.key, stored)
            elif _adoptable(entry, job, clock.time()) and entry.newer_than(stored):
                return _adopt(entry)  # another process wrote a newer token meanwhile
        return refreshed


def run_refresh(
    job: RefreshJob, *, fetch: SyncFetch, store: TokenStore | None, guard: StoreGuard, clock: Clock
) -> Refreshed:
    """Make the calls of ``job``'s steps with blocking I/O; raises what the steps raise."""
    calls = _Refresh(job, clock=clock, fetch=fetch, sleep=clock.sleep, store=store, guard=guard)
    answer: Any = None
    error: Exception | None = None
    while not isinstance(call := calls.advance(answer, error), Refreshed):
        try:
            answer, error = call(), None
        except Exception as exc:
            answer, error = None, exc
    return call


async def arun_refresh(
    job: RefreshJob,
    *,
    fetch: AsyncFetch,
    store: AsyncTokenStore | None,
    guard: StoreGuard,
    clock: Clock,
) -> Refreshed:
    """Make the calls of ``job``'s steps with awaited I/O; see ``run_refresh``."""
    calls = _Refresh(job, clock=clock, fetch=fetch, sleep=clock.asleep, store=store, guard=guard)
    answer: Any = None
    error: Exception | None = None
    while not isinstance(call := calls.advance(answer, error), Refreshed):
        try:
            answer, error = await call(), None
        except Exception as exc:
            answer, error = None, exc
    return call
