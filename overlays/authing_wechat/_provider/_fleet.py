"""One refresh, written once for both providers: ``refresh_steps`` yields what it needs done
(ask Authing, call the store, pause) and receives the answers; ``run_refresh`` and
``arun_refresh`` only perform the steps. With a store, a refresh follows the fleet protocol:

1. read the store; a token there that is newer than ours (or that another process asked
   Authing for within ``min_refresh_interval``) is the result, with no request;
2. take the store's lock (SET NX PX); read again; ask Authing; write the token only if it is
   newer than the entry (atomic compare); release;
3. a process that misses the lock polls the store until the holder's token appears, taking
   the lock itself if the holder gave up, for at most ``lock_timeout``; then it asks alone.

A store that fails is skipped for a while (``StoreGuard``): a refresh then asks Authing alone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from typing import Any

import attrs

from authing_wechat._core._clock import Clock
from authing_wechat._core._errors import AuthingResponseError
from authing_wechat._core._models import WechatAccessToken

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


@attrs.frozen
class Step:
    """What a refresh needs done: ``fetch`` (ask Authing: the token, or an error raised into
    the steps), ``sleep``, or a call of the store (``release``: of the lock in ``args``) that
    ``fallback`` answers while the store is unavailable or failing. Its name in logs and
    metrics is ``method`` without underscores (``trylock``)."""

    method: str
    args: tuple[Any, ...] = attrs.field(default=(), repr=False)  # may hold a token
    fallback: Any = None

    def bind(self, store: TokenStore | AsyncTokenStore) -> Callable[[], Any]:
        """The call that performs this store step on ``store``."""
        if self.method == "release":
            return self.args[0].release  # type: ignore[no-any-return]
        return functools.partial(getattr(store, self.method), *self.args)


@attrs.frozen(kw_only=True)
class RefreshJob:
    """What one refresh knows when it starts."""

    key: str | None  # the store's key; None without a store
    local_expires: float  # epoch seconds of this process's cached token (-inf: none)
    rejected: frozenset[str]  # access tokens invalidated here, never adopted from the store
    min_refresh_interval: float
    lock_timeout: float


def _adoptable(entry: StoredToken | None, job: RefreshJob, now: float) -> bool:
    """Whether a store entry is this refresh's result, with no request to Authing."""
    if entry is None or entry.access_token in job.rejected or entry.expires_at <= now:
        return False
    # Newer than ours, or as new but asked for recently: Authing caches the WeChat token, so
    # asking again now would bring back the same one.
    recent = now - entry.requested_at < job.min_refresh_interval
    # An expiry went through a datetime (microseconds) on one side only: a difference below
    # a millisecond is the same token.
    return entry.expires_at > job.local_expires + 1e-3 or recent


def _adopt(entry: StoredToken) -> Refreshed:
    expires_at = datetime.fromtimestamp(entry.expires_at, UTC)
    token = WechatAccessToken(access_token=entry.access_token, expires_at=expires_at, attempts=0)
    return Refreshed(token=token, source="store")


def refresh_steps(job: RefreshJob, clock: Clock) -> Generator[Step, Any, Refreshed]:
    """The steps of one refresh; the answer to each yielded step is sent back in.

    Raises:
        AuthingError: Authing failed, or handed out a token that has already expired.
    """
    if job.key is None:
        return (yield from _ask_authing(job, clock))
    key = job.key
    entry = yield Step("load", (key,))
    if _adoptable(entry, job, clock.time()):
        return _adopt(entry)
    if entry is not None and entry.access_token in job.rejected:
        # Reported bad here: drop it for the fleet, unless another process replaced it.
        yield Step("discard", (key, entry.access_token), fallback=False)
    deadline = clock.monotonic() + job.lock_timeout
    while True:
        lock = yield Step("try_lock", (key,), fallback=ALONE)
        if lock is not None:
            try:
                if lock is not ALONE:
                    entry = yield Step("load", (key,))  # again: a holder may just be done
                if lock is not ALONE and _adoptable(entry, job, clock.time()):
                    outcome = _adopt(entry)
                else:
                    outcome = yield from _ask_authing(job, clock)
            except Exception:
                yield from _release(lock)
                raise
            yield from _release(lock)
            return outcome
        if clock.monotonic() >= deadline:
            return (yield from _ask_authing(job, clock))  # the holder is stuck or gone
        yield Step("sleep", (_POLL_SECONDS,))
        entry = yield Step("load", (key,))
        if _adoptable(entry, job, clock.time()):
            return _adopt(entry)


def _release(lock: Any) -> Generator[Step, Any, None]:
    if lock is not ALONE:
        yield Step("release", (lock,))


