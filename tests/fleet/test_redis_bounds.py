"""A hung Redis stalls no caller, whatever client the store is given.

Each test freezes a real server (SIGSTOP: the kernel still accepts connections, nothing
answers; SIGCONT in a ``finally``, always) and makes a cold ``get()`` on a loopback mock
Authing. What it asserts is structural: the bounds the store configured, how many
connections reached the server (one per attempt), how many store steps failed (one; the rest
were skipped). ``HANG_DETECTOR`` only catches a stall: redis-py's defaults stall a cold
``get()`` 5 to 55 s; the seconds per construction are measured by ``scripts/bench_store_hang.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
from authing_wechat import (
    AsyncRedisTokenStore,
    AsyncWechatTokenClient,
    RedisTokenStore,
    WechatAccessToken,
    WechatTokenClient,
)
from authing_wechat._core._secret import Secret
from authing_wechat._provider._redis_bounds import STORE_SOCKET_TIMEOUT
from authing_wechat._provider._store import store_key
from authing_wechat.testing import MockServerHandle, run_mock_server
from authing_wechat.testing._redis_cluster import RedisClusterServers
from authing_wechat.testing._redis_server import RedisServer, find_redis_server
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests._support import SECRET

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")

# Seconds after which a cold get() counts as stalled: a hang detector, not a speed claim
# (a bounded store costs it one 0.5 s timeout; redis-py's defaults, 5 s or more).
HANG_DETECTOR = 3.0


@pytest.fixture(scope="module")
def mock_authing() -> Any:
    with run_mock_server() as handle:
        yield handle


def _connections(server: RedisServer) -> int:
    admin = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    try:
        return int(admin.info("stats")["total_connections_received"])
    finally:
        admin.close()


def _cold_get(
    store: RedisTokenStore, mock: MockServerHandle, hung: AbstractContextManager[None]
) -> tuple[WechatAccessToken, Any]:
    """A cold get() of a new provider on ``store`` while ``hung``; its token and stats."""
    outcome: list[WechatAccessToken | BaseException] = []
    with WechatTokenClient(mock.url, "authing-app") as api:
        provider = api.token_provider(app_id="wx-hung", app_secret=SECRET, store=store)

        def call() -> None:
            try:
                outcome.append(provider.get())
            except BaseException as exc:  # handed to the test
                outcome.append(exc)

        with hung:
            caller = threading.Thread(target=call, daemon=True)
            caller.start()
            caller.join(HANG_DETECTOR)
            stalled = caller.is_alive()
        caller.join(60)
        assert not stalled, "the store stalled a cold get()"
        stats = provider.stats()
    (token,) = outcome
    assert isinstance(token, WechatAccessToken)
    return token, stats


def _assert_bounded(store: RedisTokenStore | AsyncRedisTokenStore) -> None:
    """The store's own pool has short timeouts and makes one attempt per command."""
    settings = store.client.connection_pool.connection_kwargs
    assert 0 < settings["socket_timeout"] <= STORE_SOCKET_TIMEOUT
    assert 0 < settings["socket_connect_timeout"] <= STORE_SOCKET_TIMEOUT
    assert settings["retry"].get_retries() == 0


# The constructions the README and the docstrings show, and those a new user tries first.
SYNC_CONSTRUCTIONS: dict[str, Callable[[RedisServer], RedisTokenStore]] = {
    "Redis.from_url(url)": lambda s: RedisTokenStore(redis.Redis.from_url(s.url)),
    "Redis(host, port)": lambda s: RedisTokenStore(redis.Redis(host="127.0.0.1", port=s.port)),
    "README's client": lambda s: RedisTokenStore(
        redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=0.5, socket_connect_timeout=0.5)
    ),
    "RedisTokenStore.from_url(url)": lambda s: RedisTokenStore.from_url(s.url),
    "BlockingConnectionPool": lambda s: RedisTokenStore(
        redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(s.url))
    ),
}


@pytest.mark.parametrize("construction", SYNC_CONSTRUCTIONS)
def test_a_hung_redis_costs_a_cold_get_one_short_attempt(
    construction: str, redis_server: RedisServer, mock_authing: MockServerHandle
) -> None:
    store = SYNC_CONSTRUCTIONS[construction](redis_server)
    _assert_bounded(store)
    before = _connections(redis_server)
    token, stats = _cold_get(store, mock_authing, redis_server.paused())
    assert token.access_token
    assert stats.store_errors == 1  # the first step timed out; the others were skipped
    assert stats.store_skips >= 1
    # One attempt reached the frozen server (a retry reconnects), and the admin's own.
    assert _connections(redis_server) - before == 1 + 1
    store.close()


def test_the_store_never_changes_the_client_it_is_given(redis_server: RedisServer) -> None:
    given = redis.Redis(host="127.0.0.1", port=redis_server.port)
    settings = dict(given.connection_pool.connection_kwargs)
    store = RedisTokenStore(given)
    assert store.client is not given
    assert given.connection_pool.connection_kwargs == settings
    retry = given.get_retry()
    assert retry is not None
    assert retry.get_retries() == 10  # redis-py's default, still the client's
    store.close()
    given.ping()  # still open: the store closes only its own connections
    given.close()


ASYNC_CONSTRUCTIONS: dict[str, Callable[[RedisServer], AsyncRedisTokenStore]] = {
    "asyncio Redis.from_url(url)": lambda s: AsyncRedisTokenStore(
        redis.asyncio.Redis.from_url(s.url)
    ),
    "asyncio Redis(host, port)": lambda s: AsyncRedisTokenStore(
        redis.asyncio.Redis(host="127.0.0.1", port=s.port)
    ),
    "AsyncRedisTokenStore.from_url(url)": lambda s: AsyncRedisTokenStore.from_url(s.url),
}


