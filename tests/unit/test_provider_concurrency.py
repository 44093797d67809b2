"""Providers under real threads and tasks: single flight, background work, cancellation,
fork safety and shutdown. Synchronised with events and barriers, never with sleeps."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingAPIError,
    AuthingError,
    RefreshTiming,
    TokenState,
    WechatTokenClient,
    WechatTokenProvider,
)
from authing_wechat.testing import FakeClock

from tests._provider_support import TOKEN_PREFIX, ProviderDriver, Upstream
from tests._support import SECRET


def _refresh_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("authing-wechat-refresh")]


def _in_threads(count: int, target: Any) -> list[Any]:
    """Run ``target()`` in ``count`` threads released together; their results or errors."""
    start = threading.Barrier(count)
    results: list[Any] = []

    def run() -> None:
        start.wait(10)
        try:
            results.append(target())
        except AuthingError as error:
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_threads_of_a_cold_start_share_one_fetch() -> None:
    upstream = Upstream(FakeClock())
    provider = ProviderDriver("sync").provider(upstream)
    results = _in_threads(32, provider.get)
    assert {r.access_token for r in results} == {f"{TOKEN_PREFIX}1"}
    assert upstream.count == 1


def test_a_failed_cold_fetch_reaches_every_waiting_thread_without_a_second_request() -> None:
    upstream = Upstream(FakeClock())
    upstream.fail = True
    provider = ProviderDriver("sync").provider(upstream)
    results = _in_threads(32, provider.get)
    assert len(results) == 32
    assert all(isinstance(r, AuthingAPIError) for r in results)
    assert upstream.count == 1  # stragglers get the last error at once (backoff)


def test_stale_callers_never_wait_and_one_thread_refreshes() -> None:
    upstream = Upstream(FakeClock())
    driver = ProviderDriver("sync")
    provider = driver.provider(upstream)
    old = provider.get()
    upstream.clock.advance(7200 - 200)
    upstream.hold()

    def many_gets() -> set[str]:
        return {provider.get().access_token for _ in range(200)}

    results = _in_threads(20, many_gets)  # returns only because nobody waits for the refresh
    assert results == [{old.access_token}] * 20
    assert upstream.entered.wait(10)
    assert len(_refresh_threads()) == 1  # one daemon thread, not one per call
    assert _refresh_threads()[0].daemon
    upstream.release()
    driver.settle(provider)
    assert provider.get().access_token == f"{TOKEN_PREFIX}2"
    assert upstream.count == 2


def test_fresh_serves_are_counted_exactly_across_threads_and_stats_reads() -> None:
    upstream = Upstream(FakeClock())
    provider = ProviderDriver("sync").provider(upstream)
    provider.get()  # the cold start: INVALID, then FRESH from here on
    threads, calls = 8, 2_000
    done = threading.Event()
    seen: list[list[int]] = [[], []]

    def read_stats(counts: list[int]) -> None:  # concurrent readers, as metrics scrapers
        while True:
            counts.append(provider.stats().served[TokenState.FRESH])
            if done.is_set():
                return

    readers = [threading.Thread(target=read_stats, args=(counts,)) for counts in seen]
    for reader in readers:
        reader.start()
    try:
        _in_threads(threads, lambda: [provider.get() for _ in range(calls)])
    finally:
        done.set()
        for reader in readers:
            reader.join(10)
    for counts in seen:  # a reader never sees the count go back
        assert counts == sorted(counts)
        assert counts[0] >= 0
        assert counts[-1] <= threads * calls
    for _ in range(3):
        assert provider.stats().served[TokenState.FRESH] == threads * calls
    assert provider.stats().served[TokenState.INVALID] == 1
    assert upstream.count == 1


def test_fresh_serves_of_threads_that_come_and_go_are_all_counted() -> None:
    # Each thread counts its FRESH serves in a cell only it writes, so no count is lost when
    # threads race (free-threaded Python included), and a thread's count outlives it.
    upstream = Upstream(FakeClock())
    provider = ProviderDriver("sync").provider(upstream)
    provider.get()
    threads, calls = 16, 500
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter lets them
    try:
        for wave in range(1, 6):  # each wave's threads end before the next starts
            _in_threads(threads, lambda: [provider.get() for _ in range(calls)])
            assert provider.stats().served[TokenState.FRESH] == wave * threads * calls
    finally:
        sys.setswitchinterval(previous)
    assert provider._rule._cells == []  # ended threads are folded into one number
    assert upstream.count == 1


def test_must_callers_wait_for_the_one_refresh() -> None:
    upstream = Upstream(FakeClock())
    driver = ProviderDriver("sync")
    provider = driver.provider(upstream)
    provider.get()
    upstream.clock.advance(7200 - 30)
    upstream.hold()

    def release_once_asked() -> None:
        assert upstream.entered.wait(10)
        upstream.release()

    released = threading.Thread(target=release_once_asked)
    released.start()
    results = _in_threads(16, provider.get)
    released.join(10)
    assert {r.access_token for r in results} == {f"{TOKEN_PREFIX}2"}
    assert upstream.count == 2


@pytest.mark.anyio
async def test_tasks_of_a_cold_start_share_one_fetch() -> None:
    upstream = Upstream(FakeClock())
    provider = ProviderDriver("async").provider(upstream)
    tokens = await asyncio.gather(*(provider.get() for _ in range(1000)))
    assert {t.access_token for t in tokens} == {f"{TOKEN_PREFIX}1"}
    assert upstream.count == 1


@pytest.mark.anyio
async def test_a_failed_cold_fetch_reaches_every_waiting_task() -> None:
    upstream = Upstream(FakeClock())
    upstream.fail = True
    provider = ProviderDriver("async").provider(upstream)
    results = await asyncio.gather(*(provider.get() for _ in range(100)), return_exceptions=True)
    assert all(isinstance(r, AuthingAPIError) for r in results)
    assert upstream.count == 1


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_the_refresh_running_for_the_others() -> None:
    upstream = Upstream(FakeClock())
    upstream.hold()
    provider = ProviderDriver("async").provider(upstream)
    first, second = asyncio.create_task(provider.get()), asyncio.create_task(provider.get())
    await asyncio.sleep(0)  # both are waiting now
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    upstream.release()
    token = await second
    assert token.access_token == f"{TOKEN_PREFIX}1"
    assert upstream.count == 1


def test_a_forked_child_starts_with_clean_locks_and_no_refresh_in_flight() -> None:
    upstream = Upstream(FakeClock())
    provider: WechatTokenProvider = ProviderDriver("sync").provider(upstream)
    upstream.hold()
    waiter = threading.Thread(target=provider.get)  # a refresh in flight, held
    waiter.start()
    assert upstream.entered.wait(10)
    read_end, write_end = os.pipe()
    with provider._rule._lock:  # held by the parent at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: no thread holds the lock, no thread runs the refresh
            try:
                upstream.release()
                os.write(write_end, provider.get().access_token.encode())
            finally:
                os._exit(0)
    try:
        ready, _, _ = select.select([read_end], [], [], 10)
        assert ready, "the child hung on an inherited lock or refresh"
        assert os.read(read_end, 100).decode() == f"{TOKEN_PREFIX}2"  # its own fetch
    finally:
        upstream.release()
        waiter.join(10)
        os.close(read_end)
        os.close(write_end)
        os.waitpid(pid, 0)
    assert provider.get().access_token == f"{TOKEN_PREFIX}1"  # the parent's own refresh


@contextmanager
def _silent_server() -> Iterator[socket.socket]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener


def test_close_releases_waiting_callers_and_starts_no_more_refreshes() -> None:
    with _silent_server() as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = WechatTokenClient(url, "a", retry=None, timeout=2.0)
        provider = client.token_provider(app_id="wx1", app_secret=SECRET)
        outcome: list[BaseException] = []

        def wait_for_token() -> None:
            try:
                provider.get()
            except RuntimeError as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=wait_for_token)
        waiter.start()
        connection, _ = listener.accept()  # the refresh is waiting for an answer
        client.close()
        waiter.join(10)
        assert not waiter.is_alive()
        assert "closed" in str(outcome[0])
        with pytest.raises(RuntimeError, match="closed"):
            provider.get()
        listener.settimeout(0)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no second request
        connection.close()


@pytest.mark.anyio
async def test_aclose_cancels_the_background_refresh() -> None:
    with _silent_server() as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = AsyncWechatTokenClient(url, "a", retry=None)
        provider = client.token_provider(app_id="wx1", app_secret=SECRET)
        waiter = asyncio.create_task(provider.get())
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        connection, _ = await loop.sock_accept(listener)
        flight = provider._rule.in_flight()
        assert flight is not None
        await client.aclose()
        assert flight.worker.done()
        with pytest.raises(RuntimeError, match="cancelled"):
            await waiter
        connection.close()


def test_the_client_hands_its_settings_to_the_provider() -> None:
    client = WechatTokenClient("https://example.authing.cn", "authing-app")
    provider = client.token_provider(
        app_id="wx1", app_secret=SECRET, refresh_margin=120, mandatory_margin=10,
        min_refresh_interval=5,
    )  # fmt: skip
    assert provider.timing == RefreshTiming(
        refresh_margin=120, mandatory_margin=10, min_refresh_interval=5
    )
    assert provider.store is None
    assert SECRET not in repr(provider)
    client.close()
