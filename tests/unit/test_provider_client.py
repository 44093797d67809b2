"""``token_provider()`` on both clients: the registry, argument checks, the client's pool and
retry budget, and single flight against the mock server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from authing_wechat import AuthingAPIError, RetryBudget, RetryPolicy
from authing_wechat.testing import SUCCESSOR_PATH, Fault, MockAuthingServer, run_mock_server

from tests._provider_support import MemoryStore
from tests._support import SECRET, Driver, Recorder, envelope


def test_one_provider_per_app_secret_and_settings(driver: Driver) -> None:
    client = driver.client()
    one = client.token_provider(app_id="wx1", app_secret=SECRET)
    assert client.token_provider(app_id="wx1", app_secret=SECRET, refresh_margin=300) is one
    for other in (
        {"app_secret": "another-secret"},
        {"app_secret": "秘密"},  # non-ASCII compares too
        {"refresh_margin": 200},
        {"mandatory_margin": 30},
        {"min_refresh_interval": 5},
        {"store": MemoryStore()},
    ):
        arguments: dict[str, Any] = {"app_id": "wx1", "app_secret": SECRET, **other}
        with pytest.raises(ValueError, match="already has a token provider"):
            client.token_provider(**arguments)
    assert client.token_provider(app_id="wx2", app_secret=SECRET) is not one


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"app_secret": " "}, ValueError),
        ({"app_id": ""}, ValueError),
        ({"refresh_margin": -1}, ValueError),
        ({"mandatory_margin": 400}, ValueError),
        ({"min_refresh_interval": "30"}, TypeError),
    ],
)
def test_provider_arguments_are_checked(
    driver: Driver, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    client = driver.client()
    with pytest.raises(error):
        client.token_provider(**{"app_id": "wx1", "app_secret": SECRET, **kwargs})


def test_providers_share_the_clients_pool_and_retry_budget(driver: Driver) -> None:
    recorder = Recorder(lambda request: httpx.Response(503, json=envelope(503)))
    no_sleeps = RetryPolicy(initial_backoff=0, max_backoff=0, budget=RetryBudget(max_tokens=4))
    client = driver.client(recorder, retry=no_sleeps)
    one = client.token_provider(app_id="wx1", app_secret=SECRET)
    two = client.token_provider(app_id="wx2", app_secret=SECRET)
    with pytest.raises(AuthingAPIError):
        driver.run(one.get())  # drains the client's budget through one provider
    with pytest.raises(AuthingAPIError) as caught:
        driver.run(two.get())
    assert caught.value.attempts == 1  # the other provider sees the same, drained budget
    assert {r.url.host for r in recorder.requests} == {"example.authing.cn"}
    assert SECRET not in repr(one)


def test_threads_against_the_mock_server_make_one_request() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from authing_wechat import WechatTokenClient

    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.delay(0.2))  # every thread asks while it is on its way
    with run_mock_server(server) as handle, WechatTokenClient(handle.url, "a") as client:
        provider = client.token_provider(app_id="wx1", app_secret=SECRET)
        with ThreadPoolExecutor(50) as pool:
            tokens = list(pool.map(lambda _: provider.get().access_token, range(50)))
    assert len(set(tokens)) == 1
    assert server.request_count(SUCCESSOR_PATH) == 1


def test_tasks_against_the_mock_server_make_one_request() -> None:
    from authing_wechat import AsyncWechatTokenClient

    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.delay(0.2))

    async def many() -> set[str]:
        async with AsyncWechatTokenClient(handle.url, "a") as client:
            provider = client.token_provider(app_id="wx1", app_secret=SECRET)
            tokens = await asyncio.gather(*(provider.get() for _ in range(1000)))
        return {t.access_token for t in tokens}

    with run_mock_server(server) as handle:
        assert len(asyncio.run(many())) == 1
    assert server.request_count(SUCCESSOR_PATH) == 1


def test_the_longest_call_is_the_attempts_and_the_waits_the_policy_allows() -> None:
    from authing_wechat._core._retry import longest_call

    assert longest_call(None, 10.0) == 10.0
    assert longest_call(RetryPolicy(), 10.0) == 3 * 10.0 + 2 * 30.0  # Retry-After up to 30 s
    assert longest_call(RetryPolicy(max_retry_after=0, max_backoff=4.0), 5.0) == 3 * 5 + 2 * 4
    assert longest_call(RetryPolicy(deadline=12.0), 10.0) == 12.0
    assert longest_call(RetryPolicy(max_attempts=1), 7.0) == 7.0


def test_the_default_redis_lock_outlives_a_default_clients_longest_refresh() -> None:
    import inspect

    import redis
    from authing_wechat import RedisTokenStore, WechatTokenClient
    from authing_wechat._core._retry import longest_call
    from authing_wechat._core._settings import DEFAULT_RETRY

    default_timeout = inspect.signature(WechatTokenClient).parameters["timeout"].default
    store = RedisTokenStore(redis.Redis(port=1))  # never connected
    assert store.lock_timeout >= longest_call(DEFAULT_RETRY, default_timeout)


@pytest.mark.parametrize(
    ("lock_timeout", "retry", "warned"),
    [
        (5.0, RetryPolicy(), True),  # 90 s of refresh under a 5 s lock
        (5.0, RetryPolicy(deadline=4.0), False),
        (5.0, None, True),  # one attempt of 10 s
        (90.0, RetryPolicy(), False),
    ],
)
def test_a_store_lock_shorter_than_the_clients_longest_refresh_is_logged(
    driver: Driver,
    caplog: pytest.LogCaptureFixture,
    lock_timeout: float,
    retry: RetryPolicy | None,
    warned: bool,
) -> None:
    from tests._provider_support import AsyncMemoryStore

    client = driver.client(Recorder(), retry=retry)
    store = MemoryStore(lock_timeout=lock_timeout)
    shared: Any = AsyncMemoryStore(store) if driver.mode == "async" else store
    with caplog.at_level("INFO", logger="authing_wechat"):
        client.token_provider(app_id="wx1", app_secret=SECRET, store=shared)
        client.token_provider(app_id="wx1", app_secret=SECRET, store=shared)  # the same one
    lines = [r.getMessage() for r in caplog.records if "lock_timeout" in r.getMessage()]
    assert len(lines) == (1 if warned else 0)
    assert all(SECRET not in line for line in lines)
