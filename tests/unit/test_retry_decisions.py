"""Retry decisions without I/O: policy, backoff, hints, classification, the per-call run.

Each decision is tested here once; ``test_client_retry.py`` tests only that both clients wire
them in. Nothing sleeps for real: every run uses ``FakeClock``, whose sleeps only move time on.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import attrs
import httpx
import pytest
from authing_wechat._core._errors import (
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    AuthingResponseError,
    AuthingTimeoutError,
    DeprecatedEndpointError,
)
from authing_wechat._core._retry import (
    RetryBudget,
    RetryEvent,
    RetryPolicy,
    RetryRun,
    TokenBucket,
    backoff_delay,
    parse_retry_after,
    retry_reason,
)
from authing_wechat.testing import SUCCESSOR_PATH, FakeClock
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._support import APP_HOST, SECRET

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
OPERATION = "get_wechat_mp_access_token_info"
REQUEST = httpx.Request("POST", APP_HOST + SUCCESSOR_PATH)


def api_error(
    http_status: int,
    *,
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
    message: str = "server error",
) -> AuthingAPIError:
    """An API error as the client builds it: with a real response to a real request."""
    response = httpx.Response(http_status, headers=headers, request=REQUEST)
    return AuthingAPIError(
        message,
        status_code=http_status if status_code is None else status_code,
        request=REQUEST,
        response=response,
    )


def timeout_error() -> AuthingTimeoutError:
    return AuthingTimeoutError("ReadTimeout: timed out", request=REQUEST)


def no_jitter(**kwargs: Any) -> RetryPolicy:
    kwargs.setdefault("budget", None)
    return RetryPolicy(jitter=False, **kwargs)


Outcome = AuthingError | str


class Loop:
    """Drives a ``RetryRun`` as the clients do, over scripted outcomes."""

    def __init__(
        self,
        policy: RetryPolicy | None,
        *,
        clock: FakeClock | None = None,
        bucket: TokenBucket | None = None,
        attempt_cost: float = 0.0,
        default_timeout: float = 10.0,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.policy = policy
        self.clock = clock or FakeClock(start=NOW)
        self.bucket = bucket
        self.attempt_cost = attempt_cost
        self.default_timeout = default_timeout
        self.rng = rng
        self.timeouts: list[float] = []

    def call(self, outcomes: list[Outcome]) -> tuple[str, int]:
        run = RetryRun(self.policy, self.bucket, self.clock, operation=OPERATION, rng=self.rng)
        script = iter(outcomes)
        while True:
            timeout = run.attempt_timeout(self.default_timeout)
            self.timeouts.append(timeout)
            run.begin_attempt()
            try:
                # An attempt takes time, but never longer than its timeout.
                self.clock.advance(min(self.attempt_cost, timeout))
                outcome = next(script)
                if isinstance(outcome, AuthingError):
                    raise outcome
            except AuthingError as error:
                delay = run.failed(error)
                self.clock.sleep(delay)
                continue
            run.succeeded()
            return outcome, run.attempts


# --- RetryPolicy and RetryBudget settings -------------------------------------------------


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert policy.initial_backoff == 0.25
    assert policy.max_backoff == 4.0
    assert policy.jitter is True
    assert policy.max_retry_after == 30.0
    assert policy.deadline is None
    assert policy.budget == RetryBudget(max_tokens=10.0, token_ratio=0.1)
    assert policy.on_retry is None


def test_policy_is_frozen_and_keyword_only() -> None:
    policy = RetryPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_attempts = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy(5)  # type: ignore[call-arg]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        RetryBudget().max_tokens = 1.0  # type: ignore[misc]


def test_policy_accepts_edge_values() -> None:
    policy = RetryPolicy(
        max_attempts=1, initial_backoff=0, max_backoff=0, max_retry_after=0, deadline=0.001
    )
    assert policy.max_attempts == 1
    assert RetryPolicy(budget=None).budget is None
    assert RetryPolicy(initial_backoff=2, max_backoff=2).max_backoff == 2


# A case or two per field: what makes a number of seconds valid is in test_validation.py.
@pytest.mark.parametrize(
    ("kwargs", "exception", "match"),
    [
        ({"max_attempts": 0}, ValueError, "max_attempts must be >= 1"),
        ({"max_attempts": 2.5}, TypeError, "max_attempts must be an int"),
        ({"max_attempts": True}, TypeError, "max_attempts must be an int"),
        ({"initial_backoff": -0.1}, ValueError, "initial_backoff must be >= 0"),
        ({"max_backoff": math.inf}, ValueError, "max_backoff must be a finite number"),
        ({"initial_backoff": 5.0, "max_backoff": 4.0}, ValueError, r"max_backoff \(4.0\) must"),
        ({"jitter": 1}, TypeError, "jitter must be True or False"),
        ({"max_retry_after": -1}, ValueError, "max_retry_after must be >= 0"),
        ({"deadline": 0}, ValueError, "deadline must be > 0"),
        ({"deadline": "10"}, TypeError, "deadline must be a number"),
        ({"budget": 10}, TypeError, "budget"),
        ({"on_retry": "print"}, TypeError, "on_retry must be callable or None"),
    ],
)
def test_policy_validation(kwargs: dict[str, Any], exception: type[Exception], match: str) -> None:
    with pytest.raises(exception, match=match):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exception", "match"),
    [
        ({"max_tokens": 0}, ValueError, "max_tokens must be > 0"),
        ({"token_ratio": 0.0}, ValueError, "token_ratio must be > 0"),
        ({"max_tokens": "10"}, TypeError, "max_tokens must be a number"),
    ],
)
def test_budget_validation(kwargs: dict[str, Any], exception: type[Exception], match: str) -> None:
    with pytest.raises(exception, match=match):
        RetryBudget(**kwargs)


# --- backoff_delay ------------------------------------------------------------------------


def test_backoff_doubles_and_caps_without_jitter() -> None:
    policy = no_jitter()
    assert [backoff_delay(policy, n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]


def test_backoff_survives_huge_retry_numbers_and_zero_initial() -> None:
    assert backoff_delay(no_jitter(), 100_000) == 4.0
    assert backoff_delay(RetryPolicy(max_backoff=9.0), 100_000, rng=lambda a, b: b) == 9.0
    assert backoff_delay(no_jitter(initial_backoff=0, max_backoff=0), 10**9) == 0.0


def test_backoff_rejects_retry_number_zero() -> None:
    with pytest.raises(ValueError, match="retry_number must be >= 1"):
        backoff_delay(RetryPolicy(), 0)


def test_full_jitter_stays_within_the_capped_backoff() -> None:
    policy = RetryPolicy()
    rng = random.Random(20240601).uniform
    for retry_number, cap in [(1, 0.25), (2, 0.5), (3, 1.0), (5, 4.0), (9, 4.0)]:
        samples = [backoff_delay(policy, retry_number, rng=rng) for _ in range(500)]
        assert all(0.0 <= s <= cap for s in samples)
        assert len(set(samples)) > 400, "jitter must spread the delays"
        # Full jitter covers the whole range, not just its top half.
        assert min(samples) < cap * 0.1
        assert max(samples) > cap * 0.9


def test_jitter_draws_from_zero_to_the_cap_and_clamps_a_bad_rng() -> None:
    calls: list[tuple[float, float]] = []

    def recording(low: float, high: float) -> float:
        calls.append((low, high))
        return high / 2

    assert backoff_delay(RetryPolicy(), 3, rng=recording) == 0.5
    assert calls == [(0.0, 1.0)]
    assert backoff_delay(RetryPolicy(), 1, rng=lambda a, b: -1.0) == 0.0
    assert backoff_delay(RetryPolicy(), 1, rng=lambda a, b: 99.0) == 0.25


# --- parse_retry_after --------------------------------------------------------------------


def hint(**headers: str) -> float | None:
    return parse_retry_after(
        httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()}), now=NOW
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0.25", 0.25),
        ("999999999", 999999999.0),  # returned as is; the caller compares with max_retry_after
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),
        ("Tue, 14 Nov 2023 22:13:50 UTC", 30.0),  # the date forms: test_httpdate.py
        ("Tue, 14 Nov 2023 22:13:20 GMT", 0.0),
        (formatdate(NOW + 90, usegmt=True), 90.0),
    ],
)
def test_retry_after_valid(value: str, expected: float) -> None:
    assert hint(retry_after=value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "soon",
        "-5",
        "+5",
        "-0.5",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e3",
        "1_000",
        "0x10",
        "1.5.3",
        ".5",
        "5.",
        "9" * 400,  # parses to inf
        "Tue, 14 Nov 2023 22:13:19 GMT",  # one second in the past
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "tomorrow at noon",
        "120, 30",
        "@5",
    ],
)
def test_retry_after_malformed_is_none(value: str) -> None:
    assert hint(retry_after=value) is None


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is Unix-only")
def test_naive_http_date_is_gmt_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A POSIX TZ string: needs no tz database. Local time must not leak into the hint.
    monkeypatch.setenv("TZ", "CST-8")
    time.tzset()
    try:
        assert hint(retry_after="Tue, 14 Nov 2023 22:13:50 -0000") == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_retry_after_absent_is_none() -> None:
    assert hint() is None
    assert hint(x_other="5") is None


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert hint(retry_after_ms="1500", retry_after="120") == 1.5
    assert hint(retry_after_ms="250") == 0.25
    assert hint(retry_after_ms="0") == 0.0


@pytest.mark.parametrize("bad_ms", ["soon", "-1", "nan", "inf", "", "1e3"])
def test_invalid_retry_after_ms_falls_back_to_retry_after(bad_ms: str) -> None:
    assert hint(retry_after_ms=bad_ms, retry_after="120") == 120.0
    assert hint(retry_after_ms=bad_ms) is None


def test_http_date_is_relative_to_the_given_now() -> None:
    headers = httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:13:50 GMT"})
    assert parse_retry_after(headers, now=NOW - 10) == 40.0
    assert parse_retry_after(headers, now=NOW + 31) is None


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    ms=st.none() | st.text(st.characters(codec="latin-1"), max_size=40),
    seconds=st.none() | st.text(st.characters(codec="latin-1"), max_size=40),
)
def test_parse_retry_after_never_raises(ms: str | None, seconds: str | None) -> None:
    raw: list[tuple[bytes, bytes]] = []
    if ms is not None:
        raw.append((b"retry-after-ms", ms.encode("latin-1")))
    if seconds is not None:
        raw.append((b"retry-after", seconds.encode("latin-1")))
    result = parse_retry_after(httpx.Headers(raw), now=NOW)
    assert result is None or (math.isfinite(result) and result >= 0)


# --- retry_reason -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("http_status", "expected"),
    [
        (408, "HTTP 408"),
        (429, "HTTP 429"),
        (500, "HTTP 500"),
        (501, None),
        (502, "HTTP 502"),
        (503, "HTTP 503"),
        (504, "HTTP 504"),
        (520, "HTTP 520"),
        (529, "HTTP 529"),
        (599, "HTTP 599"),
        (400, None),
        (401, None),
        (403, None),
        (404, None),
        (409, None),
        (499, None),
        (302, None),
    ],
)
def test_retry_reason_by_http_status(http_status: int, expected: str | None) -> None:
    assert retry_reason(api_error(http_status)) == expected


@pytest.mark.parametrize(
    ("http_status", "status_code", "expected"),
    [
        (200, 500, "envelope statusCode 500 in HTTP 200"),
        (200, 503, "envelope statusCode 503 in HTTP 200"),
        (200, 529, "envelope statusCode 529 in HTTP 200"),
        (200, 429, "envelope statusCode 429 in HTTP 200"),
        (201, 502, "envelope statusCode 502 in HTTP 201"),
        (200, 501, None),
        (200, 408, None),
        (200, 400, None),
        (200, 403, None),
        (200, 200, None),
        # The HTTP status decides first.
        (400, 503, None),
        (404, 500, None),
        (503, 400, "HTTP 503"),
    ],
)
def test_retry_reason_by_envelope(http_status: int, status_code: int, expected: str | None) -> None:
    assert retry_reason(api_error(http_status, status_code=status_code)) == expected


def test_retry_reason_for_other_errors() -> None:
    assert retry_reason(timeout_error()) == "timeout"
    assert retry_reason(AuthingTimeoutError("the call's deadline ran out")) == "timeout"
    assert retry_reason(AuthingConnectionError("ConnectError: refused")) == "connection error"
    assert retry_reason(AuthingConnectionError("RemoteProtocolError: dropped")) == (
        "connection error"
    )
    ok_response = httpx.Response(200, request=REQUEST)
    assert retry_reason(AuthingResponseError("not JSON", response=ok_response)) is None
    bad_gateway = httpx.Response(502, request=REQUEST)
    assert retry_reason(AuthingResponseError("odd", response=bad_gateway)) is None
    assert retry_reason(DeprecatedEndpointError("deprecated", successor="x")) is None
    assert retry_reason(AuthingError("something")) is None
    assert retry_reason(AuthingAPIError("no response", status_code=503)) is None


# --- TokenBucket --------------------------------------------------------------------------


def test_token_bucket_arithmetic() -> None:
    bucket = TokenBucket(RetryBudget(max_tokens=4.0, token_ratio=0.5))
    assert bucket.tokens == 4.0
    assert bucket.allows_retry()
    bucket.record_failure()
    assert bucket.tokens == 3.0
    assert bucket.allows_retry()
    bucket.record_failure()
    assert bucket.tokens == 2.0
    assert not bucket.allows_retry(), "exactly half left is not more than half"
    bucket.record_success()
    assert bucket.tokens == 2.5
    assert bucket.allows_retry()
    for _ in range(10):
        bucket.record_failure()
    assert bucket.tokens == 0.0
    for _ in range(100):
        bucket.record_success()
    assert bucket.tokens == 4.0
    assert bucket.budget == RetryBudget(max_tokens=4.0, token_ratio=0.5)
    assert "tokens=4.0" in repr(bucket)


def test_token_bucket_requires_a_budget() -> None:
    with pytest.raises(TypeError, match="budget must be a RetryBudget"):
        TokenBucket(None)  # type: ignore[arg-type]


def test_token_bucket_is_consistent_across_threads() -> None:
    bucket = TokenBucket(RetryBudget(max_tokens=1_000_000.0))

    def drain() -> None:
        for _ in range(2_000):
            bucket.record_failure()

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bucket.tokens == 1_000_000.0 - 16_000


# --- RetryRun -----------------------------------------------------------------------------


def test_retries_then_gives_up_with_the_same_error_and_attempts() -> None:
    loop = Loop(no_jitter())
    errors = [api_error(503), api_error(503), api_error(503)]
    with pytest.raises(AuthingAPIError) as caught:
        loop.call(list(errors))
    assert caught.value is errors[2]
    assert caught.value.attempts == 3
    assert [e.attempts for e in errors] == [1, 2, 3]
    assert caught.value.retry_after is None
    assert loop.clock.sleeps == [0.25, 0.5]


def test_uses_the_injected_rng_for_jitter() -> None:
    loop = Loop(RetryPolicy(budget=None), rng=lambda low, high: high / 2)
    assert loop.call([api_error(503), "ok"]) == ("ok", 2)
    assert loop.clock.sleeps == [0.125]


@pytest.mark.parametrize(
    "error",
    # Which errors are retryable is ``retry_reason``'s, tested above: one of each kind here.
    [api_error(404), DeprecatedEndpointError("deprecated", successor="x")],
)
def test_non_retryable_errors_raise_at_once(
    error: AuthingError, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")
    bucket = TokenBucket(RetryBudget())
    loop = Loop(no_jitter(), bucket=bucket)
    with pytest.raises(AuthingError) as caught:
        loop.call([error, "ok"])
    assert caught.value is error
    assert error.attempts == 1
    assert loop.clock.sleeps == []
    assert caplog.records == []
    assert bucket.tokens == 10.0, "only retryable failures take budget"


def test_policy_none_makes_exactly_one_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")
    bucket = TokenBucket(RetryBudget())
    loop = Loop(None, bucket=bucket)
    error = api_error(503, headers={"Retry-After": "999"})
    with pytest.raises(AuthingAPIError) as caught:
        loop.call([error, "ok"])
    assert caught.value is error
    assert error.attempts == 1
    assert error.retry_after is None, "no hint handling without a policy"
    assert loop.clock.sleeps == []
    assert loop.timeouts == [10.0]
    assert caplog.records == []
    assert Loop(None).call(["ok"]) == ("ok", 1)


def test_max_attempts_one_never_retries() -> None:
    loop = Loop(no_jitter(max_attempts=1))
    with pytest.raises(AuthingAPIError) as caught:
        loop.call([api_error(503), "ok"])
    assert caught.value.attempts == 1
    assert loop.clock.sleeps == []


@pytest.mark.parametrize(
    ("headers", "sleep"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "30"}, 30.0),  # exactly max_retry_after is still worth waiting for
        ({"Retry-After": "-5"}, 0.25),  # malformed or past: back to the normal backoff
    ],
)
def test_server_hint_replaces_the_backoff(headers: dict[str, str], sleep: float) -> None:
    loop = Loop(no_jitter())
    assert loop.call([api_error(429, headers=headers), "ok"]) == ("ok", 2)
    assert loop.clock.sleeps == [sleep]


def test_http_date_hint_uses_the_clocks_wall_time() -> None:
    later = NOW + 3600
    loop = Loop(no_jitter(), clock=FakeClock(start=later))
    date = formatdate(later + 4, usegmt=True)
    loop.call([api_error(503, headers={"Retry-After": date}), "ok"])
    assert loop.clock.sleeps == [4.0]


def test_too_long_hint_raises_at_once_with_retry_after(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")
    events: list[RetryEvent] = []
    loop = Loop(no_jitter(max_attempts=5, on_retry=events.append))
    error = api_error(503, headers={"Retry-After": "31"})
    with pytest.raises(AuthingAPIError) as caught:
        loop.call([error, "ok"])
    assert caught.value is error
    assert error.retry_after == 31.0
    assert error.attempts == 1
    assert loop.clock.sleeps == []
    assert events == []
    assert caplog.records == []


def test_hint_limit_follows_max_retry_after() -> None:
    loop = Loop(no_jitter(max_retry_after=0.5))
    error = api_error(429, headers={"retry-after-ms": "600"})
    with pytest.raises(AuthingAPIError):
        loop.call([error, "ok"])
    assert error.retry_after == 0.6


def test_deadline_cuts_attempt_timeouts_and_refuses_to_sleep_past_it() -> None:
    # Each attempt hangs for 2 s (or until its timeout); the whole call may take 5 s.
    loop = Loop(no_jitter(max_attempts=10, deadline=5.0), attempt_cost=2.0)
    errors: list[Outcome] = [timeout_error() for _ in range(10)]
    with pytest.raises(AuthingTimeoutError) as caught:
        loop.call(errors)
    # 0 -> 2 (+0.25 sleep) -> 2.25 -> 4.25 (+0.5) -> 4.75 -> 5.0: no time left to sleep.
    assert loop.timeouts == [5.0, 2.75, 0.25]
    assert loop.clock.sleeps == [0.25, 0.5]
    assert caught.value is errors[2]
    assert caught.value.attempts == 3
    assert loop.clock.monotonic() == 5.0


def test_deadline_refuses_a_sleep_ending_exactly_at_it() -> None:
    # Waking at the deadline would leave a zero timeout for the next attempt.
    loop = Loop(no_jitter(deadline=0.25))
    with pytest.raises(AuthingAPIError):
        loop.call([api_error(503), "ok"])
    assert loop.clock.sleeps == []
    loop = Loop(no_jitter(deadline=0.2501))
    assert loop.call([api_error(503), "ok"]) == ("ok", 2)


def test_deadline_allows_a_hint_that_fits_and_refuses_one_that_does_not() -> None:
    loop = Loop(no_jitter(deadline=10.0))
    assert loop.call([api_error(503, headers={"Retry-After": "9"}), "ok"]) == ("ok", 2)
    assert loop.timeouts == [10.0, 1.0]
    error = api_error(503, headers={"Retry-After": "20"})
    with pytest.raises(AuthingAPIError) as caught:
        loop.call([error, "ok"])
    assert caught.value is error
    assert error.retry_after == 20.0
    assert loop.clock.sleeps == [9.0]


def test_attempt_timeout_raises_once_the_deadline_is_gone() -> None:
    clock = FakeClock()
    run = RetryRun(no_jitter(deadline=1.0), None, clock, operation=OPERATION)
    assert run.attempt_timeout(10.0) == 1.0
    assert run.attempt_timeout(0.3) == 0.3
    run.begin_attempt()
    error = timeout_error()
    clock.advance(0.5)
    assert run.failed(error) == 0.25
    clock.advance(0.6)  # a sleep that overran
    with pytest.raises(AuthingTimeoutError, match="deadline") as caught:
        run.attempt_timeout(10.0)
    assert caught.value is not error
    assert caught.value.attempts == 1
    assert caught.value.__cause__ is error


def test_elapsed_counts_from_the_runs_creation() -> None:
    clock = FakeClock()
    clock.advance(100.0)
    run = RetryRun(RetryPolicy(), None, clock, operation=OPERATION)
    clock.advance(2.5)
    assert run.elapsed == 2.5
    assert run.attempts == 0
    assert OPERATION in repr(run)


def _outage(loop: Loop, calls: int) -> int:
    total = 0
    for _ in range(calls):
        errors: list[Outcome] = [api_error(503, headers={"Retry-After": "0"}) for _ in range(3)]
        with pytest.raises(AuthingAPIError) as caught:
            loop.call(errors)
        total += caught.value.attempts
    return total


def test_budget_stops_a_retry_storm_and_successes_refill_it() -> None:
    bucket = TokenBucket(RetryBudget())
    loop = Loop(RetryPolicy(max_attempts=3), bucket=bucket)
    total = _outage(loop, 200)
    # 3 + 2 attempts while the bucket drains past half, then one attempt per call.
    assert 200 <= total <= 210
    assert total == 203
    assert bucket.tokens == 0.0
    assert not bucket.allows_retry()

    # The server is back: successful calls refill the bucket 0.1 at a time.
    for _ in range(50):
        assert loop.call(["ok"]) == ("ok", 1)
    assert not bucket.allows_retry()
    for _ in range(2):
        loop.call(["ok"])
    assert bucket.allows_retry()
    # A failure takes its token before the check, so a retry needs more than half plus one.
    for _ in range(10):
        loop.call(["ok"])
    assert loop.call([api_error(503, headers={"Retry-After": "0"}), "ok"]) == ("ok", 2)


def test_without_a_budget_an_outage_costs_every_attempt() -> None:
    # The control for the test above: the budget, not something else, bounds the storm.
    assert _outage(Loop(RetryPolicy(max_attempts=3, budget=None)), 200) == 600


def test_on_retry_receives_the_event_before_the_sleep() -> None:
    events: list[RetryEvent] = []
    sleeps_seen: list[int] = []
    clock = FakeClock()

    def hook(event: RetryEvent) -> None:
        events.append(event)
        sleeps_seen.append(len(clock.sleeps))

    loop = Loop(no_jitter(on_retry=hook), clock=clock, attempt_cost=1.0)
    first, second = api_error(503), timeout_error()
    assert loop.call([first, second, "ok"]) == ("ok", 3)
    assert events == [
        RetryEvent(
            attempt=1,
            delay=0.25,
            elapsed=1.0,
            reason="HTTP 503",
            http_status=503,
            error=first,
            operation=OPERATION,
        ),
        RetryEvent(
            attempt=2,
            delay=0.5,
            elapsed=2.25,
            reason="timeout",
            http_status=None,
            error=second,
            operation=OPERATION,
        ),
    ]
    assert events[0].error.attempts == 1
    assert sleeps_seen == [0, 1]


def test_retry_event_repr_holds_no_secret() -> None:
    event = RetryEvent(
        attempt=1,
        delay=0.25,
        elapsed=0.0,
        reason="HTTP 503",
        http_status=503,
        error=api_error(503),
    )
    text = repr(event)
    assert "HTTP 503" in text
    assert "appSecret" not in text
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.delay = 1.0  # type: ignore[misc]


def test_a_raising_hook_does_not_break_the_call_and_no_message_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")

    def hook(event: RetryEvent) -> None:
        raise RuntimeError(f"hook broke {SECRET}")

    loop = Loop(no_jitter(on_retry=hook))
    first = api_error(503, message=f"upstream said {SECRET}")
    second = api_error(200, status_code=500, message=f"envelope said {SECRET}")
    assert loop.call([first, second, "ok"]) == ("ok", 3)
    assert loop.clock.sleeps == [0.25, 0.5]
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.ERROR] * 2
    assert caplog.records[2].getMessage() == (
        f"retrying {OPERATION} after attempt 2 of 3 in 0.500s: envelope statusCode 500 in HTTP 200"
    )
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "RuntimeError" in errors[0].getMessage()
    assert errors[0].exc_info is None
    assert SECRET not in caplog.text
