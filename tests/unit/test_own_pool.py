"""The clients' own pools honour the environment's proxies as ``httpx.Client()`` does."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from authing_wechat import AuthingConnectionError, WechatAccessToken

from tests._support import Driver, TokenHandler, serving

APP = "http://authing.invalid"  # never resolves: only a proxy can reach it
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _ProxyHandler(TokenHandler):
    """A forward proxy that answers every request itself, keeping the request lines."""

    server: _ProxyServer

    def do_POST(self) -> None:
        self.server.targets.append(self.path)
        super().do_POST()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.targets: list[str] = []


def _fetch(driver: Driver) -> WechatAccessToken:
    return driver.fetch_once(driver.client_for(APP, allow_insecure_http=True, retry=None))


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ProxyServer]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = _ProxyServer()
    with serving(server):
        yield server


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_the_own_pool_goes_through_the_environments_proxy(
    driver: Driver, proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.server_address[1]}")
    assert _fetch(driver).attempts == 1
    assert proxy.targets == [f"{APP}/api/v3/get-wechat-access-token-info"]


@pytest.mark.parametrize("no_proxy", ["authing.invalid", ".invalid", "*", "a.example, .invalid"])
def test_no_proxy_sends_the_own_pool_straight_to_the_host(
    driver: Driver, proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with pytest.raises(AuthingConnectionError):
        _fetch(driver)  # .invalid never resolves
    assert proxy.targets == []


def test_a_proxy_for_the_other_scheme_is_not_used(
    driver: Driver, proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    with pytest.raises(AuthingConnectionError):
        _fetch(driver)
    assert proxy.targets == []
