"""A provider with a shared store, on a ``FakeClock`` and an in-memory store: read before
asking, the lock, re-read after it, write if newer, invalidate if same, a failing store."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from authing_wechat import RefreshCounts, StoredToken
from authing_wechat.testing import FakeClock

from tests._provider_support import TOKEN_PREFIX, MemoryStore, ProviderDriver, Upstream

KEY = "token:test"


@pytest.fixture(params=["sync", "async"])
def pdriver(request: pytest.FixtureRequest) -> Iterator[ProviderDriver]:
    driver = ProviderDriver(request.param)
    yield driver
    driver.close()


def _entry(clock: FakeClock, name: str, *, left: float, asked_ago: float = 1000) -> StoredToken:
    now = clock.time()
    return StoredToken(access_token=name, expires_at=now + left, requested_at=now - asked_ago)


def test_a_cold_process_takes_the_fleets_token_without_asking(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    store.entries[KEY] = _entry(upstream.clock, "shared", left=1000)
    provider = pdriver.provider(upstream, store=store)
    token = pdriver.get(provider)
    assert token.access_token == "shared"
    assert token.expires_at.timestamp() == upstream.clock.time() + 1000
    assert upstream.count == 0
    assert store.calls == ["load"]
    assert provider.stats().blocking == RefreshCounts(store=1)


def test_a_process_starting_in_an_outage_serves_the_fleets_stale_token(
    pdriver: ProviderDriver,
) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    upstream.fail = True
    store.entries[KEY] = _entry(upstream.clock, "shared", left=200)  # STALE, asked long ago
    provider = pdriver.provider(upstream, store=store)
    assert pdriver.get(provider).access_token == "shared"
    assert upstream.count == 0


def test_the_lock_holder_asks_and_writes_under_the_lock(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store)
    token = pdriver.get(provider)
    assert store.calls == ["load", "try_lock", "load", "save", "release"]
    saved = store.entries[KEY]
    assert saved.access_token == token.access_token
    assert saved.expires_at == token.expires_at.timestamp()
    assert saved.requested_at == upstream.clock.time()
    assert not store.locked


def test_a_process_that_misses_the_lock_waits_for_the_holders_token(
    pdriver: ProviderDriver,
) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    store.locked = True  # another process is refreshing
    polls = []

    def holder_finishes_on_the_third_poll() -> None:
        polls.append(upstream.clock.monotonic())
        if len(polls) == 3:
            store.entries[KEY] = _entry(upstream.clock, "from-holder", left=7000, asked_ago=0)

    store.on_poll = holder_finishes_on_the_third_poll
    provider = pdriver.provider(upstream, store=store)
    assert pdriver.get(provider).access_token == "from-holder"
    assert upstream.count == 0
    assert upstream.clock.sleeps == [0.05, 0.05]  # polled, never slept for real


def test_a_process_that_waited_the_lock_timeout_asks_alone(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore(lock_timeout=2.0)
    store.locked = True  # a holder that crashed without releasing
    provider = pdriver.provider(upstream, store=store)
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}1"
    assert upstream.count == 1
    assert sum(upstream.clock.sleeps) == pytest.approx(2.0)


def test_a_holder_that_gave_up_hands_the_lock_to_a_waiter(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    store.locked = True
    store.on_poll = lambda: setattr(store, "locked", False)  # the holder failed and released
    provider = pdriver.provider(upstream, store=store)
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}1"
    assert store.entries[KEY].access_token == f"{TOKEN_PREFIX}1"


def test_a_recent_fetch_by_another_process_is_not_repeated(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store, min_refresh_interval=30)
    token = pdriver.get(provider)
    upstream.clock.advance(7200 - 200)  # STALE everywhere
    # Another process asked Authing 5 s ago and got the same token back (Authing's cache).
    store.entries[KEY] = StoredToken(
        access_token=token.access_token,
        expires_at=token.expires_at.timestamp(),
        requested_at=upstream.clock.time() - 5,
    )
    assert pdriver.get(provider) is token
    pdriver.settle(provider)
    assert upstream.count == 1
    assert provider.stats().background == RefreshCounts(store=1)


def test_a_slow_refresher_does_not_overwrite_a_newer_token(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store)
    newer = _entry(upstream.clock, "newer", left=9000, asked_ago=0)
    # While this process's request is on its way, its lock expires and another process
    # writes a token that lives longer.
    store.on_poll = None
    original_save = store.save

    def save_after_the_other(key: str, token: StoredToken) -> bool:
        store.entries[key] = newer
        return original_save(key, token)

    store.save = save_after_the_other  # type: ignore[method-assign]
    assert pdriver.get(provider).access_token == "newer"
    assert store.entries[KEY] == newer
    assert upstream.count == 1


def test_invalidate_discards_the_shared_entry_only_while_it_holds_that_token(
    pdriver: ProviderDriver,
) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store)
    bad = pdriver.get(provider)
    pdriver.invalidate(provider, bad)
    pdriver.settle(provider)
    assert "discard" in store.calls
    assert store.entries[KEY].access_token == f"{TOKEN_PREFIX}2"
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}2"
    # A second process reports the same bad token: the entry is newer, nothing is asked.
    other = pdriver.provider(upstream, store=store)
    store.entries[KEY] = StoredToken(
        access_token=bad.access_token, expires_at=bad.expires_at.timestamp(), requested_at=0
    )
    assert pdriver.get(other).access_token == bad.access_token
    store.entries[KEY] = _entry(upstream.clock, "fleet-new", left=7000, asked_ago=0)
    pdriver.invalidate(other, bad)
    pdriver.settle(other)
    assert store.entries[KEY].access_token == "fleet-new"  # not discarded: another token
    assert pdriver.get(other).access_token == "fleet-new"
    assert upstream.count == 2


def test_the_rejected_token_is_never_taken_back_from_the_store(pdriver: ProviderDriver) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store)
    bad = pdriver.get(provider)
    store.down = True  # the discard cannot reach the store...
    pdriver.invalidate(provider, bad)
    pdriver.settle(provider)
    store.down = False  # ...which still holds the bad token when it is back
    assert store.entries[KEY].access_token == bad.access_token
    upstream.clock.advance(60)
    pdriver.invalidate(provider)
    assert pdriver.get(provider).access_token == f"{TOKEN_PREFIX}3"


def test_a_failing_store_is_a_cache_miss_skipped_for_a_while_with_one_warning(
    pdriver: ProviderDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authing_wechat")
    upstream, store = Upstream(FakeClock()), MemoryStore()
    store.down = True
    provider = pdriver.provider(upstream, store=store)
    token = pdriver.get(provider)  # Authing answers: the caller never notices the store
    assert token.access_token == f"{TOKEN_PREFIX}1"
    assert store.calls == ["load"]  # one error, then skipped
    for _ in range(5):  # refreshes within the skip period do not touch the store
        pdriver.invalidate(provider)
        pdriver.get(provider)
    assert store.calls == ["load"]
    stats = provider.stats()
    assert stats.store_errors == 1
    assert stats.store_skips >= 5
    upstream.clock.advance(1)
    pdriver.invalidate(provider)
    pdriver.get(provider)
    assert store.calls == ["load", "load"]  # tried again after 1 s, failed again
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "token store failed (ConnectionError in load" in warnings[0]
    store.down = False
    upstream.clock.advance(2)
    pdriver.invalidate(provider)
    pdriver.get(provider)
    assert any("token store works again" in r.getMessage() for r in caplog.records)
    assert store.entries[KEY].access_token == f"{TOKEN_PREFIX}{upstream.count}"
