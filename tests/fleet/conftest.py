"""Fixtures of the tests on a real Redis: one server and one 3-master cluster for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from authing_wechat.testing._redis_cluster import RedisClusterServers, run_redis_cluster
from authing_wechat.testing._redis_server import RedisServer, find_redis_server, run_redis_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server on a free loopback port (the dev dependencies' binary), stopped by PID."""
    if find_redis_server() is None:
        pytest.skip("no redis-server binary (install the dev dependencies)")
    with run_redis_server() as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of ``redis_server``, emptied first."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A Redis Cluster of three masters on free loopback ports, stopped by PID (about 2 s to
    form, once)."""
    if find_redis_server() is None:
        pytest.skip("no redis-server binary (install the dev dependencies)")
    with run_redis_cluster() as cluster:
        yield cluster
