"""The client the package builds: an ordinary ``httpx.Client`` / ``AsyncClient``, so the
environment's proxies, httpx's log line and timings are as httpx gives them; it keeps no
cookies, and a second answer written with the first is h11's to handle."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import socketserver
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    WechatAccessToken,
)
from authing_wechat.testing import SUCCESSOR_PATH

from tests._support import SECRET, Driver, TokenHandler, envelope, serving

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
def test_the_own_client_goes_through_the_environments_proxy(
    driver: Driver, proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.server_address[1]}")
    assert _fetch(driver).attempts == 1
    assert proxy.targets == [f"{APP}/api/v3/get-wechat-access-token-info"]


@pytest.mark.parametrize("no_proxy", ["authing.invalid", ".invalid", "*", "a.example, .invalid"])
def test_no_proxy_sends_the_own_client_straight_to_the_host(
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


class _Recording(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[TokenHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.cookies: list[str | None] = []


class _CookieSetter(TokenHandler):
    """Answers with a token and a load balancer's sticky cookie; keeps the Cookie headers."""

    server: _Recording

    def do_POST(self) -> None:
        self.server.cookies.append(self.headers.get("Cookie"))
        super().do_POST()

    def end_headers(self) -> None:
        self.send_header("Set-Cookie", "lb=sticky-7; Path=/")
        super().end_headers()


class _Unavailable(TokenHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"statusCode": 503, "message": "busy"}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _calls(driver: Driver, url: str, count: int) -> list[WechatAccessToken]:
    client = driver.client_for(url, retry=None)
    try:
        return [driver.fetch(client) for _ in range(count)]
    finally:
        driver.close(client)


def test_the_own_clients_keep_no_cookies(driver: Driver) -> None:
    server = _Recording(_CookieSetter)
    with serving(server) as address:
        if driver.mode == "async":  # one event loop for both calls: they share a connection
            client = driver.client_for(f"http://{address}", retry=None)

            async def twice() -> None:
                for _ in range(2):
                    await client.get_wechat_mp_access_token_info(app_id="wx1", app_secret=SECRET)
                await client.aclose()

            asyncio.run(twice())
        else:
            _calls(driver, f"http://{address}", 2)
    assert server.cookies == [None, None]


def test_the_own_clients_log_httpxs_request_line(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    with serving(server) as address, caplog.at_level(logging.INFO, logger="httpx"):
        driver.fetch_once(driver.client_for(f"http://{address}", retry=None))
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines == [f'HTTP Request: POST http://{address}{SUCCESSOR_PATH} "HTTP/1.1 200 OK"']


def test_an_error_from_the_own_clients_has_the_response_timed(driver: Driver) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    with serving(server) as address, pytest.raises(AuthingAPIError) as caught:
        driver.fetch_once(driver.client_for(f"http://{address}", retry=None))
    response = caught.value.response
    assert response is not None
    assert response.status_code == 503
    assert response.request.url.path == SUCCESSOR_PATH
    assert datetime.timedelta(0) < response.elapsed < datetime.timedelta(seconds=10)


def test_a_closed_client_sends_nothing(driver: Driver) -> None:
    server = _Recording(_CookieSetter)
    with serving(server) as address:
        client = driver.client_for(f"http://{address}", retry=None)
        if driver.mode == "async":

            async def call_close_call() -> None:
                await client.get_wechat_mp_access_token_info(app_id="wx1", app_secret=SECRET)
                await client.aclose()
                await client.get_wechat_mp_access_token_info(app_id="wx1", app_secret=SECRET)

            with pytest.raises(AuthingError, match="RuntimeError"):
                asyncio.run(call_close_call())
        else:
            driver.fetch(client)
            client.close()
            with pytest.raises(AuthingError, match="RuntimeError"):
                driver.fetch(client)
    assert len(server.cookies) == 1  # one request: none after close


class _ExtraAnswer(socketserver.BaseRequestHandler):
    """On the first connection: one good answer followed by a second, unasked-for response,
    and the connection kept open, unread. On the others: good answers, kept alive."""

    server: _ExtraAnswerServer

    def _read_request(self, buffer: bytes) -> bytes | None:
        while b"\r\n\r\n" not in buffer:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length: *(\d+)", head)
        assert found is not None
        length = int(found.group(1))
        while len(rest) < length:
            rest += self.request.recv(65536)
        self.server.requests += 1
        return rest[length:]

    def handle(self) -> None:
        first = self.server.connections == 0
        self.server.connections += 1
        body = json.dumps(envelope()).encode()
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        buffer = b""
        while (rest := self._read_request(buffer)) is not None:
            buffer = rest
            if first:
                self.request.sendall(answer + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")
                self.server.release.wait(10)  # open, and nothing more read from it
                return
            self.request.sendall(answer)


class _ExtraAnswerServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExtraAnswer)
        self.connections = self.requests = 0
        self.release = threading.Event()


def test_a_second_answer_written_with_the_first_fails_the_next_call_typed(
    driver: Driver,
) -> None:
    # h11 reads the extra response with the first answer and takes it for the next request's
    # answer (httpcore drops an idle connection only once it becomes readable): that call
    # fails as a malformed answer, typed, without a secret in it.
    server = _ExtraAnswerServer()
    with serving(server) as address:
        client = driver.client_for(f"http://{address}", retry=None)

        async def twice_async() -> list[object]:
            async with client:
                return [await _outcome_async(client) for _ in range(2)]

        try:
            if driver.mode == "async":
                outcomes = asyncio.run(twice_async())
            else:
                with client:
                    outcomes = [_outcome(driver, client) for _ in range(2)]
        finally:
            server.release.set()
    assert [type(o).__name__ for o in outcomes] == ["WechatAccessToken", "AuthingResponseError"]
    assert SECRET not in repr(outcomes[1])


def _outcome(driver: Driver, client: object) -> object:
    try:
        return driver.fetch(client)
    except AuthingError as error:
        return error


async def _outcome_async(client: AsyncWechatTokenClient) -> object:
    try:
        return await client.get_wechat_mp_access_token_info(app_id="wx1", app_secret=SECRET)
    except AuthingError as error:
        return error