def _ask_authing(job: RefreshJob, clock: Clock) -> Generator[Step, Any, Refreshed]:
    requested_at = clock.time()
    token: WechatAccessToken = yield Step("fetch")
    expires = token.expires_at.timestamp()
    if expires <= clock.time():
        raise AuthingResponseError(
            f"the server handed out an access token that expired already "
            f"(expiresAt {token.expires_at.isoformat()}); it is never used",
            request_id=token.request_id,
            attempts=token.attempts,
        )
    if job.key is None:
        return Refreshed(token=token, source="upstream")
    stored = StoredToken(access_token=token.access_token, expires_at=expires,
                         requested_at=requested_at)  # fmt: skip
    if (yield Step("save", (job.key, stored))) is False:
        # Another process wrote a newer token while this request was on its way (a slow
        # refresher): use that one instead of overwriting it.
        entry = yield Step("load", (job.key,))
        if entry is not None and entry.newer_than(stored) and _adoptable(entry, job, clock.time()):
            return _adopt(entry)
    return Refreshed(token=token, source="upstream")


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

    def failed(self, step: Step, error: Exception) -> None:
        """Record a failed store operation."""
        self.errors += 1
        self._failures += 1
        skip = failure_backoff(self._failures, _MAX_STORE_SKIP)
        self._skip_until = self._clock.monotonic() + skip
        name = step.method.replace("_", "")
        self._metrics.count("store.errors", self._app_id, step=name)
        logger.log(logging.WARNING if self._failures == 1 else logging.DEBUG,
                   "the token store failed (%s in %s: %s); the provider of %s asks Authing "
                   "alone and tries the store again in %.0f s",
                   type(error).__name__, name, error, self._app_id, skip)  # fmt: skip

    def succeeded(self) -> None:
        """Record a store operation that worked."""
        if self._failures:
            logger.info("the token store works again for %s", self._app_id)
            self._failures = 0


class _Driver:
    """Walks the steps of one refresh: which call performs the next step, and what its
    answer or failure means. ``run_refresh`` and ``arun_refresh`` only make the calls."""

    def __init__(
        self,
        steps: Generator[Step, Any, Refreshed],
        fetch: Callable[[], Any],
        sleep: Callable[[float], Any],
        store: TokenStore | AsyncTokenStore | None,
        guard: StoreGuard,
    ) -> None:
        self._steps = steps
        self._fetch, self._sleep, self._store, self._guard = fetch, sleep, store, guard
        self._store_step: Step | None = None
        self._answer: Any = None
        self._error: Exception | None = None
        self.result: Refreshed | None = None

    def next_call(self) -> Callable[[], Any] | None:
        """The call that performs the next step; ``None`` once done."""
        while True:
            try:
                if self._error is None:
                    step = self._steps.send(self._answer)
                else:
                    step = self._steps.throw(self._error)
            except StopIteration as done:
                self.result = done.value
                return None
            self._answer, self._error, self._store_step = None, None, None
            if step.method == "fetch":
                return self._fetch
            if step.method == "sleep":
                return functools.partial(self._sleep, *step.args)
            if self._store is not None and self._guard.usable():
                self._store_step = step
                return step.bind(self._store)
            self._answer = step.fallback  # no store, or skipped for a while after a failure

    def answered(self, answer: Any = None, error: Exception | None = None) -> None:
        """Record the answer or failure of the call ``next_call`` gave: a store step's failure
        is its fallback answer, any other is raised into the steps."""
        step = self._store_step
        if step is None:
            self._answer, self._error = answer, error
        elif error is None:
            self._answer = answer
            self._guard.succeeded()
        else:
            self._guard.failed(step, error)
            self._answer = step.fallback


def run_refresh(
    job: RefreshJob, *, fetch: SyncFetch, store: TokenStore | None, guard: StoreGuard, clock: Clock
) -> Refreshed:
    """Perform the steps of ``job`` with blocking I/O.

    Raises:
        Exception: What the steps raise (the fetch's error).
    """
    driver = _Driver(refresh_steps(job, clock), fetch, clock.sleep, store, guard)
    while (call := driver.next_call()) is not None:
        try:
            driver.answered(call())
        except Exception as exc:
            driver.answered(error=exc)
    assert driver.result is not None  # noqa: S101 - set when the steps end
    return driver.result


async def arun_refresh(
    job: RefreshJob,
    *,
    fetch: AsyncFetch,
    store: AsyncTokenStore | None,
    guard: StoreGuard,
    clock: Clock,
) -> Refreshed:
    """Perform the steps of ``job`` with awaited I/O; see ``run_refresh``."""
    driver = _Driver(refresh_steps(job, clock), fetch, clock.asleep, store, guard)
    while (call := driver.next_call()) is not None:
        try:
            driver.answered(await call())
        except Exception as exc:
            driver.answered(error=exc)
    assert driver.result is not None  # noqa: S101 - set when the steps end
    return driver.result
