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