async def _acold_get(
    store: AsyncRedisTokenStore, mock: MockServerHandle, hung: AbstractContextManager[None]
) -> tuple[WechatAccessToken, Any]:
    async with AsyncWechatTokenClient(mock.url, "authing-app") as api:
        provider = api.token_provider(app_id="wx-hung", app_secret=SECRET, store=store)
        with hung:
            try:
                token = await asyncio.wait_for(provider.get(), HANG_DETECTOR)
            except TimeoutError:
                pytest.fail("the store stalled a cold get()")
        return token, provider.stats()


@pytest.mark.parametrize("construction", ASYNC_CONSTRUCTIONS)
def test_a_hung_redis_costs_a_cold_async_get_one_short_attempt(
    construction: str, redis_server: RedisServer, mock_authing: MockServerHandle
) -> None:
    async def scenario() -> None:
        store = ASYNC_CONSTRUCTIONS[construction](redis_server)
        _assert_bounded(store)
        before = _connections(redis_server)
        token, stats = await _acold_get(store, mock_authing, redis_server.paused())
        assert token.access_token
        assert stats.store_errors == 1
        assert _connections(redis_server) - before == 1 + 1
        await store.aclose()

    asyncio.run(scenario())


def test_a_client_the_store_cannot_rebuild_must_already_give_up_fast(
    redis_cluster: RedisClusterServers, redis_server: RedisServer
) -> None:
    with pytest.raises(ValueError, match=r"socket_timeout=0\.5.*retry=Retry\(NoBackoff\(\), 0\)"):
        RedisTokenStore(redis.cluster.RedisCluster.from_url(redis_cluster.url))
    with pytest.raises(ValueError, match=r"socket_timeout=0\.5.*from_url\(url, cluster=True\)"):
        AsyncRedisTokenStore(redis.asyncio.cluster.RedisCluster.from_url(redis_cluster.url))

    class TracingPool(redis.ConnectionPool):
        """A pool subclass: the store cannot know what a copy of it would lose."""

    with pytest.raises(ValueError, match="cannot rebuild a TracingPool"):
        RedisTokenStore(redis.Redis(connection_pool=TracingPool.from_url(redis_server.url)))
    bounded = TracingPool.from_url(
        redis_server.url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 1),
    )
    given = redis.Redis(connection_pool=bounded)
    assert RedisTokenStore(given).client is given  # accepted as it is
    given.close()


def _app_master(
    cluster: RedisClusterServers, store: RedisTokenStore | AsyncRedisTokenStore
) -> RedisServer:
    """The master serving the slot of the app the cold get()s ask for."""
    key = store_key(host="127.0.0.1", authing_app_id="authing-app", app_id="wx-hung",
                    app_secret=Secret(SECRET))  # fmt: skip
    port = cluster.master_of(store.entry_key(key))
    return next(master for master in cluster.masters if master.port == port)


def _bounded_cluster(cluster: RedisClusterServers) -> redis.cluster.RedisCluster:
    return redis.cluster.RedisCluster.from_url(
        cluster.url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


def test_a_hung_cluster_master_costs_a_cold_get_one_short_attempt(
    redis_cluster: RedisClusterServers, mock_authing: MockServerHandle
) -> None:
    for store in (RedisTokenStore(_bounded_cluster(redis_cluster)),
                  RedisTokenStore.from_url(redis_cluster.url, cluster=True)):  # fmt: skip
        assert store.load("warm-up") is None  # the client knows the cluster's layout
        token, stats = _cold_get(store, mock_authing, _app_master(redis_cluster, store).paused())
        assert token.access_token
        assert stats.store_errors == 1
        assert store.client.retry.get_retries() == 0
        store.close()


def test_a_store_from_url_connects_on_first_use_so_a_cluster_down_at_start_fails_nothing(
    redis_cluster: RedisClusterServers, mock_authing: MockServerHandle
) -> None:
    # Made while every master is frozen (a RedisCluster made then would fail, or wait).
    with redis_cluster.paused():
        store = RedisTokenStore.from_url(redis_cluster.url, cluster=True)
    token, stats = _cold_get(store, mock_authing, redis_cluster.paused())
    assert token.access_token
    assert stats.store_errors == 1
    assert store.load("k") is None  # the cluster is back: the store works
    store.close()


def test_a_hung_cluster_costs_a_cold_async_get_one_short_attempt(
    redis_cluster: RedisClusterServers, mock_authing: MockServerHandle
) -> None:
    async def scenario() -> None:
        for store in (
            AsyncRedisTokenStore.from_url(redis_cluster.url, cluster=True),
            AsyncRedisTokenStore(
                redis.asyncio.cluster.RedisCluster.from_url(
                    redis_cluster.url,
                    socket_timeout=0.5,
                    socket_connect_timeout=0.5,
                    retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
                )
            ),
        ):
            assert await store.load("warm-up") is None
            master = _app_master(redis_cluster, store)
            token, stats = await _acold_get(store, mock_authing, master.paused())
            assert token.access_token
            assert stats.store_errors == 1
            # Works again; and redis-py's asyncio cluster closes nothing in aclose() while
            # it still means to rediscover the layout after the timeout.
            assert await store.load("after") is None
            await store.aclose()

    asyncio.run(scenario())
