"""The refresh rule of a token provider, free of I/O: what ``get()`` does in each state.

With ``r`` the seconds until the cached token expires (after botocore's advisory / mandatory
refresh windows and google-auth's token states)::

    FRESH    r > refresh_margin                    serve the cached token; no lock, no I/O
    STALE    mandatory_margin < r <= refresh_margin serve it at once; one background refresh,
                                                   started at most once per min_refresh_interval
    MUST     0 < r <= mandatory_margin             wait for one shared refresh (same rate
                                                   limit); if it fails, serve the valid token
    INVALID  no token, or expired                  wait for one shared refresh; its error
                                                   reaches every waiter

With no valid token and a failing upstream, refreshes back off from 1 s, doubling up to
``min_refresh_interval``; callers in between get the last error at once. A refresh that brings
back a token WeChat rejected (reported with ``invalidate(token, rejected=True)``) is such a
failure, with ``WechatTokenRejectedError``: Authing keeps serving a token that something else
replaced, and asking again at once would bring the same one. ``RefreshRule`` makes these
decisions for both providers under one short ``threading.Lock`` (uncontended for the
async provider); the providers only start the refreshes and wait for them.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

import attrs

from authing_wechat._core._errors import AuthingError, WechatTokenRejectedError
from authing_wechat._core._models import WechatAccessToken
from authing_wechat._core._validation import check_bool, seconds_validator

from ._metrics import Metrics

__all__ = [
    "Decision",
    "FastPath",
    "Flight",
    "ProviderStats",
    "RefreshCounts",
    "RefreshRule",
    "RefreshTiming",
    "Refreshed",
    "TokenState",
    "failure_backoff",
]

logger = logging.getLogger("authing_wechat")

_SignalT = TypeVar("_SignalT")
_SECONDS = seconds_validator()
Mode = Literal["background", "blocking"]
# What get() reads without a lock: the token, the epoch until which it is FRESH, and the
# counter of FRESH serves. One tuple, replaced whole, so a token is never read with another
# token's deadline.
FastPath = tuple[WechatAccessToken | None, float, "itertools.count[int]"]
_CLOSED = "the token provider's client is closed; it cannot refresh the token"


class TokenState(enum.Enum):
    """Where the cached token stands, as seen by ``get()``; see the refresh rule."""

    FRESH = "fresh"
    STALE = "stale"
    MUST = "must"
    INVALID = "invalid"


@attrs.frozen(kw_only=True)
class RefreshTiming:
    """The three numbers of the refresh rule, checked once.

    Raises:
        TypeError: A value is not a number.
        ValueError: A value is negative, not finite or over a day, or ``mandatory_margin``
            exceeds ``refresh_margin``.
    """

    refresh_margin: float = attrs.field(default=300.0, validator=_SECONDS)
    mandatory_margin: float = attrs.field(default=60.0, validator=_SECONDS)
    min_refresh_interval: float = attrs.field(default=30.0, validator=_SECONDS)

    def __attrs_post_init__(self) -> None:
        if self.mandatory_margin > self.refresh_margin:
            raise ValueError("mandatory_margin must not exceed refresh_margin")

    def state(self, remaining: float | None) -> TokenState:
        """The state of a token with ``remaining`` seconds left (``None``: no token)."""
        if remaining is None or remaining <= 0:
            return TokenState.INVALID
        if remaining > self.refresh_margin:
            return TokenState.FRESH
        if remaining > self.mandatory_margin:
            return TokenState.STALE
        return TokenState.MUST


def failure_backoff(failures: int, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: 1, 2, 4, ... at most ``cap``."""
    return min(float(2 ** min(max(failures - 1, 0), 30)), cap)


@attrs.frozen(kw_only=True)
class Refreshed:
    """A successful refresh: the token and where it came from."""

    token: WechatAccessToken
    source: Literal["upstream", "store"]


