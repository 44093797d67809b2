"""The store on Redis as it is deployed: a real 3-master Redis Cluster (one for the session).

A fleet of real processes (``_worker.py``) shares one token through the cluster, with
``RedisCluster`` and ``redis.asyncio``'s; one app's keys (entry and lock) share a hash slot,
and the keys of many apps spread over the masters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
import redis.cluster
from authing_wechat import RedisTokenStore, WechatTokenClient
from authing_wechat._core._secret import Secret
from authing_wechat._provider._store import store_key
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    run_mock_server,
)
from authing_wechat.testing._redis_cluster import RedisClusterServers
from authing_wechat.testing._redis_server import find_redis_server

from tests.fleet._worker import APP_ID, AUTHING_APP_ID, SECRET
from tests.fleet.test_fleet import fleet, on_all

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")


@pytest.fixture
def cluster_client(redis_cluster: RedisClusterServers) -> Iterator[redis.cluster.RedisCluster]:
    """A client of the session's cluster, every master emptied first."""
    client = redis.cluster.RedisCluster.from_url(redis_cluster.url)
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    yield client
    client.close()


def _fleet_key() -> str:
    return store_key(host="127.0.0.1", authing_app_id=AUTHING_APP_ID, app_id=APP_ID,
                     app_secret=Secret(SECRET))  # fmt: skip


def test_a_cold_fleet_on_a_cluster_makes_one_upstream_request(
    redis_cluster: RedisClusterServers, cluster_client: redis.cluster.RedisCluster
) -> None:
    mock = MockAuthingServer()
    mock.add_fault(SUCCESSOR_PATH, Fault.delay(0.5))  # everyone asks while it is on its way
    with (
        run_mock_server(mock) as handle,
        fleet(3, async_workers=1, mock_url=handle.url, redis_url=redis_cluster.url,
              cluster=True) as workers,
    ):  # fmt: skip
        answers = on_all(workers, "get", callers=10)
        assert all(a["errors"] == [] and a["served"] == 10 for a in answers)
        tokens = {token for a in answers for token in a["tokens"]}
        assert len(tokens) == 1
        assert mock.request_count(SUCCESSOR_PATH) == 1
        reader = RedisTokenStore.from_url(redis_cluster.url, cluster=True)
        entry = reader.load(_fleet_key())
        reader.close()
        assert entry is not None
        assert {entry.access_token} == tokens


def test_invalidation_is_shared_through_the_cluster(
    redis_cluster: RedisClusterServers, cluster_client: redis.cluster.RedisCluster
) -> None:
    clock = FakeClock(start=time.time())  # to make the mock hand out a new token on demand
    mock = MockAuthingServer(clock=clock)
    with (
        run_mock_server(mock) as handle,
        fleet(3, async_workers=1, mock_url=handle.url, redis_url=redis_cluster.url,
              cluster=True) as workers,
    ):  # fmt: skip
        first = on_all(workers, "get", callers=3)
        (bad,) = {token for a in first for token in a["tokens"]}
        clock.advance(7200)
        on_all(workers, "invalidate")  # every process reports the bad token, together
        after = on_all(workers, "get", callers=3)
        tokens = {token for a in after for token in a["tokens"]}
        assert len(tokens) == 1
        assert bad not in tokens
        assert mock.request_count(SUCCESSOR_PATH) == 2  # one refresh for the whole fleet


def test_one_apps_keys_share_a_slot_and_many_apps_spread_over_the_masters(
    redis_cluster: RedisClusterServers, cluster_client: redis.cluster.RedisCluster
) -> None:
    store = RedisTokenStore.from_url(redis_cluster.url, cluster=True)
    apps = [f"wx-app-{number}" for number in range(24)]
    with run_mock_server() as handle, WechatTokenClient(handle.url, AUTHING_APP_ID) as api:
        for app_id in apps:
            api.token_provider(app_id=app_id, app_secret=SECRET, store=store).get()
    for app_id in apps:
        key = store_key(host="127.0.0.1", authing_app_id=AUTHING_APP_ID, app_id=app_id,
                        app_secret=Secret(SECRET))  # fmt: skip
        entry = store.entry_key(key)
        assert cluster_client.exists(entry)
        lock = store.try_lock(key)  # the lock's key, on the entry's master
        assert lock is not None
        # CLUSTER KEYSLOT, asked of the server: one slot for the entry and its lock.
        slots = {int(cluster_client.cluster_keyslot(name)) for name in (entry, f"{entry}:lock")}
        assert len(slots) == 1
        assert cluster_client.exists(f"{entry}:lock")
        lock.release()
    per_master = []
    for port in redis_cluster.ports:
        with redis.Redis(host="127.0.0.1", port=port) as master:
            per_master.append(master.dbsize())
    assert sum(per_master) == len(apps)
    assert all(count > 0 for count in per_master), per_master
    store.close()
