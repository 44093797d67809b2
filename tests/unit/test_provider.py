"""Token providers: cache, margin, bounded refresh, failure fallback, single flight."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingAPIError,
    RetryBudget,
    RetryPolicy,
    WechatTokenClient,
    WechatTokenProvider,
)
from authing_wechat._clock import FakeClock

from tests._support import APP_HOST, SECRET, Driver, Recorder, envelope


class TokenServer:
    """Hands out numbered tokens expiring ``lifetime`` seconds after the fake clock's now."""

    def __init__(self, clock: FakeClock, lifetime: float = 7200) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.fail_with: int | None = None
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, json=envelope(self.fail_with, message="down"))
        data = {
            "accessToken": f"token-{self.count}",
            "expiresAt": str(int(self.clock.time() + self.lifetime)),
        }
        return httpx.Response(200, json=envelope(data=data))


def _provider(driver: Driver, server: TokenServer, **kwargs: Any) -> Any:
    client = driver.client(Recorder(server), clock=server.clock, retry=kwargs.pop("retry", None))
    return client.token_provider(app_id="wx1", app_secret=SECRET, **kwargs)


def test_serves_from_memory_until_the_margin(driver: Driver) -> None:
    server = TokenServer(FakeClock(), lifetime=7200)
    provider = _provider(driver, server)
    first = driver.run(provider.get())
    for _ in range(100):
        assert driver.run(provider.get()) is first
    assert server.count == 1
    server.clock.advance(7200 - 300 - 1)
    assert driver.run(provider.get()) is first
    server.clock.advance(1)
    assert driver.run(provider.get()).access_token == "token-2"
    assert server.count == 2


def test_a_token_inside_the_margin_is_not_refetched_on_every_call(driver: Driver) -> None:
    server = TokenServer(FakeClock(), lifetime=100)  # already inside the 300 s margin
    provider = _provider(driver, server, min_refresh_interval=30)
    token = driver.run(provider.get())
    for _ in range(1000):
        assert driver.run(provider.get()) is token
    assert server.count == 1
    server.clock.advance(30)
    driver.run(provider.get())
    assert server.count == 2


