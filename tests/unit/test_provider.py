"""The refresh rule, through both providers, on a ``FakeClock``: FRESH, STALE, MUST, INVALID,
the rate limit, the failure backoff, invalidation, errors shared by waiters, stats and logs."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import attrs
import pytest
from authing_wechat import (
    AuthingAPIError,
    AuthingResponseError,
    ProviderStats,
    RefreshCounts,
    RefreshTiming,
    TokenState,
)
from authing_wechat.testing import FakeClock

from tests._provider_support import TOKEN_PREFIX, ProviderDriver, Upstream


@pytest.fixture(params=["sync", "async"])
def pdriver(request: pytest.FixtureRequest) -> Iterator[ProviderDriver]:
    """Each test using it runs twice: once per provider flavour."""
    driver = ProviderDriver(request.param)
    yield driver
    driver.close()


def test_fresh_tokens_are_served_from_memory(pdriver: ProviderDriver) -> None:
    upstream = Upstream(FakeClock(), lifetime=7200)
    provider = pdriver.provider(upstream)
    first = pdriver.get(provider)
    upstream.clock.advance(7200 - 300 - 1)  # still FRESH: 301 s left
    for _ in range(100):
        assert pdriver.get(provider) is first
    assert upstream.count == 1
    stats = provider.stats()
    assert stats.served[TokenState.FRESH] == 100
    assert stats.served[TokenState.INVALID] == 1
    assert stats.state is TokenState.FRESH


def test_stats_as_a_dict_hold_plain_json_types_only(pdriver: ProviderDriver) -> None:
    import json
    from datetime import UTC, datetime

    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    token = pdriver.get(provider)
    pdriver.get(provider)
    stats = provider.stats()
    shown = stats.as_dict()
    assert json.loads(json.dumps(shown)) == shown  # nothing json would turn or refuse
    assert set(shown) == {field.name for field in attrs.fields(type(stats))}
    assert shown["state"] == "fresh"
    assert shown["served"] == {"fresh": 1, "stale": 0, "must": 0, "invalid": 1}
    assert shown["blocking"] == {"upstream": 1, "store": 0, "failed": 0, "fallback": 0}
    assert datetime.fromisoformat(shown["expires_at"]) == token.expires_at.astimezone(UTC)
    assert shown["expires_at"].endswith("+00:00")
    assert token.access_token not in json.dumps(shown)
    assert provider.stats().as_dict() == shown  # reading it changes nothing
    empty = pdriver.provider(Upstream(FakeClock())).stats().as_dict()
    assert (empty["state"], empty["expires_at"]) == ("invalid", None)


def test_stats_count_fresh_serves_exactly_without_deprecated_itertools_pickling(
    pdriver: ProviderDriver,
) -> None:
    # Python 3.12 deprecates pickling itertools.count (gone in 3.14): reading the FRESH
    # counter through its __reduce__ warned, an error here whatever the pytest config.
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    pdriver.get(provider)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert provider.stats().served[TokenState.FRESH] == 0
        for expected in range(1, 6):
            pdriver.get(provider)
            # reading the counter is not a serve: twice in a row, the same count
            assert provider.stats().served[TokenState.FRESH] == expected
            assert provider.stats().served[TokenState.FRESH] == expected
    assert provider.stats().served[TokenState.INVALID] == 1


def test_stale_serves_at_once_and_refreshes_once_in_the_background(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    old = pdriver.get(provider)
    upstream.clock.advance(7200 - 250)  # STALE: 250 s left
    upstream.hold()  # the refresh hangs until released
    for _ in range(200):
        assert pdriver.get(provider) is old  # no caller waits for it
    assert provider.stats().refreshing
    upstream.release()
    pdriver.settle(provider)
    assert upstream.count == 2  # one refresh for 200 calls
    new = pdriver.get(provider)
    assert new.access_token == f"{TOKEN_PREFIX}2"
    stats = provider.stats()
    assert stats.background == RefreshCounts(upstream=1)
    assert stats.served[TokenState.STALE] == 200
    assert stats.waits == 1  # only the cold start waited


def test_a_failed_background_refresh_keeps_the_token_and_is_rate_limited(
    pdriver: ProviderDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream, min_refresh_interval=30)
    token = pdriver.get(provider)
    upstream.clock.advance(7200 - 250)
    upstream.fail = True
    for _ in range(3):  # three failed refreshes, 30 s apart
        for _ in range(50):
            assert pdriver.get(provider) is token
            pdriver.settle(provider)
        upstream.clock.advance(30)
    assert upstream.count == 1 + 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one per outage, not one per failure
    assert "the cached token stays in use" in warnings[0].getMessage()
    upstream.fail = False
    assert pdriver.get(provider) is token
    pdriver.settle(provider)
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}5"
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert provider.stats().background == RefreshCounts(upstream=1, failed=3)


def test_must_waits_for_one_refresh(pdriver: ProviderDriver) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    pdriver.get(provider)
    upstream.clock.advance(7200 - 30)  # MUST: 30 s left
    fresh = pdriver.get(provider)
    assert fresh.access_token == f"{TOKEN_PREFIX}2"  # waited for the new one
    assert upstream.count == 2
    assert provider.stats().blocking == RefreshCounts(upstream=2)


def test_must_serves_the_valid_token_when_the_refresh_fails_and_then_rate_limits(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream, min_refresh_interval=20)
    token = pdriver.get(provider)
    upstream.clock.advance(7200 - 50)
    upstream.fail = True
    assert pdriver.get(provider) is token  # the refresh failed; the token is still valid
    for _ in range(100):
        assert pdriver.get(provider) is token
    assert upstream.count == 2  # no new request before min_refresh_interval
    upstream.clock.advance(20)
    assert pdriver.get(provider) is token
    assert upstream.count == 3
    upstream.clock.advance(30)  # expired now: never served
    with pytest.raises(AuthingAPIError):
        pdriver.get(provider)


def test_a_token_handed_out_inside_the_margins_is_refreshed_at_the_bounded_rate(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock(), lifetime=40)  # MUST from the start (Authing's cache)
    provider = pdriver.provider(upstream, min_refresh_interval=10)
    pdriver.get(provider)
    for _ in range(1000):
        pdriver.get(provider)
    assert upstream.count == 1
    upstream.clock.advance(10)
    pdriver.get(provider)
    assert upstream.count == 2


def test_a_failing_cold_start_backs_off_from_one_second_doubling_to_the_interval(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock())
    upstream.fail = True
    provider = pdriver.provider(upstream, min_refresh_interval=30)
    raised = 0
    for _ in range(320):  # 80 s in steps of 0.25 s
        with pytest.raises(AuthingAPIError):
            pdriver.get(provider)
        raised += 1
        upstream.clock.advance(0.25)
    assert upstream.calls == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 61.0]
    stats = provider.stats()
    assert stats.errors == raised
    assert stats.consecutive_failures == 7
    upstream.fail = False  # a success resets the backoff
    upstream.clock.advance(30)
    token = pdriver.get(provider)
    upstream.fail = True
    start = upstream.clock.monotonic()
    pdriver.invalidate(provider, token)  # its refresh fails: the backoff starts at 1 s again
    pdriver.settle(provider)
    with pytest.raises(AuthingAPIError):
        pdriver.get(provider)
    upstream.clock.advance(1)
    with pytest.raises(AuthingAPIError):
        pdriver.get(provider)
    assert upstream.calls[-2:] == [start, start + 1]


def test_an_already_expired_token_is_a_failed_refresh_not_a_storm(pdriver: ProviderDriver) -> None:
    upstream = Upstream(FakeClock())
    upstream.expired = True
    provider = pdriver.provider(upstream)
    for _ in range(1000):
        with pytest.raises(AuthingResponseError, match="expired already"):
            pdriver.get(provider)
    assert upstream.count == 1  # 1,000 calls within a second: one request


def test_each_waiter_raises_its_own_copy_of_the_shared_error(pdriver: ProviderDriver) -> None:
    upstream = Upstream(FakeClock())
    upstream.fail = True
    provider = pdriver.provider(upstream)
    errors = []
    for _ in range(50):
        with pytest.raises(AuthingAPIError) as caught:
            pdriver.get(provider)
        errors.append(caught.value)
    assert len({id(e) for e in errors}) == 50
    assert {(e.status_code, e.message, e.attempts) for e in errors} == {(503, "upstream down", 1)}
    depth = [len(list(_frames(e.__traceback__))) for e in errors]
    assert max(depth) == min(depth)  # a re-raised shared instance would grow its traceback


def _frames(tb: object) -> Iterator[object]:
    while tb is not None:
        yield tb
        tb = getattr(tb, "tb_next", None)


def test_invalidate_drops_only_the_reported_token_and_refreshes_at_once(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    bad = pdriver.get(provider)
    pdriver.invalidate(provider, bad)
    pdriver.settle(provider)
    assert upstream.count == 2  # the refresh started at once
    fresh = pdriver.get(provider)
    assert fresh.access_token == f"{TOKEN_PREFIX}2"
    for _ in range(10):
        pdriver.invalidate(provider, bad)  # late reports of the old token drop nothing
    assert pdriver.get(provider) is fresh
    assert upstream.count == 2
    pdriver.invalidate(provider)
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}3"
    assert provider.stats().invalidations == 2


def test_stats_are_a_frozen_snapshot(pdriver: ProviderDriver) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    before = provider.stats()
    token = pdriver.get(provider)
    after = provider.stats()
    assert isinstance(after, ProviderStats)
    assert before.served[TokenState.INVALID] == 0
    assert after.served[TokenState.INVALID] == 1
    assert after.expires_at == token.expires_at
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        after.errors = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        after.served[TokenState.FRESH] = 5  # type: ignore[index]


@pytest.mark.parametrize(
    ("remaining", "state"),
    [(None, TokenState.INVALID), (-1, TokenState.INVALID), (0, TokenState.INVALID),
     (0.5, TokenState.MUST), (60, TokenState.MUST), (60.5, TokenState.STALE),
     (300, TokenState.STALE), (300.5, TokenState.FRESH)],
)  # fmt: skip
def test_the_states_and_their_boundaries(remaining: float | None, state: TokenState) -> None:
    assert RefreshTiming().state(remaining) is state


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"refresh_margin": -1}, ValueError),
        ({"refresh_margin": float("nan")}, ValueError),
        ({"mandatory_margin": 10**400}, ValueError),
        ({"min_refresh_interval": "30"}, TypeError),
        ({"refresh_margin": 30, "mandatory_margin": 60}, ValueError),
    ],
)
def test_timing_is_checked(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        RefreshTiming(**kwargs)  # type: ignore[arg-type]
