"""That both clients wire the retry decisions in: respx answers, a ``FakeClock`` sleeps.

Which failures are retried, how long to wait and when to stop are tested once, without I/O, in
``test_retry_decisions.py``; here only what the clients add: responses and transport failures
reach the decisions, the client's clock sleeps, its budget and hook are used.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest
import respx
from authing_wechat import (
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    AuthingTimeoutError,
    AuthingTLSError,
    RetryBudget,
    RetryEvent,
    RetryPolicy,
)
from authing_wechat.testing import SUCCESSOR_PATH, FakeClock

from tests._support import APP_HOST, SECRET, TOKEN, Driver, Recorder, envelope

EXACT = RetryPolicy(jitter=False, budget=None)  # 0.25, 0.5, 1, ... for exact assertions


@pytest.fixture
def api() -> Iterator[respx.Router]:
    with respx.mock(base_url=APP_HOST, assert_all_called=False) as router:
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _client(driver: Driver, clock: FakeClock, retry: RetryPolicy | None = EXACT, **kw: Any) -> Any:
    # http_client=None: the client's own pool, which respx intercepts.
    return driver.client(http_client=None, retry=retry, clock=clock, **kw)


def _ok() -> httpx.Response:
    return httpx.Response(200, json=envelope())


def _status(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=envelope(status, message="busy"), headers=headers)


def test_rides_out_two_503s(driver: Driver, api: respx.Router, clock: FakeClock) -> None:
    route = api.post(SUCCESSOR_PATH).mock(side_effect=[_status(503), _status(503), _ok()])
    token = driver.fetch(_client(driver, clock))
    assert token.access_token == TOKEN
    assert (token.attempts, token.retries) == (3, 2)
    assert route.call_count == 3
    assert clock.sleeps == [0.25, 0.5]


def test_gives_up_after_max_attempts_with_the_last_error(
    driver: Driver, api: respx.Router, clock: FakeClock
) -> None:
    route = api.post(SUCCESSOR_PATH).mock(side_effect=[_status(502), _status(503), _status(504)])
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(_client(driver, clock))
    assert type(caught.value) is AuthingAPIError  # the last attempt's error, not a wrapper
    assert (caught.value.http_status, caught.value.attempts) == (504, 3)
    assert route.call_count == 3
    assert clock.sleeps == [0.25, 0.5]


def test_default_client_retries(driver: Driver, api: respx.Router, clock: FakeClock) -> None:
    api.post(SUCCESSOR_PATH).mock(side_effect=[_status(503), _ok()])
    client = driver.client_class(APP_HOST, "authing-app", clock=clock)
    assert client.retry == RetryPolicy()
    assert driver.fetch(client).attempts == 2
    assert len(clock.sleeps) == 1
    assert 0 <= clock.sleeps[0] <= 0.25


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        # An HTTP-date is read against the client's clock.
        ({"Retry-After": formatdate(FakeClock().time() + 5, usegmt=True)}, 5.0),
    ],
)
def test_429_honours_the_servers_hint(
    driver: Driver, api: respx.Router, clock: FakeClock, headers: dict[str, str], expected: float
) -> None:
    api.post(SUCCESSOR_PATH).mock(side_effect=[_status(429, **headers), _ok()])
    assert driver.fetch(_client(driver, clock)).attempts == 2
    assert clock.sleeps == [pytest.approx(expected)]


def test_too_long_hint_fails_at_once(driver: Driver, api: respx.Router, clock: FakeClock) -> None:
    route = api.post(SUCCESSOR_PATH).mock(
        side_effect=[_status(429, **{"Retry-After": "120"}), _ok()]
    )
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(_client(driver, clock))
    assert caught.value.attempts == 1
    assert caught.value.retry_after == 120.0
    assert route.call_count == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        _status(520),
        httpx.Response(200, json=envelope(500, message="wechat busy")),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectTimeout("connect timed out"),
    ],
    ids=["HTTP 520", "envelope 500 in 200", "dropped", "connect timeout"],
)
def test_retryable_failures_are_retried(
    driver: Driver, api: respx.Router, clock: FakeClock, failure: httpx.Response | Exception
) -> None:
    api.post(SUCCESSOR_PATH).mock(side_effect=[failure, _ok()])
    assert driver.fetch(_client(driver, clock)).attempts == 2
    assert clock.sleeps == [0.25]


@pytest.mark.parametrize(
    "failed",
    [
        _status(501),
        httpx.Response(200, json=envelope(400, message="bad")),
        httpx.Response(200, text="<html>"),
    ],
    ids=["HTTP 501", "envelope 400 in 200", "malformed 2xx"],
)
def test_other_failures_are_not_retried(
    driver: Driver, api: respx.Router, clock: FakeClock, failed: httpx.Response
) -> None:
    route = api.post(SUCCESSOR_PATH).mock(side_effect=[failed, _ok()])
    with pytest.raises(AuthingError):
        driver.fetch(_client(driver, clock))
    assert route.call_count == 1


def test_a_rejected_certificate_is_not_retried(driver: Driver, clock: FakeClock) -> None:
    def handshake(request: httpx.Request) -> httpx.Response:
        # As httpx raises it: its ConnectError caused by the ssl module's error.
        cause = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from cause

    recorder = Recorder(handshake)  # respx would replace the exception's cause
    with pytest.raises(AuthingTLSError) as caught:
        driver.fetch(driver.client(recorder, retry=EXACT, clock=clock))
    assert isinstance(caught.value, AuthingConnectionError)
    assert caught.value.attempts == 1
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


def test_read_timeouts_until_give_up(driver: Driver, api: respx.Router, clock: FakeClock) -> None:
    timeout = httpx.ReadTimeout("read timed out")
    api.post(SUCCESSOR_PATH).mock(side_effect=[timeout, timeout, timeout])
    with pytest.raises(AuthingTimeoutError) as caught:
        driver.fetch(_client(driver, clock))
    assert caught.value.attempts == 3
    assert isinstance(caught.value, AuthingConnectionError)


def test_deadline_bounds_the_call_and_cuts_attempt_timeouts(
    driver: Driver, api: respx.Router, clock: FakeClock
) -> None:
    policy = RetryPolicy(
        max_attempts=10, initial_backoff=0.4, jitter=False, deadline=1.0, budget=None
    )
    route = api.post(SUCCESSOR_PATH).mock(return_value=_status(503))
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(_client(driver, clock, retry=policy, timeout=10.0))
    # t=0 fail, sleep 0.4; t=0.4 fail, the next 0.8 s would pass the 1 s deadline: stop.
    assert caught.value.attempts == 2
    assert clock.sleeps == [0.4]
    timeouts = [call.request.extensions["timeout"]["connect"] for call in route.calls]
    assert timeouts == [pytest.approx(1.0), pytest.approx(0.6)]


def test_budget_is_shared_by_all_calls_of_a_client_only(
    driver: Driver, api: respx.Router, clock: FakeClock
) -> None:
    route = api.post(SUCCESSOR_PATH).mock(return_value=_status(503))
    policy = RetryPolicy(jitter=False, budget=RetryBudget(max_tokens=4))
    drained = _client(driver, clock, retry=policy)
    for _ in range(3):
        with pytest.raises(AuthingAPIError):
            driver.fetch(drained)
    route.reset()
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(drained)
    assert caught.value.attempts == 1
    fresh = _client(driver, FakeClock(), retry=policy)
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(fresh)
    assert caught.value.attempts > 1


def test_each_retry_is_logged_and_seen_by_the_hook(
    driver: Driver, api: respx.Router, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[RetryEvent] = []
    policy = RetryPolicy(jitter=False, budget=None, on_retry=events.append)
    api.post(SUCCESSOR_PATH).mock(
        side_effect=[_status(503), httpx.ReadTimeout("read timed out"), _ok()]
    )
    caplog.set_level(logging.INFO, logger="authing_wechat")
    driver.fetch(_client(driver, clock, retry=policy))
    assert [(e.attempt, e.delay, e.reason, e.http_status) for e in events] == [
        (1, 0.25, "HTTP 503", 503),
        (2, 0.5, "timeout", None),
    ]
    assert events[1].elapsed == pytest.approx(0.25)
    lines = [r.getMessage() for r in caplog.records if r.name == "authing_wechat"]
    assert lines == [
        "retrying get_wechat_mp_access_token_info after attempt 1 of 3 in 0.250s: HTTP 503",
        "retrying get_wechat_mp_access_token_info after attempt 2 of 3 in 0.500s: timeout",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "authing_wechat")
    assert SECRET not in caplog.text