def test_a_failed_refresh_serves_the_still_valid_token(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    server = TokenServer(FakeClock(), lifetime=400)
    provider = _provider(driver, server)
    token = driver.run(provider.get())
    server.clock.advance(200)  # inside the margin, 200 s left
    server.fail_with = 503
    caplog.set_level(logging.WARNING, logger="authing_wechat")
    assert driver.run(provider.get()) is token
    assert "serving the cached token" in caplog.text
    assert SECRET not in caplog.text
    assert token.access_token not in caplog.text
    requests = server.count
    assert driver.run(provider.get()) is token  # no new request before min_refresh_interval
    assert server.count == requests


def test_an_expired_token_is_never_returned(driver: Driver) -> None:
    server = TokenServer(FakeClock(), lifetime=400)
    provider = _provider(driver, server)
    driver.run(provider.get())
    server.fail_with = 503
    server.clock.advance(400)
    with pytest.raises(AuthingAPIError):
        driver.run(provider.get())


def test_first_fetch_failure_raises(driver: Driver) -> None:
    server = TokenServer(FakeClock())
    server.fail_with = 401
    with pytest.raises(AuthingAPIError) as caught:
        driver.run(_provider(driver, server).get())
    assert caught.value.http_status == 401


def test_invalidate_refetches_once_per_bad_token(driver: Driver) -> None:
    server = TokenServer(FakeClock())
    provider = _provider(driver, server)
    bad = driver.run(provider.get())
    provider.invalidate(bad)
    fresh = driver.run(provider.get())
    assert fresh.access_token == "token-2"
    provider.invalidate(bad)  # a late report of the old token drops nothing
    assert driver.run(provider.get()) is fresh
    provider.invalidate()
    assert driver.run(provider.get()).access_token == "token-3"


def test_one_provider_per_app_sharing_the_clients_pool_and_budget(driver: Driver) -> None:
    clock = FakeClock()
    server = TokenServer(clock)
    recorder = Recorder(server)
    policy = RetryPolicy(jitter=False, budget=RetryBudget(max_tokens=4))
    client = driver.client(recorder, clock=clock, retry=policy)
    one = client.token_provider(app_id="wx1", app_secret=SECRET)
    assert client.token_provider(app_id="wx1", app_secret=SECRET) is one
    with pytest.raises(ValueError, match="already has a token provider"):
        client.token_provider(app_id="wx1", app_secret="another-secret")
    with pytest.raises(ValueError, match="already has a token provider"):
        client.token_provider(app_id="wx1", app_secret="秘密")  # non-ASCII compares too
    with pytest.raises(ValueError, match="already has a token provider"):
        client.token_provider(app_id="wx1", app_secret=SECRET, refresh_margin=10)
    two = client.token_provider(app_id="wx2", app_secret=SECRET)
    assert two is not one
    server.fail_with = 503
    for _ in range(3):  # drain the client's budget through one provider
        with pytest.raises(AuthingAPIError):
            driver.run(one.get())
    with pytest.raises(AuthingAPIError) as caught:
        driver.run(two.get())
    assert caught.value.attempts == 1  # the other provider sees the same, drained budget
    assert {r.url.host for r in recorder.requests} == {"example.authing.cn"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"app_secret": " "}, ValueError),
        ({"app_id": ""}, ValueError),
        ({"refresh_margin": -1}, ValueError),
        ({"refresh_margin": float("inf")}, ValueError),
        ({"min_refresh_interval": "30"}, TypeError),
    ],
)
def test_provider_arguments_are_checked(
    driver: Driver, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    client = driver.client()
    args: dict[str, Any] = {"app_id": "wx1", "app_secret": SECRET, **kwargs}
    with pytest.raises(error):
        client.token_provider(**args)


def test_provider_repr_holds_no_secret(driver: Driver) -> None:
    provider = _provider(driver, TokenServer(FakeClock()))
    assert "wx1" in repr(provider)
    assert SECRET not in repr(provider)


class HeldServer(TokenServer):
    """A ``TokenServer`` whose answers wait for ``release``, so that callers pile up."""

    def __init__(self) -> None:
        super().__init__(FakeClock())
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        self.release.wait(5)
        return super().__call__(request)


def _get_together(
    server: HeldServer, callers: int
) -> tuple[WechatTokenProvider, list[str | AuthingAPIError]]:
    """Start ``callers`` threads on one provider at once; release the server once one asks."""
    http = httpx.Client(transport=httpx.MockTransport(server))
    client = WechatTokenClient(APP_HOST, "a", retry=None, http_client=http, clock=server.clock)
    provider = client.token_provider(app_id="wx1", app_secret=SECRET)
    start = threading.Barrier(callers + 1)
    results: list[str | AuthingAPIError] = []

    def get() -> None:
        start.wait()
        try:
            results.append(provider.get().access_token)
        except AuthingAPIError as error:
            results.append(error)

    threads = [threading.Thread(target=get) for _ in range(callers)]
    for thread in threads:
        thread.start()
    start.wait()
    assert server.entered.wait(5)
    server.release.set()
    for thread in threads:
        thread.join(5)
    return provider, results


def test_threads_share_one_refresh() -> None:
    server = HeldServer()
    _, results = _get_together(server, 32)
    assert results == ["token-1"] * 32
    assert server.count == 1


async def _get_together_async(server: TokenServer, tasks: int) -> list[Any]:
    """Start ``tasks`` tasks on one provider; the server answers once all reached it."""
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return server(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    client = AsyncWechatTokenClient(APP_HOST, "a", retry=None, http_client=http, clock=server.clock)
    provider = client.token_provider(app_id="wx1", app_secret=SECRET)
    pending = [asyncio.create_task(provider.get()) for _ in range(tasks)]
    await asyncio.sleep(0)  # let every task reach the provider before the answer comes
    release.set()
    return await asyncio.gather(*pending, return_exceptions=True)


@pytest.mark.anyio
async def test_tasks_share_one_refresh() -> None:
    server = TokenServer(FakeClock())
    tokens = await _get_together_async(server, 1000)
    assert {t.access_token for t in tokens} == {"token-1"}
    assert server.count == 1


def test_threads_against_the_mock_server_make_one_request() -> None:
    from authing_wechat.testing import SUCCESSOR_PATH, Fault, run_mock_server

    with run_mock_server() as handle:
        # The first answer is held back so that every thread asks while it is in flight.
        handle.server.add_fault(SUCCESSOR_PATH, Fault.delay(0.2))
        with WechatTokenClient(handle.url, "a") as client:
            provider = client.token_provider(app_id="wx1", app_secret=SECRET)
            start = threading.Barrier(50)
            tokens: list[str] = []

            def get() -> None:
                start.wait()
                tokens.append(provider.get().access_token)

            threads = [threading.Thread(target=get) for _ in range(50)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        assert len(tokens) == 50
        assert len(set(tokens)) == 1
        assert handle.server.request_count(SUCCESSOR_PATH) == 1


@pytest.mark.anyio
async def test_tasks_against_the_mock_server_make_one_request() -> None:
    from authing_wechat.testing import SUCCESSOR_PATH, Fault, run_mock_server

    with run_mock_server() as handle:
        handle.server.add_fault(SUCCESSOR_PATH, Fault.delay(0.2))
        async with AsyncWechatTokenClient(handle.url, "a") as client:
            provider = client.token_provider(app_id="wx1", app_secret=SECRET)
            tokens = await asyncio.gather(*(provider.get() for _ in range(1000)))
        assert len({t.access_token for t in tokens}) == 1
        assert handle.server.request_count(SUCCESSOR_PATH) == 1


def test_a_failed_cold_refresh_is_shared_by_its_waiters_not_repeated() -> None:
    server = HeldServer()
    server.fail_with = 503
    provider, results = _get_together(server, 20)
    assert len(results) == 20
    assert all(isinstance(result, AuthingAPIError) for result in results)
    # Callers that were waiting got the one failure; at most a straggler that arrived after
    # it asks again.
    assert server.count <= 2
    server.fail_with = None
    assert provider.get().access_token.startswith("token-")  # a later call tries afresh


@pytest.mark.anyio
async def test_a_failed_cold_refresh_is_shared_by_waiting_tasks() -> None:
    server = TokenServer(FakeClock())
    server.fail_with = 503
    results = await _get_together_async(server, 100)
    assert all(isinstance(r, AuthingAPIError) for r in results)
    assert server.count == 1
