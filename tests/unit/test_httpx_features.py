"""httpx's own features reach every call: event hooks and mounts of a caller's client, and the
event hooks httpx gives the client the package builds (it is an ordinary ``httpx.Client``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from authing_wechat import RetryPolicy
from authing_wechat.testing import SUCCESSOR_PATH, FakeClock

from tests._support import APP_HOST, SECRET, TOKEN, Driver, Recorder, envelope

RETRY = RetryPolicy(max_attempts=3, jitter=False, budget=None)


def test_a_callers_event_hooks_see_every_attempt(driver: Driver) -> None:
    seen: list[str] = []
    answers = [httpx.Response(503, json=envelope(503)), httpx.Response(200, json=envelope())]
    http = driver.http_client(
        transport=httpx.MockTransport(Recorder(answers)),
        on_request=lambda request: seen.append(f"> {request.method} {request.url.path}"),
        on_response=lambda response: seen.append(f"< {response.status_code}"),
    )
    client = driver.client(http_client=http, retry=RETRY, clock=FakeClock())
    assert driver.fetch(client).attempts == 2
    assert seen == [f"> POST {SUCCESSOR_PATH}", "< 503", f"> POST {SUCCESSOR_PATH}", "< 200"]


def test_a_callers_mount_routes_the_request(driver: Driver) -> None:
    mounted = Recorder()
    transport: Any = httpx.MockTransport(mounted)
    unused = Recorder()
    kind = httpx.Client if driver.mode == "sync" else httpx.AsyncClient
    http = kind(transport=httpx.MockTransport(unused), mounts={APP_HOST: transport})
    assert driver.fetch(driver.client(http_client=http)).access_token == TOKEN
    assert (len(mounted.requests), len(unused.requests)) == (1, 0)


def test_plain_respx_sees_the_own_clients_calls_and_no_secret_in_its_log(
    driver: Driver,
) -> None:
    with respx.mock(base_url=APP_HOST) as router:
        route = router.post(SUCCESSOR_PATH).mock(
            side_effect=[httpx.Response(502), httpx.Response(200, json=envelope())]
        )
        client = driver.client_for(APP_HOST, retry=RETRY, clock=FakeClock())
        token = driver.fetch(client)
        driver.close(client)
    assert (route.call_count, token.attempts) == (2, 2)
    sent = route.calls.last.request
    assert sent.headers["x-authing-app-id"] == "authing-app"
    assert SECRET in sent.content.decode()  # respx read the body: the server's view


@pytest.mark.parametrize("read_in_hook", [False, True])
def test_the_body_is_read_once_whether_or_not_a_hook_read_it(
    driver: Driver, read_in_hook: bool
) -> None:
    # A response hook may read the body (httpx's way); the package reads it otherwise.
    def hook(response: httpx.Response) -> None:
        if read_in_hook and driver.mode == "sync":
            response.read()

    async def ahook(response: httpx.Response) -> None:
        if read_in_hook:
            await response.aread()

    def stream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(httpx.Response(200, json=envelope()).content)
        )

    hooks: dict[str, Any] = {"response": [hook if driver.mode == "sync" else ahook]}
    kind = httpx.Client if driver.mode == "sync" else httpx.AsyncClient
    http = kind(transport=httpx.MockTransport(stream), event_hooks=hooks)
    assert driver.fetch(driver.client(http_client=http)).access_token == TOKEN
