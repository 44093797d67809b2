"""A fleet of real processes sharing one Redis server and one loopback mock Authing server.

Each worker (``_worker.py``) is a separate process with its own client and provider on
a Redis store; the test counts the requests that reach the mock server.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import redis
from authing_wechat import RedisTokenStore, StoredToken
from authing_wechat._core._secret import Secret
from authing_wechat._provider._store import store_key
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    run_mock_server,
)
from authing_wechat.testing._redis_server import RedisServer, find_redis_server, run_redis_server

from tests.fleet._worker import APP_ID, AUTHING_APP_ID, SECRET, serve

# Workers fork from a server that imported the worker module once (see _worker.py).
_PROCESSES = multiprocessing.get_context("forkserver")
_PROCESSES.set_forkserver_preload(["tests.fleet._worker"])

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")


class Process:
    """A running worker: send it commands, read its answers; stopped by its PID."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.pipe, theirs = _PROCESSES.Pipe()
        self.process = _PROCESSES.Process(target=serve, args=(settings, theirs), daemon=True)
        self.process.start()
        theirs.close()

    def ready(self) -> None:
        assert self.answer() == "ready"

    def send(self, op: str, **arguments: Any) -> None:
        self.pipe.send({"op": op, **arguments})

    def answer(self) -> Any:
        assert self.pipe.poll(60), f"worker {self.process.pid} did not answer"
        return self.pipe.recv()

    def call(self, op: str, **arguments: Any) -> Any:
        self.send(op, **arguments)
        return self.answer()

    def stop(self) -> None:
        if self.process.pid is not None and self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(10)
        self.pipe.close()


@contextmanager
def fleet(count: int, **settings: Any) -> Iterator[list[Process]]:
    """``count`` workers started together; the first ``async_workers`` of them async."""
    asyncs = settings.pop("async_workers", 0)
    with ExitStack() as stack:
        workers = []
        for index in range(count):
            worker = Process({**settings, "async": index < asyncs})
            stack.callback(worker.stop)
            workers.append(worker)
        for worker in workers:
            worker.ready()
        yield workers


def on_all(workers: list[Process], op: str, **arguments: Any) -> list[Any]:
    """Send ``op`` to every worker at once, then collect the answers."""
    for worker in workers:
        worker.send(op, **arguments)
    return [worker.answer() for worker in workers]


def shared_entry(client: redis.Redis) -> StoredToken | None:
    key = store_key(host="127.0.0.1", authing_app_id=AUTHING_APP_ID, app_id=APP_ID,
                    app_secret=Secret(SECRET))  # fmt: skip
    return RedisTokenStore(client).load(key)


