"""An attempt is bounded as a whole, body included, and so is its body's size."""

from __future__ import annotations

import asyncio
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingError,
    AuthingResponseError,
    AuthingTimeoutError,
    RetryPolicy,
    WechatAccessToken,
    WechatTokenClient,
)

from tests._support import POLL_SECONDS, SECRET, Driver, Recorder, TokenHandler, envelope

MIB = 1024 * 1024


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that counts how much of it the client pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


@pytest.mark.parametrize("announced", [True, False])
def test_a_huge_body_fails_as_a_response_error_without_being_read(
    driver: Driver, announced: bool
) -> None:
    stream = _Chunks(b"x" * 65536, count=160)  # 10 MiB
    headers = {"content-length": str(10 * MIB)} if announced else {}
    recorder = Recorder(lambda request: httpx.Response(200, headers=headers, stream=stream))
    client = driver.client(recorder, retry=RetryPolicy(jitter=False))
    with pytest.raises(AuthingResponseError, match="larger than"):
        driver.fetch(client)
    assert len(recorder.requests) == 1  # not retried: it would be as large again
    # Announced: refused before the first chunk; streamed: cut off just past the cap.
    assert stream.pulled == (0 if announced else 5)


def test_a_body_just_under_the_cap_is_read(driver: Driver) -> None:
    padding = "p" * (200 * 1024)
    body = envelope()
    body["padding"] = padding  # unknown fields are allowed
    client = driver.client(Recorder(lambda request: httpx.Response(200, json=body)))
    assert driver.fetch(client).access_token


class _DripHandler(socketserver.BaseRequestHandler):
    """Drips one byte every 25 ms (httpx's timeouts are per read, so none ever trips).

    The body only (headers at once), or the whole answer from its status line on.
    """

    server: _DripServer

    def handle(self) -> None:
        self.request.recv(65536)
        body = b'{"statusCode":200,"message":"ok","data":{"accessToken":"t","expiresAt":"9"}}'
        body += b" " * 150  # about 5 s of dripping in all
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        dripped = head + body
        if not self.server.drip_headers:
            self.request.sendall(head)
            dripped = body
        self.server.connections += 1
        try:
            for index in range(len(dripped)):
                self.request.sendall(dripped[index : index + 1])
                if self.server.stop.wait(0.025):
                    return
        except OSError:
            self.server.hung_up += 1  # the client closed the connection mid-answer
            if self.server.drip_headers and index < len(head):
                self.server.hung_up_in_head += 1
            return
        self.server.completed += 1


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, drip_headers: bool) -> None:
        super().__init__(("127.0.0.1", 0), _DripHandler)
        self.drip_headers = drip_headers
        self.stop = threading.Event()
        self.connections = self.hung_up = self.hung_up_in_head = self.completed = 0


@pytest.fixture(params=["body", "headers"])
def drip_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, _DripServer]]:
    server = _DripServer(drip_headers=request.param == "headers")
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_dripping_body_ends_the_attempt_at_its_timeout(
    driver: Driver, drip_url: tuple[str, _DripServer]
) -> None:
    url, server = drip_url
    client = driver.client_for(url, timeout=0.3, retry=None)
    with pytest.raises(AuthingTimeoutError) as caught:
        driver.fetch(client)
    driver.close(client)
    assert caught.value.attempts == 1
    assert server.completed == 0
    if server.drip_headers:
        for _ in range(200):  # the server notices the hang-up on one of its next bytes
            if server.hung_up or server.stop.wait(0.01):
                break
        # Async: given up while the status line and headers were still dripping. Sync: they
        # are bounded per read (each byte came in time), the body by the attempt's time.
        assert server.hung_up_in_head == (1 if driver.mode == "async" else 0)


