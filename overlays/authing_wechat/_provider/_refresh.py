"""The refresh rule of a token provider, free of I/O: what ``get()`` does in each state.

With ``r`` the seconds until the cached token expires (botocore's advisory / mandatory
windows, google-auth's token states)::

    FRESH    r > refresh_margin                    serve the cached token; no lock, no I/O
    STALE    mandatory_margin < r <= refresh_margin serve it at once; one background refresh,
                                                   started at most once per min_refresh_interval
    MUST     0 < r <= mandatory_margin             wait for one shared refresh (same rate
                                                   limit); if it fails, serve the valid token
    INVALID  no token, or expired                  wait for one shared refresh; its error
                                                   reaches every waiter

With no valid token and a failing upstream (or one handing back a token WeChat rejected),
refreshes back off from 1 s, doubling up to ``min_refresh_interval``; callers in between get the
last error at once. A fallback token is never FRESH but STALE: Authing is asked again once per
``min_refresh_interval``. ``RefreshRule`` decides for both providers.
"""

from __future__ import annotations

import collections
import enum
import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

import attrs

from authing_wechat._core._clock import Clock
from authing_wechat._core._errors import AuthingError, WechatTokenRejectedError
from authing_wechat._core._models import WechatAccessToken
from authing_wechat._core._validation import check_bool, seconds_validator

from ._metrics import Metrics

__all__ = ["Flight", "ProviderStats", "RefreshCounts", "RefreshRule", "RefreshTiming",
           "Refreshed", "TokenState", "Wait", "failure_backoff"]  # fmt: skip

logger = logging.getLogger("authing_wechat")

_SignalT = TypeVar("_SignalT")
_SECONDS = seconds_validator()
Mode = Literal["background", "blocking"]
_CLOSED = "the token provider's client is closed; it cannot refresh the token"
_SOURCES = {"upstream": "Authing", "store": "the token store", "fallback": "WeChat's stable_token"}
_SWITCH = {
    True: "Authing is unavailable: the provider of %s serves WeChat's stable_token (its "
    "fallback) and asks Authing again once per min_refresh_interval",
    False: "the provider of %s is back on Authing's token after serving the fallback's",
}


class TokenState(enum.Enum):
    """Where the cached token stands, as seen by ``get()``; see the refresh rule."""

    FRESH = "fresh"
    STALE = "stale"
    MUST = "must"
    INVALID = "invalid"


@attrs.frozen(kw_only=True)
class RefreshTiming:
    """The three numbers of the refresh rule, checked once: ``TypeError`` for a non-number,
    ``ValueError`` for one negative, not finite or over a day, or ``mandatory_margin`` over
    ``refresh_margin``."""

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
    source: Literal["upstream", "store", "fallback"]


@attrs.define(kw_only=True, eq=False)
class Flight(Generic[_SignalT]):
    """One refresh in progress, shared by every caller that waits on its ``signal`` (a
    ``threading.Event`` or an ``asyncio.Event``, set once ``RefreshRule.finish`` is done)."""

    mode: Mode
    local_expires: float  # epoch seconds of the cached token when it started (-inf: none)
    rejected: frozenset[str]  # access tokens invalidated here, never taken from the store
    signal: _SignalT
    started: float = 0.0  # monotonic, for the refresh duration metric
    outcome: Refreshed | BaseException | None = None
    worker: Any = None  # the thread or task running it, kept referenced


@attrs.frozen
class Wait(Generic[_SignalT]):
    """A ``get()`` that waits for ``flight``, having found the token in ``state``."""

    state: TokenState
    flight: Flight[_SignalT]


@attrs.frozen(kw_only=True)
class RefreshCounts:
    """Refreshes of one mode, by outcome.

    Attributes:
        upstream: Ended with a token from Authing.
        store: Ended with a token another process had put in the shared store.
        failed: Ended in an error (the cached token, if still valid, was kept).
        fallback: Ended with a token from WeChat's stable_token, Authing being unavailable.
    """

    upstream: int = 0
    store: int = 0
    failed: int = 0
    fallback: int = 0