@attrs.define(kw_only=True, eq=False)
class Flight(Generic[_SignalT]):
    """One refresh in progress, shared by every caller that waits for it.

    ``signal`` is what waiters block on (a ``threading.Event`` or an ``asyncio.Event``); the
    provider sets it once ``RefreshRule.finish`` has recorded the outcome.
    """

    mode: Mode
    local_expires: float  # epoch seconds of the cached token when it started (-inf: none)
    rejected: frozenset[str]  # access tokens invalidated here, never taken from the store
    signal: _SignalT
    started: float = 0.0  # monotonic, for the refresh duration metric
    outcome: Refreshed | BaseException | None = None
    worker: Any = None  # the thread or task running it, kept referenced


@attrs.frozen(kw_only=True)
class RefreshCounts:
    """Refreshes of one mode, by outcome.

    Attributes:
        upstream: Ended with a token from Authing.
        store: Ended with a token another process had put in the shared store.
        failed: Ended in an error (the cached token, if still valid, was kept).
    """

    upstream: int = 0
    store: int = 0
    failed: int = 0


@attrs.frozen(kw_only=True)
class ProviderStats:
    """A snapshot of what a token provider did since it was made; ``provider.stats()``.

    Attributes:
        state: The state of the cached token now.
        expires_at: When the cached token expires, or ``None`` without one.
        served: ``get()`` calls that returned a token, by the state the call found.
        errors: ``get()`` calls that raised.
        waits: ``get()`` calls that waited for a refresh (MUST and INVALID).
        background: Refreshes started in the STALE window, nobody waiting for them.
        blocking: Refreshes callers waited for.
        refreshing: Whether a refresh is in flight now.
        consecutive_failures: Refreshes failed in a row (reset by a success).
        invalidations: ``invalidate()`` calls that dropped the cached token.
        store_errors: Operations on the shared store that failed (each one a cache miss).
        store_skips: Store operations skipped because the store failed a moment before.
    """

    state: TokenState
    expires_at: datetime | None
    served: Mapping[TokenState, int]
    errors: int
    waits: int
    background: RefreshCounts
    blocking: RefreshCounts
    refreshing: bool
    consecutive_failures: int
    invalidations: int
    store_errors: int = 0
    store_skips: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The snapshot in plain JSON types, for a health endpoint or a log line.

        States are their names (``"fresh"``, ...), ``expires_at`` an ISO 8601 string in UTC
        (or ``None``), the refresh counts and ``served`` plain dicts; every field is there.
        No token or secret is part of a snapshot.
        """
        return {field.name: _plain(getattr(self, field.name)) for field in attrs.fields(type(self))}


def _plain(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, RefreshCounts):
        return attrs.asdict(value)
    return value


@attrs.frozen(kw_only=True)
class Decision(Generic[_SignalT]):
    """What one ``get()`` does: serve ``token``, raise ``error``, or wait for ``wait``.

    ``launch`` is a refresh the caller must start first (``wait`` too, unless it is a
    background one).
    """

    state: TokenState
    token: WechatAccessToken | None = None
    error: BaseException | None = None
    wait: Flight[_SignalT] | None = None
    launch: Flight[_SignalT] | None = None


def _fresh_copy(error: BaseException) -> BaseException:
    """A copy of a shared error for one more caller to raise.

    Raising one instance again and again would grow its traceback without bound (and mix the
    tracebacks of concurrent waiters); the copy keeps the message, attributes and cause.
    """
    copy = type(error).__new__(type(error))
    copy.__dict__.update(error.__dict__)
    copy.args = error.args
    copy.__cause__, copy.__context__ = error.__cause__, error.__context__
    copy.__suppress_context__ = error.__suppress_context__
    return copy


class RefreshRule(Generic[_SignalT]):
    """The cached token, the refresh in flight and the counters of one provider.

    Every method is thread-safe; none does I/O or blocks beyond its short internal lock.

    Args:
        timing: The rule's numbers.
        time: Epoch seconds now (token expiry is wall-clock time).
        monotonic: Seconds that never go backwards (rate limits and backoff).
        new_signal: Makes the waiting primitive of a new flight.
        publish: Called (under the lock) with each new ``FastPath`` for the provider's
            lock-free FRESH path.
        app_id: The WeChat app id, for log lines and metrics.
        metrics: Where refreshes and invalidations are recorded; it also reads ``served()``
            and ``seconds_left()`` when metrics are collected.
    """

    def __init__(
        self,
        timing: RefreshTiming,
        *,
        time: Callable[[], float],
        monotonic: Callable[[], float],
        new_signal: Callable[[], _SignalT],
        publish: Callable[[FastPath], None],
        app_id: str,
        metrics: Metrics | None = None,
    ) -> None:
        self.timing = timing
        self._metrics: Metrics = Metrics() if metrics is None else metrics
        self._publish = publish
        self._time = time
        self._monotonic = monotonic
        self._new_signal = new_signal
        self._app_id = app_id
        self.after_fork()
        self._token: WechatAccessToken | None = None
        self._expires = -math.inf
        # itertools.count is the one counter CPython increments atomically without a lock.
        # stats() reads it by counting too (its pickle support goes in 3.14), and subtracts
        # its own reads.
        self.fresh_served = itertools.count()
        self._stats_reads = 0
        publish((None, -math.inf, self.fresh_served))
        self._last_start = -math.inf  # monotonic
        self._retry_at = -math.inf  # monotonic; INVALID callers before it get the last error
        self._failures = 0
        self._last_error: BaseException | None = None
        # The last few tokens invalidated here: a store that missed the discard (down at the
        # time) must not hand one back.
        self._rejected: collections.deque[str] = collections.deque(maxlen=8)
        # The last few tokens reported by name (``invalidate(token)``: WeChat rejected them): a
        # refresh that brings one back failed. A bare ``invalidate()`` only drops the cache,
        # and Authing handing back its cached token then is the expected answer.
        self._refused: collections.deque[str] = collections.deque(maxlen=8)
        self._served = dict.fromkeys(TokenState, 0)
        self._errors = self._waits = self._invalidations = 0
        self._counts: dict[Mode, dict[str, int]] = {
            "background": {"upstream": 0, "store": 0, "failed": 0},
            "blocking": {"upstream": 0, "store": 0, "failed": 0},
        }
        self._metrics.watch(self)

    def after_fork(self) -> None:
        """Forget any refresh in flight and take a new lock (in a forked child, or at start).

        A child of ``fork()`` inherits the parent's lock, possibly held, and a flight whose
        thread or task does not exist in the child; it keeps the cached token.
        """
        self._lock = threading.Lock()
        self._flight: Flight[_SignalT] | None = None

    @property
    def app_id(self) -> str:
        """The WeChat app id, for log lines and reprs."""
        return self._app_id

    def _state(self, now: float) -> TokenState:
        return self.timing.state(None if self._token is None else self._expires - now)

    def decide(self, *, closed: bool = False) -> Decision[_SignalT]:
        """What a ``get()`` that missed the fast path does now.

        Args:
            closed: The provider's client is closed: no refresh may start.
        """
        with self._lock:
            state = self._state(self._time())
            token, flight, launch = self._token, self._flight, None
            if state is not TokenState.FRESH and flight is None and not closed and self._due(state):
                mode: Mode = "background" if state is TokenState.STALE else "blocking"
                flight = launch = self._begin(mode)
            if state in (TokenState.FRESH, TokenState.STALE) or (
                state is TokenState.MUST and flight is None  # the last refresh is too recent
            ):
                self._served[state] += 1
                return Decision(state=state, token=token, launch=launch)
            if flight is not None:
                self._waits += 1
                return Decision(state=state, wait=flight, launch=launch)
            self._errors += 1
            if closed or self._last_error is None:
                return Decision(state=state, error=RuntimeError(_CLOSED))
            return Decision(state=state, error=_fresh_copy(self._last_error))

    def _due(self, state: TokenState) -> bool:
        """Whether a refresh may start now (the rate limit, or the failure backoff)."""
        now = self._monotonic()
        if state is TokenState.INVALID:
            return self._last_error is None or now >= self._retry_at
        return now >= self._last_start + self.timing.min_refresh_interval

    def start_refresh(self, *, closed: bool = False) -> Flight[_SignalT] | None:
        """A refresh to start now, nobody waiting yet (after ``invalidate``), if none is in
        flight and the failure backoff allows one."""
        with self._lock:
            if closed or self._flight is not None or not self._due(TokenState.INVALID):
                return None
            return self._begin("blocking")

    def _begin(self, mode: Mode) -> Flight[_SignalT]:
        self._last_start = self._monotonic()
        self._flight = Flight(
            mode=mode,
            started=self._last_start,
            local_expires=self._expires if self._token is not None else -math.inf,
            rejected=frozenset(self._rejected),
            signal=self._new_signal(),
        )
        return self._flight

    def finish(self, flight: Flight[_SignalT], outcome: Refreshed | BaseException) -> None:
        """Record how ``flight`` ended; the provider then wakes its waiters.

        A token WeChat rejected (``invalidate(token)``) that comes back is a failed refresh.
        """
        recovered = 0
        with self._lock:
            if flight.outcome is not None:  # given up on by close(); this late one is dropped
                return
            if isinstance(outcome, Refreshed) and outcome.token.access_token in self._refused:
                outcome = self._refused_again(outcome)
            flight.outcome = outcome
            if self._flight is flight:
                self._flight = None
            counts = self._counts[flight.mode]
            if isinstance(outcome, Refreshed):
                counts[outcome.source] += 1
                recovered, self._failures, self._last_error = self._failures, 0, None
                token = outcome.token
                self._token, self._expires = token, token.expires_at.timestamp()
                fresh_until = self._expires - self.timing.refresh_margin
                self._publish((token, fresh_until, self.fresh_served))
                if outcome.source == "upstream" and token.access_token in self._rejected:
                    self._rejected.remove(token.access_token)  # Authing's answer stands
                first_failure = False
            else:
                counts["failed"] += 1
                self._failures += 1
                first_failure = self._failures == 1
                self._last_error = outcome
                backoff = failure_backoff(self._failures, self.timing.min_refresh_interval)
                self._retry_at = self._monotonic() + backoff
                left = self._expires - self._time() if self._token is not None else 0.0
            seconds = self._monotonic() - flight.started
        self._metrics.refreshed(
            self._app_id,
            mode=flight.mode,
            seconds=seconds,
            source=outcome.source if isinstance(outcome, Refreshed) else None,
            error=None if isinstance(outcome, Refreshed) else type(outcome).__qualname__,
        )
        if isinstance(outcome, Refreshed):
            logger.debug("refreshed the WeChat access token of %s (from %s)", self._app_id,
                         outcome.source)  # fmt: skip
            if recovered:
                logger.info(
                    "refreshing the WeChat access token of %s works again after %d failure(s)",
                    self._app_id,
                    recovered,
                )
            return
        # One warning per outage; the rest of it at debug level, so logs are not flooded.
        level = logging.WARNING if first_failure else logging.DEBUG
        known = isinstance(outcome, AuthingError)
        logger.log(
            level,
            "refreshing the WeChat access token of %s failed (%s%s); %s",
            self._app_id,
            type(outcome).__name__,
            f": {outcome}" if known else "",
            f"the cached token stays in use ({left:.0f} s left)"
            if left > 0
            else "no valid token to serve",
            exc_info=None if known else outcome,  # not an API failure: a bug, show where
        )

    def _refused_again(self, outcome: Refreshed) -> WechatTokenRejectedError:
        source = "Authing" if outcome.source == "upstream" else "the token store"
        return WechatTokenRejectedError(
            f"{source} handed back the access token of {self._app_id} that WeChat had just "
            "rejected (invalid, not the latest, or expired); the provider asks again after a "
            "backoff, and calls fail at once until then",
            app_id=self._app_id,
            attempts=outcome.token.attempts,
        )

    def abandon(self, flight: Flight[_SignalT], error: BaseException) -> None:
        """Give up on ``flight`` (its client closed, or its task was cancelled): its waiters
        get ``error``, its late outcome is dropped; not a failed refresh."""
        with self._lock:
            if flight.outcome is None:
                flight.outcome = error
            if self._flight is flight:
                self._flight = None

    def after_wait(self, decision: Decision[_SignalT]) -> WechatAccessToken:
        """The result of a ``get()`` whose flight has ended: its token, or the cached one.

        Raises:
            BaseException: The refresh failed and no valid token is cached (a copy of the
                refresh's error, for every waiter).
        """
        flight = decision.wait
        assert flight is not None  # noqa: S101 - only waiting decisions get here
        outcome = flight.outcome
        with self._lock:
            if isinstance(outcome, Refreshed):
                self._served[decision.state] += 1
                return outcome.token
            token = self._token
            if token is not None and self._expires > self._time():
                self._served[decision.state] += 1
                return token
            self._errors += 1
        raise _fresh_copy(outcome or RuntimeError("the refresh ended without an outcome"))

    def served_at_once(self, decision: Decision[_SignalT]) -> WechatAccessToken:
        """The result of a ``get()`` that does not wait.

        Raises:
            BaseException: ``decision.error``.
        """
        if decision.token is not None:
            return decision.token
        assert decision.error is not None  # noqa: S101 - decide() sets one of the two
        raise decision.error

    def invalidate(self, token: WechatAccessToken | None, *, rejected: bool = False) -> bool:
        """Drop the cached token if it is ``token`` (or whatever is cached, for ``None``).

        With ``rejected`` (WeChat rejected ``token``), a refresh that brings it back fails with
        ``WechatTokenRejectedError`` (and backs off) instead of serving it again; without,
        whatever comes next is taken.

        Returns:
            Whether it dropped one.

        Raises:
            TypeError: ``token`` is not a ``WechatAccessToken`` or ``None``, ``rejected`` is
                not a bool, or it is true without a token.
        """
        if token is not None and not isinstance(token, WechatAccessToken):
            raise TypeError(
                f"token must be a WechatAccessToken or None, not {type(token).__name__}"
            )
        check_bool("rejected", rejected)
        if rejected and token is None:
            raise TypeError("rejected=True needs the token WeChat rejected")
        with self._lock:
            cached = self._token
            if cached is None or (token is not None and token.access_token != cached.access_token):
                if rejected and token is not None and token.access_token in self._rejected:
                    # Dropped already (by another caller), now named by WeChat's answer.
                    self._refuse(token.access_token)
                return False
            if cached.access_token not in self._rejected:
                self._rejected.append(cached.access_token)
            if rejected:
                self._refuse(cached.access_token)
            self._token, self._expires = None, -math.inf
            self._publish((None, -math.inf, self.fresh_served))
            self._invalidations += 1
        self._metrics.invalidated(self._app_id)
        return True

    def _refuse(self, access_token: str) -> None:
        if access_token not in self._refused:
            self._refused.append(access_token)

    def in_flight(self) -> Flight[_SignalT] | None:
        """The refresh in flight, if any."""
        with self._lock:
            return self._flight

    def served(self) -> Mapping[TokenState, int]:
        """``get()`` calls that returned a token, by the state they found."""
        with self._lock:
            return MappingProxyType(self._served_now())

    def _served_now(self) -> dict[TokenState, int]:
        served = dict(self._served)
        # Reading the lock-free counter advances it: each read is subtracted again.
        served[TokenState.FRESH] += next(self.fresh_served) - self._stats_reads
        self._stats_reads += 1
        return served

    def seconds_left(self) -> float | None:
        """Seconds until the cached token expires (negative once it has); ``None`` without one."""
        with self._lock:
            return None if self._token is None else self._expires - self._time()

    def stats(self, *, store_errors: int = 0, store_skips: int = 0) -> ProviderStats:
        """A frozen snapshot of the counters and the cached token's state."""
        with self._lock:
            served = self._served_now()
            token = self._token
            return ProviderStats(
                state=self._state(self._time()),
                expires_at=None if token is None else token.expires_at.astimezone(UTC),
                served=MappingProxyType(served),
                errors=self._errors,
                waits=self._waits,
                background=RefreshCounts(**self._counts["background"]),
                blocking=RefreshCounts(**self._counts["blocking"]),
                refreshing=self._flight is not None,
                consecutive_failures=self._failures,
                invalidations=self._invalidations,
                store_errors=store_errors,
                store_skips=store_skips,
            )