def test_the_deadline_bounds_a_call_whose_every_attempt_drips(
    driver: Driver, drip_url: tuple[str, _DripServer]
) -> None:
    url, server = drip_url
    if server.drip_headers and driver.mode == "sync":
        pytest.skip("the sync client bounds headers per read (test_a_dripping_body_ends_...)")
    policy = RetryPolicy(max_attempts=10, deadline=1.0, initial_backoff=0.01, budget=None)
    client = driver.client_for(url, timeout=0.3, retry=policy)
    with pytest.raises(AuthingTimeoutError) as caught:
        driver.fetch(client)
    driver.close(client)
    # About three 0.3 s attempts fit in the 1 s deadline; without the bound one took 5 s.
    assert 2 <= caught.value.attempts <= 4
    assert server.completed == 0


class _SlowHandler(TokenHandler):
    """Answers every request after 0.4 s: long enough to keep a one-connection pool busy."""

    delay = 0.4


@pytest.fixture
def slow_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def _burst(client: AsyncWechatTokenClient, calls: int) -> list[object]:
    async def one() -> object:
        try:
            return await client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
        except AuthingError as error:
            return error

    async with client:
        return await asyncio.gather(*(one() for _ in range(calls)))


def test_waiting_for_a_connection_does_not_count_against_the_attempts_timeout(
    slow_url: str,
) -> None:
    # One connection, three calls of 0.4 s each: the last waits 0.8 s for the connection,
    # longer than its 0.6 s timeout, and still succeeds: the wait is the pool's, bounded apart.
    client = AsyncWechatTokenClient(
        slow_url, "a", timeout=0.6, retry=None, max_connections=1, pool_timeout=5.0
    )
    outcomes = asyncio.run(_burst(client, 3))
    assert all(isinstance(outcome, WechatAccessToken) for outcome in outcomes), outcomes


def test_past_max_connections_a_call_waits_at_most_pool_timeout(slow_url: str) -> None:
    client = AsyncWechatTokenClient(
        slow_url, "a", timeout=2.0, retry=None, max_connections=1, pool_timeout=0.1
    )
    outcomes = asyncio.run(_burst(client, 2))
    tokens = [o for o in outcomes if isinstance(o, WechatAccessToken)]
    errors = [o for o in outcomes if isinstance(o, AuthingTimeoutError)]
    assert len(tokens) == 1
    assert len(errors) == 1
    assert "pool_timeout" in errors[0].message


def test_the_sync_client_takes_the_same_limits(slow_url: str) -> None:
    client = WechatTokenClient(slow_url, "a", retry=None, max_connections=1, pool_timeout=0.1)
    results: list[object] = []

    def one() -> None:
        try:
            results.append(client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET))
        except AuthingError as error:
            results.append(error)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert sorted(type(result).__name__ for result in results) == [
        "AuthingTimeoutError",
        "WechatAccessToken",
    ]


def test_an_attempt_whose_request_never_left_is_not_counted_as_a_request(driver: Driver) -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        port = probe.server_address[1]  # closed again below: nothing listens there
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.0, max_backoff=0.0, budget=None)
    client = driver.client_for(f"http://127.0.0.1:{port}", retry=policy)
    with pytest.raises(AuthingError) as caught:
        driver.fetch(client)
    driver.close(client)
    assert caught.value.attempts == 0  # three connection attempts, no request reached a server


def test_an_attempt_cut_by_a_stalled_event_loop_before_sending_is_not_a_request(
    slow_url: str,
) -> None:
    async def stall() -> None:
        await asyncio.sleep(0)
        time.sleep(0.3)  # noqa: ASYNC251 - the point: a busy loop, the attempt times out unsent

    async def call() -> BaseException | None:
        async with AsyncWechatTokenClient(slow_url, "a", timeout=0.1, retry=None) as client:
            outcome = await asyncio.gather(
                client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET),
                stall(),
                return_exceptions=True,
            )
        return outcome[0] if isinstance(outcome[0], BaseException) else None

    error = asyncio.run(call())
    assert isinstance(error, AuthingTimeoutError)
    assert error.attempts == 0