def test_a_cold_fleet_makes_one_upstream_request(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    mock = MockAuthingServer()
    mock.add_fault(SUCCESSOR_PATH, Fault.delay(0.5))  # everyone asks while it is on its way
    with (
        run_mock_server(mock) as handle,
        fleet(3, async_workers=1, mock_url=handle.url, redis_url=redis_server.url) as workers,
    ):
        answers = on_all(workers, "get", callers=25)
        assert all(a["errors"] == [] and a["served"] == 25 for a in answers)
        assert len({token for a in answers for token in a["tokens"]}) == 1
        assert mock.request_count(SUCCESSOR_PATH) == 1
        entry = shared_entry(redis_client)
        assert entry is not None
        assert [entry.access_token] == answers[0]["tokens"]


def test_a_stale_fleet_serves_at_once_and_refreshes_once(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    now = time.time()
    seed = StoredToken(access_token="seed-token", expires_at=now + 200, requested_at=now - 7000)
    key = store_key(host="127.0.0.1", authing_app_id=AUTHING_APP_ID, app_id=APP_ID,
                    app_secret=Secret(SECRET))  # fmt: skip
    assert RedisTokenStore(redis_client).save(key, seed)  # the fleet's token: STALE
    mock = MockAuthingServer()
    with run_mock_server(mock) as handle, fleet(
        3, async_workers=1, mock_url=handle.url, redis_url=redis_server.url,
        min_refresh_interval=0.2,
    ) as workers:  # fmt: skip
        cold = on_all(workers, "get", callers=5)
        assert all(a["tokens"] == ["seed-token"] for a in cold)  # from Redis, no request
        assert mock.request_count() == 0
        mock.add_fault(SUCCESSOR_PATH, Fault.delay(1.0))  # the one refresh takes its time
        time.sleep(0.3)  # past min_refresh_interval: the next get() starts the refresh
        stale = on_all(workers, "get", callers=20)
        during = on_all(workers, "get", callers=20)  # while the refresh is on its way
        assert all(a["tokens"] == ["seed-token"] and a["errors"] == [] for a in stale + during)
        on_all(workers, "settle")
        after = on_all(workers, "get", callers=5)
        assert len({token for a in after for token in a["tokens"]}) == 1
        assert after[0]["tokens"] != ["seed-token"], on_all(workers, "stats")
        assert mock.request_count(SUCCESSOR_PATH) == 1
        stats = on_all(workers, "stats")
        assert sum(s["background"][0] for s in stats) == 1  # one refreshed from Authing
        assert sum(s["background"][1] for s in stats) == 2  # the others took it from Redis


def test_invalidation_is_shared_by_the_fleet(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    clock = FakeClock(start=time.time())  # to make the mock hand out a new token on demand
    mock = MockAuthingServer(clock=clock)
    with (
        run_mock_server(mock) as handle,
        fleet(3, async_workers=1, mock_url=handle.url, redis_url=redis_server.url) as workers,
    ):
        first = on_all(workers, "get", callers=5)
        (bad,) = {token for a in first for token in a["tokens"]}
        clock.advance(7200)  # the mock's cached token is gone: WeChat would reject it
        on_all(workers, "invalidate")  # every process reports the bad token, together
        after = on_all(workers, "get", callers=5)
        tokens = {token for a in after for token in a["tokens"]}
        assert len(tokens) == 1
        assert bad not in tokens
        assert mock.request_count(SUCCESSOR_PATH) == 2  # one refresh for the whole fleet
        entry = shared_entry(redis_client)
        assert entry is not None
        assert {entry.access_token} == tokens


def test_redis_killed_mid_run_costs_nothing_but_sharing() -> None:
    mock = MockAuthingServer()
    with (
        run_redis_server() as doomed,
        run_mock_server(mock) as handle,
        fleet(2, async_workers=1, mock_url=handle.url, redis_url=doomed.url) as workers,
    ):
        on_all(workers, "get", callers=5)
        assert mock.request_count() == 1
        doomed.kill()
        for _ in range(3):  # each process now refreshes alone; no call fails
            on_all(workers, "invalidate")
            answers = on_all(workers, "get", callers=10)
            assert all(a["errors"] == [] and a["served"] == 10 for a in answers)
        assert mock.request_count() == 1 + 3 * 2
        stats = on_all(workers, "stats")
        assert all(s["store_errors"] >= 1 for s in stats)
        assert [s["store_warnings"] for s in stats] == [1, 1]  # one warning per outage


def test_a_slow_refresher_cannot_overwrite_a_newer_token(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    mock = MockAuthingServer()
    mock.add_fault(SUCCESSOR_PATH, Fault.delay(1.0))  # only the first request is slow
    with (
        run_mock_server(mock) as handle,
        fleet(2, mock_url=handle.url, redis_url=redis_server.url, lock_timeout=0.3) as (
            slow,
            quick,
        ),
    ):
        slow.send("get", callers=1)
        while mock.request_count() == 0:  # the slow one's request has reached the server
            time.sleep(0.01)
        time.sleep(0.4)  # its lock has expired
        quick_started = time.time()
        quick_answer = quick.call("get", callers=1)
        written = shared_entry(redis_client)
        slow_answer = slow.answer()
        assert written is not None
        assert written.requested_at >= quick_started
        assert shared_entry(redis_client) == written  # the slow answer did not replace it
        assert slow_answer["tokens"] == quick_answer["tokens"] == [written.access_token]
        assert slow.call("stats")["blocking"] == [0, 1, 0]  # it took the newer one instead
        assert mock.request_count() == 2
