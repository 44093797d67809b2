"""Retry decisions, free of I/O, shared by both clients: what to retry, how long to wait, when
to stop. A call drives one ``RetryRun``; a client owns one ``TokenBucket`` for all its calls.
Both endpoints only read a token the server has cached, so retrying them is safe.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
from collections.abc import Callable
from typing import Any, NoReturn

import attrs
import httpx

from ._clock import Clock
from ._errors import (
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    AuthingTimeoutError,
    AuthingTLSError,
)
from ._httpdate import parse_http_date
from ._validation import (
    bool_validator,
    check_seconds,
    optional_callable_validator,
    seconds_validator,
)

__all__ = [
    "DEFAULT_RETRY",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "RetryRun",
    "TokenBucket",
    "authing_unavailable",
    "backoff_delay",
    "longest_call",
    "parse_retry_after",
    "retry_reason",
]

logger = logging.getLogger("authing_wechat")

# Plain digits with an optional fraction: no sign, exponent, underscore, "nan" or "inf".
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _positive_number(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Not seconds, but the same rule: a finite number above zero, within reason.
    check_seconds(attribute.name, value, positive=True, maximum=1e9, unit="tokens")


@attrs.frozen(kw_only=True)
class RetryBudget:
    """A client-wide retry budget against retry storms in a long outage (gRPC's throttling):
    the bucket starts full; each retryable failure takes a token, each successful call returns
    ``token_ratio``; retries are allowed while more than half the tokens are left. Values must
    be finite numbers > 0 (else ``ValueError``, or ``TypeError`` for a non-number).

    Attributes:
        max_tokens: The bucket's size. Default 10.
        token_ratio: The tokens a successful call returns. Default 0.1.
    """

    max_tokens: float = attrs.field(default=10.0, validator=_positive_number)
    token_ratio: float = attrs.field(default=0.1, validator=_positive_number)


@attrs.frozen(kw_only=True)
class RetryEvent:
    """What an ``on_retry`` hook receives before each retry's sleep.

    Attributes:
        attempt: The 1-based attempt that just failed.
        delay: The seconds the client will now sleep before the next attempt.
        elapsed: Seconds since the call began, sleeps included.
        reason: Why the attempt counts as retryable, such as ``"HTTP 503"``,
            ``"envelope statusCode 500 in HTTP 200"``, ``"timeout"`` or ``"connection error"``.
        http_status: The HTTP status of the failed attempt's response, or ``None`` when none
            arrived.
        error: The attempt's error. It holds no secret, so the event is safe to log.
        operation: The client method being called.
    """

    attempt: int
    delay: float
    elapsed: float
    reason: str
    http_status: int | None
    error: AuthingError
    operation: str = ""


def _check_max_attempts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_attempts must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"max_attempts must be >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client retries a failed call. Immutable; share one between clients freely.

    Retried: connection errors, timeouts, HTTP 408, 429 and every 5xx except 501, and an error
    envelope whose ``statusCode`` is 429 or 5xx (except 501) inside an HTTP 2xx. Never another
    4xx, a malformed 2xx body or ``DeprecatedEndpointError``: those would only fail again.

    Before retry *n* the client sleeps ``min(max_backoff, initial_backoff * 2 ** (n - 1))``
    seconds (with ``jitter``, a random time up to that), or a valid server hint instead
    (``retry-after-ms``, else ``Retry-After``: seconds or an HTTP-date). The call stops after
    ``max_attempts``, at once if the hint exceeds ``max_retry_after`` or the wait would end past
    ``deadline`` (``retry_after`` then holds it), or when the ``budget`` is spent, raising the
    last attempt's error. Each retry is logged (INFO) and passed to ``on_retry``.

    Attributes:
        max_attempts: Requests per call at most, the first included. Default 3.
        initial_backoff: Seconds before the first retry (its bound with jitter). Default 0.25.
        max_backoff: Cap on any backoff, in seconds. Default 4.0; >= initial_backoff.
        jitter: Randomise each backoff up to its capped value. Default True.
        max_retry_after: The longest server hint worth waiting for, in seconds. Default 30.0.
        deadline: Seconds bounding the whole call, sleeps included (each attempt's timeout cut
            to the time left), or None (default).
        budget: The client-wide ``RetryBudget`` (each client fills its own), or None.
        on_retry: Called with a ``RetryEvent`` before each retry's sleep; if it raises, the
            error is logged and the call carries on.

    Raises:
        ValueError: A number out of range (``max_attempts < 1``, a negative or non-finite
            backoff, ``max_backoff < initial_backoff``, ``deadline <= 0``).
        TypeError: A value of the wrong type.
    """

    max_attempts: int = attrs.field(default=3, validator=_check_max_attempts)
    initial_backoff: float = attrs.field(default=0.25, validator=seconds_validator())
    max_backoff: float = attrs.field(default=4.0, validator=seconds_validator())
    jitter: bool = attrs.field(default=True, validator=bool_validator)
    max_retry_after: float = attrs.field(default=30.0, validator=seconds_validator())
    deadline: float | None = attrs.field(
        default=None, validator=seconds_validator(positive=True, optional=True)
    )
    budget: RetryBudget | None = attrs.field(
        factory=RetryBudget,
        validator=attrs.validators.optional(attrs.validators.instance_of(RetryBudget)),
    )
    on_retry: Callable[[RetryEvent], None] | None = attrs.field(
        default=None, validator=optional_callable_validator
    )

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.initial_backoff:
            raise ValueError(
                f"max_backoff ({self.max_backoff!r}) must be >= "
                f"initial_backoff ({self.initial_backoff!r})"
            )


# The clients' default policy: one object, shared (it is immutable).
DEFAULT_RETRY = RetryPolicy()


class TokenBucket:
    """The mutable, thread-safe state of a ``RetryBudget``: one per client; it starts full."""

    def __init__(self, budget: RetryBudget) -> None:
        if not isinstance(budget, RetryBudget):
            raise TypeError(f"budget must be a RetryBudget, not {type(budget).__name__}")
        self._budget = budget
        self._tokens = float(budget.max_tokens)
        self._lock = threading.Lock()

    @property
    def budget(self) -> RetryBudget:
        """The settings this bucket was built from."""
        return self._budget

    @property
    def tokens(self) -> float:
        """The tokens left, between 0 and ``budget.max_tokens``."""
        with self._lock:
            return self._tokens

    def record_failure(self) -> None:
        """Take one token for a failed, retryable attempt (never below zero)."""
        with self._lock:
            self._tokens = max(0.0, self._tokens - 1.0)

    def record_success(self) -> None:
        """Return ``token_ratio`` tokens for a successful call (never above the maximum)."""
        with self._lock:
            self._tokens = min(self._budget.max_tokens, self._tokens + self._budget.token_ratio)

    def allows_retry(self) -> bool:
        """Whether more than half the tokens are left."""
        with self._lock:
            return self._tokens > self._budget.max_tokens / 2

    def __repr__(self) -> str:
        return f"TokenBucket(tokens={self.tokens}, budget={self._budget!r})"


def _decimal_seconds(value: str | None, *, scale: float = 1.0) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        return None
    seconds = float(text) / scale
    # A thousand-digit value parses to inf; treat it as malformed like "inf" itself.
    return seconds if math.isfinite(seconds) else None


def parse_retry_after(headers: httpx.Headers, *, now: float) -> float | None:
    """The server's retry hint in seconds (>= 0), or ``None`` if absent or invalid; never
    raises. ``retry-after-ms`` wins when valid; else ``Retry-After`` as decimal seconds or an
    HTTP-date relative to ``now`` (epoch seconds). Large values are returned as they are.
    """
    millis = _decimal_seconds(headers.get("retry-after-ms"), scale=1000.0)
    if millis is not None:
        return millis
    value = headers.get("retry-after")
    if value is None or not value.strip():
        return None
    seconds = _decimal_seconds(value)
    when = parse_http_date(value) if seconds is None else None
    if when is not None:
        seconds = when.timestamp() - now
    return seconds if seconds is None or seconds >= 0 else None


def _retryable_status(status: int, *, envelope: bool = False) -> bool:
    # 408 is an HTTP status only; an envelope's statusCode retries on 429 and 5xx alone.
    return status in ((429,) if envelope else (408, 429)) or (
        500 <= status <= 599 and status != 501
    )


def retry_reason(error: AuthingError) -> str | None:
    """Why ``error`` is worth retrying (``"timeout"``, ``"connection error"``,
    ``"HTTP <status>"``, ``"envelope statusCode <code> in HTTP <status>"``), or ``None``."""
    if isinstance(error, AuthingConnectionError):
        if isinstance(error, AuthingTLSError):  # the same certificate would fail again
            return None
        return "timeout" if isinstance(error, AuthingTimeoutError) else "connection error"
    http_status = error.http_status
    if not isinstance(error, AuthingAPIError) or http_status is None:
        return None
    if _retryable_status(http_status):
        return f"HTTP {http_status}"
    if 200 <= http_status <= 299 and _retryable_status(error.status_code, envelope=True):
        return f"envelope statusCode {error.status_code} in HTTP {http_status}"
    return None


def authing_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means that Authing is unavailable (no answer, HTTP 5xx or 429, what
    ``retry_reason`` retries, a body that is not JSON), not that it refused (an envelope)."""
    if not isinstance(error, AuthingError):
        return False
    status, response = error.http_status or 0, error.response
    if isinstance(error, AuthingConnectionError) or retry_reason(error) or status >= 500:
        return True
    try:
        return response is not None and not isinstance(json.loads(response.content), dict)
    except (ValueError, RecursionError):
        return True


def longest_call(policy: RetryPolicy | None, timeout: float) -> float:
    """The longest one call can take, in seconds: every attempt and wait as long as the
    policy allows, within its ``deadline`` (waits for a busy pool left out)."""
    if policy is None:
        return timeout
    wait = max(policy.max_backoff, policy.max_retry_after)
    longest = policy.max_attempts * timeout + (policy.max_attempts - 1) * wait
    return longest if policy.deadline is None else min(longest, policy.deadline)


def backoff_delay(
    policy: RetryPolicy,
    retry_number: int,
    *,
    rng: Callable[[float, float], float] = random.uniform,
) -> float:
    """The backoff before retry ``retry_number`` (from 1); with jitter ``rng(0, backoff)``.

    Raises:
        ValueError: If ``retry_number < 1``.
    """
    if retry_number < 1:
        raise ValueError(f"retry_number must be >= 1, not {retry_number!r}")
    try:
        uncapped = math.ldexp(policy.initial_backoff, retry_number - 1)
    except OverflowError:
        # Doubling has long since passed any finite cap.
        uncapped = math.inf
    capped = min(policy.max_backoff, uncapped)
    if not policy.jitter:
        return float(capped)
    # Clamp: a custom rng must not turn into a negative sleep or one past the cap.
    return min(max(float(rng(0.0, capped)), 0.0), float(capped))


class RetryRun:
    """One call's retry state; the client loop calls ``attempt_timeout``, ``begin_attempt``,
    then ``succeeded`` or ``failed``, and does the I/O. ``policy=None`` makes one attempt.
    """

    def __init__(
        self,
        policy: RetryPolicy | None,
        bucket: TokenBucket | None,
        clock: Clock,
        *,
        operation: str,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._policy, self._bucket, self._clock, self._rng = policy, bucket, clock, rng
        self._operation, self._started = operation, clock.monotonic()
        self._attempts = self._requests = 0
        self._last_error: AuthingError | None = None

    @property
    def attempts(self) -> int:
        """The attempts begun so far (what ``max_attempts`` counts)."""
        return self._attempts

    @property
    def requests(self) -> int:
        """Attempts whose request may have reached the server (the reported ``attempts``)."""
        return self._requests

    def request_not_sent(self) -> None:
        """Uncount the current attempt's request: it never left (see ``requests``)."""
        self._requests -= 1

    @property
    def elapsed(self) -> float:
        """Seconds since the run was created, by the clock's monotonic reading."""
        return self._clock.monotonic() - self._started

    def attempt_timeout(self, default_timeout: float) -> float:
        """The timeout for the next attempt: ``default_timeout`` cut to the deadline's rest.

        Raises:
            AuthingTimeoutError: If the policy's deadline has already run out; chained to the
                last attempt's error, if any.
        """
        left = self.deadline_left()
        if left <= 0:
            deadline = self._policy.deadline if self._policy is not None else None
            raise AuthingTimeoutError(
                f"{self._operation}: the call's deadline of {deadline}s ran out "
                f"after {self._attempts} attempt(s)",
                attempts=self._requests,
            ) from self._last_error
        return min(default_timeout, left)

    def deadline_left(self) -> float:
        """Seconds until the policy's deadline (``inf`` without one); may be negative."""
        deadline = None if self._policy is None else self._policy.deadline
        return math.inf if deadline is None else deadline - self.elapsed

    def begin_attempt(self) -> None:
        """Count an attempt and its request; call it right before sending each request."""
        self._attempts += 1
        self._requests += 1

    def succeeded(self) -> None:
        """Record a successful call: refill the budget a little."""
        if self._bucket is not None:
            self._bucket.record_success()

    def failed(self, error: AuthingError) -> float:
        """The seconds to sleep before the next attempt; sets ``error.attempts``, logs
        the retry and calls ``on_retry``.

        Raises:
            AuthingError: ``error`` itself when the call must stop: not retryable, attempts
                or budget spent, or a hint too long or ending past the deadline
                (``error.retry_after`` then holds it).
        """
        error.attempts = self._requests
        self._last_error = error
        policy = self._policy
        if policy is None:
            raise error
        reason, bucket, response = retry_reason(error), self._bucket, error.response
        if reason is None:
            raise error
        if bucket is not None:
            bucket.record_failure()
        if self._attempts >= policy.max_attempts or not (bucket is None or bucket.allows_retry()):
            raise error
        hint = (
            None
            if response is None
            else parse_retry_after(response.headers, now=self._clock.time())
        )
        if hint is not None and hint > policy.max_retry_after:
            self._give_up(error, hint)
        delay = hint if hint is not None else backoff_delay(policy, self._attempts, rng=self._rng)
        elapsed = self.elapsed
        # Waking exactly at the deadline would leave no time for the attempt.
        if policy.deadline is not None and elapsed + delay >= policy.deadline:
            self._give_up(error, hint)

        # INFO, as openai-python does: a retry is the policy working, not yet a problem.
        logger.info(
            "retrying %s after attempt %d of %d in %.3fs: %s",
            self._operation,
            self._attempts,
            policy.max_attempts,
            delay,
            reason,
        )
        if policy.on_retry is not None:
            event = RetryEvent(
                attempt=self._attempts,
                delay=delay,
                elapsed=elapsed,
                reason=reason,
                http_status=error.http_status,
                error=error,
                operation=self._operation,
            )
            try:
                policy.on_retry(event)
            except Exception as hook_error:  # a buggy hook must not break calls
                # Only the type: the hook's message is user text and may hold anything.
                logger.error(
                    "on_retry hook raised %s during %s; ignoring it",
                    type(hook_error).__name__,
                    self._operation,
                )
        return delay

    @staticmethod
    def _give_up(error: AuthingError, hint: float | None) -> NoReturn:
        if hint is not None:
            error.retry_after = hint
        raise error

    def __repr__(self) -> str:
        return f"<RetryRun {self._operation} attempts={self._attempts}>"