@attrs.frozen(kw_only=True)
class ProviderStats:
    """What a token provider did since it was made; ``provider.stats()``.

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
        fallback_tokens: Refreshes that ended with a token from the fallback (both modes).
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
    fallback_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The snapshot in plain JSON types (states as ``"fresh"``..., ``expires_at`` as ISO
        8601 in UTC), for a health endpoint or a log line; it holds no token or secret."""
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


def _fresh_copy(error: BaseException) -> BaseException:
    """A copy of a shared error for one more caller to raise: raising one instance again and
    again would grow its traceback without bound (and mix those of concurrent waiters)."""
    copy = type(error).__new__(type(error))
    copy.__dict__.update(error.__dict__)
    copy.args = error.args
    copy.__cause__, copy.__context__ = error.__cause__, error.__context__
    copy.__suppress_context__ = error.__suppress_context__
    return copy


class RefreshRule(Generic[_SignalT]):
    """The cached token, the refresh in flight and the counters of one provider; thread-safe,
    no I/O. ``publish`` gets (token, epoch until which it is FRESH) for the lock-free FRESH
    path: one tuple, replaced whole, so a token is never read with another's deadline.
    """

    def __init__(
        self,
        timing: RefreshTiming,
        clock: Clock,
        app_id: str,
        metrics: Metrics,
        *,
        new_signal: Callable[[], _SignalT],
        publish: Callable[[tuple[WechatAccessToken | None, float]], None],
    ) -> None:
        self.timing, self.app_id, self._metrics, self._publish = timing, app_id, metrics, publish
        self._time, self._monotonic, self._new_signal = clock.time, clock.monotonic, new_signal
        self.after_fork()
        self._token: WechatAccessToken | None = None
        self._expires = -math.inf
        publish((None, -math.inf))
        # FRESH serves are counted without a lock, yet exactly on a free-threaded Python: each
        # thread adds to a cell only it writes (``new_fresh_cell``); readers sum the cells.
        self.fresh_cells = threading.local()
        self._cells: list[tuple[list[int], threading.Thread]] = []
        self._fresh_ended = 0
        self._last_start = -math.inf  # monotonic
        self._retry_at = -math.inf  # monotonic; INVALID callers before it get the last error
        self._failures = 0
        self._on_fallback = False  # whether the last token came from the fallback
        self._last_error: BaseException | None = None
        # Tokens invalidated here: a store that missed the discard must not hand one back.
        self._rejected: collections.deque[str] = collections.deque(maxlen=8)
        # Tokens WeChat rejected (``rejected=True``): a refresh that brings one back failed.
        self._refused: collections.deque[str] = collections.deque(maxlen=8)
        self._served = dict.fromkeys(TokenState, 0)
        self._errors = self._waits = self._invalidations = 0
        self._counts = {mode: dict.fromkeys(("upstream", "store", "failed", "fallback"), 0)
                        for mode in ("background", "blocking")}  # fmt: skip
        metrics.watch(self)

    def after_fork(self) -> None:
        """Forget any refresh in flight and take a new lock (at start, or in a forked child:
        it inherits the lock, possibly held, and a flight whose thread or task it lacks)."""
        self._lock = threading.Lock()
        self._flight: Flight[_SignalT] | None = None

    def new_fresh_cell(self) -> list[int]:
        """The calling thread's FRESH counter, registered on its first FRESH serve."""
        cell = self.fresh_cells.cell = [0]
        with self._lock:
            self._fold_ended()
            self._cells.append((cell, threading.current_thread()))
        return cell

    def _fold_ended(self) -> None:
        # A cell is final once its thread has ended: folded into one number.
        live = []
        for cell, thread in self._cells:
            if thread.is_alive():
                live.append((cell, thread))
            else:
                self._fresh_ended += cell[0]
        self._cells = live

    def _state(self, now: float) -> TokenState:
        state = self.timing.state(None if self._token is None else self._expires - now)
        fallback = state is TokenState.FRESH and self._token is not None and self._token.fallback
        return TokenState.STALE if fallback else state

    def decide(
        self, *, closed: bool = False
    ) -> tuple[WechatAccessToken | BaseException | Wait[_SignalT], Flight[_SignalT] | None]:
        """What a ``get()`` that missed the FRESH path does (return a token, raise an error or
        wait), and the refresh it must launch first; ``closed``: no refresh may start."""
        with self._lock:
            state = self._state(self._time())
            token, flight, launch = self._token, self._flight, None
            if state is not TokenState.FRESH and flight is None and not closed and self._due(state):
                mode: Mode = "background" if state is TokenState.STALE else "blocking"
                flight = launch = self._begin(mode)
            if token is not None and (
                state in (TokenState.FRESH, TokenState.STALE)
                or (state is TokenState.MUST and flight is None)  # the last refresh is recent
            ):
                self._served[state] += 1
                return token, launch
            if flight is not None:
                self._waits += 1
                return Wait(state, flight), launch
            self._errors += 1
            if closed or self._last_error is None:
                return RuntimeError(_CLOSED), launch
            return _fresh_copy(self._last_error), launch

    def _due(self, state: TokenState) -> bool:
        """Whether a refresh may start now (the rate limit, or the failure backoff)."""
        now = self._monotonic()
        if state is TokenState.INVALID:
            return self._last_error is None or now >= self._retry_at
        return now >= self._last_start + self.timing.min_refresh_interval

    def start_refresh(self, *, closed: bool = False) -> Flight[_SignalT] | None:
        """A refresh to start now with nobody waiting yet (after ``invalidate``), if none is
        in flight and the failure backoff allows one."""
        with self._lock:
            if closed or self._flight is not None or not self._due(TokenState.INVALID):
                return None
            return self._begin("blocking")

    def _begin(self, mode: Mode) -> Flight[_SignalT]:
        self._last_start = self._monotonic()
        self._flight = Flight(mode=mode, started=self._last_start, signal=self._new_signal(),
                              local_expires=self._expires if self._token is not None else -math.inf,
                              rejected=frozenset(self._rejected))  # fmt: skip
        return self._flight

    def finish(self, flight: Flight[_SignalT], outcome: Refreshed | BaseException) -> None:
        """Record how ``flight`` ended; the provider then wakes its waiters."""
        recovered, switched = 0, False
        with self._lock:
            if flight.outcome is not None:  # given up on by close(); this late one is dropped
                return
            if isinstance(outcome, Refreshed) and outcome.token.access_token in self._refused:
                source = _SOURCES[outcome.source]
                outcome = WechatTokenRejectedError(
                    f"{source} handed back the access token of {self.app_id} that WeChat had "
                    "just rejected (invalid, not the latest, or expired); the provider asks again "
                    "after a backoff, and calls fail at once until then",
                    app_id=self.app_id,
                    attempts=outcome.token.attempts,
                )
            flight.outcome = outcome
            if self._flight is flight:
                self._flight = None
            counts = self._counts[flight.mode]
            if isinstance(outcome, Refreshed):
                counts[outcome.source] += 1
                token, self._last_error = outcome.token, None
                switched, self._on_fallback = token.fallback != self._on_fallback, token.fallback
                if token.fallback:  # Authing failed: a failure, not a recovery
                    self._failures += 1
                else:
                    recovered, self._failures = self._failures, 0
                self._token, self._expires = token, token.expires_at.timestamp()
                fresh = -math.inf if token.fallback else self._expires - self.timing.refresh_margin
                self._publish((token, fresh))
                if outcome.source == "upstream" and token.access_token in self._rejected:
                    self._rejected.remove(token.access_token)  # Authing's answer stands
            else:
                counts["failed"] += 1
                self._failures += 1
                self._last_error = outcome
                backoff = failure_backoff(self._failures, self.timing.min_refresh_interval)
                self._retry_at = self._monotonic() + backoff
                left = self._expires - self._time() if self._token is not None else 0.0
            failures, seconds = self._failures, self._monotonic() - flight.started
        self._metrics.refreshed(
            self.app_id,
            mode=flight.mode,
            seconds=seconds,
            source=outcome.source if isinstance(outcome, Refreshed) else None,
            error=None if isinstance(outcome, Refreshed) else type(outcome).__qualname__,
        )
        if isinstance(outcome, Refreshed):
            logger.debug("refreshed the WeChat access token of %s (from %s)", self.app_id,
                         outcome.source)  # fmt: skip
            if switched:  # a WARNING once on the switch to the fallback, an INFO on the way back
                fallback = outcome.token.fallback
                logger.log(
                    logging.WARNING if fallback else logging.INFO, _SWITCH[fallback], self.app_id
                )
            elif recovered:
                logger.info("refreshing the WeChat access token of %s works again after %d "
                            "failure(s)", self.app_id, recovered)  # fmt: skip
            return
        known = isinstance(outcome, AuthingError)  # otherwise a bug: its traceback is logged
        kept = f"the cached token stays in use ({left:.0f} s left)" if left > 0 else None
        logger.log(logging.WARNING if failures == 1 else logging.DEBUG,  # one per outage
                   "refreshing the WeChat access token of %s failed (%s%s); %s", self.app_id,
                   type(outcome).__name__, f": {outcome}" if known else "",
                   kept or "no valid token to serve",
                   exc_info=None if known else outcome)  # fmt: skip

    def abandon(self, flight: Flight[_SignalT], error: BaseException) -> None:
        """Give up on ``flight`` (its client closed, or its task was cancelled): its waiters
        get ``error``, its late outcome is dropped; not a failed refresh."""
        with self._lock:
            if flight.outcome is None:
                flight.outcome = error
            if self._flight is flight:
                self._flight = None

    def after_wait(self, wait: Wait[_SignalT]) -> WechatAccessToken:
        """The result of a ``get()`` whose flight has ended: its token, the cached one, or
        (no valid token cached) a copy of the refresh's error raised for each waiter."""
        outcome = wait.flight.outcome
        with self._lock:
            if isinstance(outcome, Refreshed):
                self._served[wait.state] += 1
                return outcome.token
            token = self._token
            if token is not None and self._expires > self._time():
                self._served[wait.state] += 1
                return token
            self._errors += 1
        raise _fresh_copy(outcome or RuntimeError("the refresh ended without an outcome"))

    def invalidate(self, token: WechatAccessToken | None, *, rejected: bool = False) -> bool:
        """Drop the cached token if it is ``token`` (any, for ``None``) and say whether it did;
        with ``rejected``, a refresh that brings ``token`` back fails (``TypeError`` for a
        wrong type, or ``rejected`` without a token)."""
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
                    self._refuse(token.access_token)  # dropped already, now named by WeChat
                return False
            if cached.access_token not in self._rejected:
                self._rejected.append(cached.access_token)
            if rejected:
                self._refuse(cached.access_token)
            self._token, self._expires = None, -math.inf
            self._publish((None, -math.inf))
            self._invalidations += 1
            if cached.fallback:  # Authing's failures must not delay its replacement
                self._retry_at = -math.inf
        self._metrics.count("invalidations", self.app_id)
        return True

    def _refuse(self, access_token: str) -> None:
        if access_token not in self._refused:
            self._refused.append(access_token)

    def in_flight(self) -> Flight[_SignalT] | None:
        """The refresh in flight, if any."""
        with self._lock:
            return self._flight

    def _served_now(self) -> dict[TokenState, int]:
        self._fold_ended()
        served = dict(self._served)
        served[TokenState.FRESH] += self._fresh_ended + sum(cell[0] for cell, _ in self._cells)
        return served

    def seconds_left(self) -> float | None:
        """Seconds until the cached token expires (negative once it has); ``None`` without one."""
        with self._lock:
            return None if self._token is None else self._expires - self._time()

    def stats(self, *, store_errors: int = 0, store_skips: int = 0) -> ProviderStats:
        """A frozen snapshot of the counters and the cached token's state."""
        with self._lock:
            token, fallback = self._token, sum(c["fallback"] for c in self._counts.values())
            return ProviderStats(
                state=self._state(self._time()),
                expires_at=None if token is None else token.expires_at.astimezone(UTC),
                served=MappingProxyType(self._served_now()),
                errors=self._errors, waits=self._waits, invalidations=self._invalidations,
                background=RefreshCounts(**self._counts["background"]),
                blocking=RefreshCounts(**self._counts["blocking"]),
                refreshing=self._flight is not None, consecutive_failures=self._failures,
                store_errors=store_errors, store_skips=store_skips, fallback_tokens=fallback,
            )  # fmt: skip
