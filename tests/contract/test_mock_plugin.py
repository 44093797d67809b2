"""The pytest plugin, loaded through the package's ``pytest11`` entry point, used as users would."""

from __future__ import annotations

import inspect

import httpx
import pytest
from authing_wechat import WechatTokenClient
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
)

HEADERS = {"x-authing-app-id": "authing-app"}
BODY = {"appId": "wx-plugin", "appSecret": "plugin-secret"}


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("authing_wechat")
    assert plugin is not None
    assert plugin.__name__ == "authing_wechat.testing._pytest_plugin"


def test_each_test_gets_a_fresh_server(authing_mock_server: MockAuthingServer) -> None:
    assert isinstance(authing_mock_server, MockAuthingServer)
    assert authing_mock_server.request_count() == 0
    assert authing_mock_server.tokens_issued == 0


def test_the_transport_serves_the_same_server_to_sync_clients(
    authing_mock_server: MockAuthingServer, authing_mock_transport: MockAuthingTransport
) -> None:
    assert authing_mock_transport.server is authing_mock_server
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    with httpx.Client(transport=authing_mock_transport, base_url="http://mock") as client:
        first = client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        second = client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    assert (first.status_code, second.status_code) == (503, 200)
    assert authing_mock_server.request_count(SUCCESSOR_PATH) == 2


@pytest.mark.anyio
async def test_the_transport_serves_async_clients(
    authing_mock_server: MockAuthingServer, authing_mock_transport: MockAuthingTransport
) -> None:
    async with httpx.AsyncClient(transport=authing_mock_transport, base_url="http://m") as client:
        response = await client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    assert response.status_code == 200
    assert authing_mock_server.requests[0].app_id == "wx-plugin"


def test_the_url_is_a_loopback_server_of_the_same_app(
    authing_mock_server: MockAuthingServer,
    authing_mock_server_url: str,
    authing_mock_transport: MockAuthingTransport,
) -> None:
    assert authing_mock_server_url.startswith("http://127.0.0.1:")
    over_http = httpx.post(authing_mock_server_url + SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    with httpx.Client(transport=authing_mock_transport, base_url="http://mock") as client:
        in_process = client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    # One app object behind both: the second call gets the token the first one minted.
    assert over_http.json()["data"] == in_process.json()["data"]
    assert authing_mock_server.request_count() == 2


def test_the_plugin_docstring_example(
    authing_mock_server: MockAuthingServer, authing_mock_server_url: str
) -> None:
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    clock = FakeClock()
    with WechatTokenClient(authing_mock_server_url, "app-id", clock=clock) as client:
        token = client.get_wechat_mp_access_token_info(app_id="wx1", app_secret="s3cret")
    assert token.access_token == "mock-access-token-1"
    assert authing_mock_server.request_count(SUCCESSOR_PATH) == 2
    assert len(clock.sleeps) == 1


def test_the_testing_api_is_sorted_importable_and_documented() -> None:
    from authing_wechat import testing

    exported = testing.__all__
    # isort-style, as ruff's RUF022 keeps it: constants, then classes, then functions.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n[0].islower(), n))
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith(("_", "@")) and not inspect.ismodule(value)
    }
    assert set(exported) == public - {"annotations"}
    for name in exported:
        member = getattr(testing, name)
        if callable(member):
            assert inspect.getdoc(member), name
        for attribute, value in vars(member).items() if isinstance(member, type) else ():
            if not attribute.startswith("_") and callable(value):
                assert inspect.getdoc(value), f"{name}.{attribute}"
