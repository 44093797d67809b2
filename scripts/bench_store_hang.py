#!/usr/bin/env python3
"""What a hung Redis costs a cold ``get()``, per construction of the store: seconds, measured.

Figures, not tests (the tests count attempts instead: ``tests/fleet/test_redis_bounds.py``).
A real server (and a real 3-master cluster) is frozen with SIGSTOP, always resumed with
SIGCONT; each row is one cold ``provider.get()`` of a new provider on the loopback mock
Authing, next to the same ``get()`` with no store (Authing's own time) and to one ``GET`` sent
through the client as given (what a store that used it as it is would wait).

    python scripts/bench_store_hang.py
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import redis
import redis.asyncio
import redis.cluster
from authing_wechat import (
    AsyncRedisTokenStore,
    AsyncWechatTokenClient,
    RedisTokenStore,
    WechatTokenClient,
)
from authing_wechat.testing import run_mock_server
from authing_wechat.testing._redis_cluster import run_redis_cluster
from authing_wechat.testing._redis_server import run_redis_server

_SECRET = "bench-secret"  # noqa: S105 - the mock's, not a credential


def _seconds(call: Callable[[], Any]) -> float:
    start = time.monotonic()
    with contextlib.suppress(redis.RedisError):  # the raw client's timeout: its cost is the figure
        call()
    return time.monotonic() - start


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with run_redis_server() as server, run_mock_server() as mock, run_redis_cluster() as cluster:
        url, port = server.url, server.port
        apps = iter(range(1_000))

        def cold_get(store: Any, hung: AbstractContextManager[None]) -> float:
            with WechatTokenClient(mock.url, "authing-app") as api:
                provider = api.token_provider(
                    app_id=f"wx{next(apps)}", app_secret=_SECRET, store=store
                )
                with hung:
                    return _seconds(provider.get)

        baseline = cold_get(None, server.paused())
        rows.append(("no store (Authing's own time)", "-", f"{baseline:.2f}"))
        sync: dict[str, Callable[[], Any]] = {
            "RedisTokenStore(Redis.from_url(url))": lambda: redis.Redis.from_url(url),
            "RedisTokenStore(Redis(host, port))": lambda: redis.Redis(host="127.0.0.1", port=port),
            "README's client (0.5 s timeouts)": lambda: redis.Redis(
                host="127.0.0.1", port=port, socket_timeout=0.5, socket_connect_timeout=0.5
            ),
        }
        for name, make in sync.items():
            raw = make()
            raw.ping()
            with server.paused():
                as_given = _seconds(lambda: raw.get("x"))  # noqa: B023 - called at once
            raw.close()
            store = RedisTokenStore(make())
            rows.append((name, f"{as_given:.2f}", f"{cold_get(store, server.paused()):.2f}"))
            store.close()
        store = RedisTokenStore.from_url(url)
        rows.append(
            ("RedisTokenStore.from_url(url)", "-", f"{cold_get(store, server.paused()):.2f}")
        )
        store.close()

        raw_cluster = redis.cluster.RedisCluster.from_url(cluster.url)
        raw_cluster.get("x")
        with cluster.masters[cluster.ports.index(cluster.master_of("x"))].paused():
            as_given = _seconds(lambda: raw_cluster.get("x"))
        raw_cluster.close()
        rows.append(("RedisCluster.from_url(url), one master hung", f"{as_given:.2f}", "refused"))
        store = RedisTokenStore.from_url(cluster.url, cluster=True)
        rows.append(("from_url(cluster=True), every master hung, cold",
                     "-", f"{cold_get(store, cluster.paused()):.2f}"))  # fmt: skip
        store.close()
        store = RedisTokenStore.from_url(cluster.url, cluster=True)
        store.load("warm-up")
        rows.append(("from_url(cluster=True), every master hung, warm",
                     "-", f"{cold_get(store, cluster.paused()):.2f}"))  # fmt: skip
        store.close()

        async def async_rows() -> None:
            stores = {
                "AsyncRedisTokenStore(asyncio Redis.from_url(url))": AsyncRedisTokenStore(
                    redis.asyncio.Redis.from_url(url)
                ),
                "AsyncRedisTokenStore.from_url(url)": AsyncRedisTokenStore.from_url(url),
            }
            for label, astore in stores.items():
                async with AsyncWechatTokenClient(mock.url, "authing-app") as api:
                    provider = api.token_provider(
                        app_id=f"wx{next(apps)}", app_secret=_SECRET, store=astore
                    )
                    with server.paused():
                        start = time.monotonic()
                        await provider.get()
                        rows.append((label, "-", f"{time.monotonic() - start:.2f}"))
                await astore.aclose()

        asyncio.run(async_rows())
    width = max(len(row[0]) for row in rows)
    print(
        f"{'construction (Redis frozen)':<{width}}  client as given, one GET  cold get() via store"
    )
    for label, given, via_store in rows:
        print(f"{label:<{width}}  {given:>24}  {via_store:>20}")


if __name__ == "__main__":
    main()
