"""An attempt is bounded as a whole, body included, and so is its body's size."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authing_wechat import AuthingResponseError, AuthingTimeoutError, RetryPolicy

from tests._support import Driver, Recorder, envelope

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
    """Headers at once, then the body one byte every 25 ms (httpx's timeouts are per read)."""

    server: _DripServer

    def handle(self) -> None:
        self.request.recv(65536)
        body = b'{"statusCode":200,"message":"ok","data":{"accessToken":"t","expiresAt":"9"}}'
        body += b" " * 150  # about 5 s of dripping in all
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        self.server.connections += 1
        try:
            for index in range(len(body)):
                self.request.sendall(body[index : index + 1])
                if self.server.stop.wait(0.025):
                    return
        except OSError:
            self.server.hung_up += 1  # the client closed the connection mid-body
            return
        self.server.completed += 1


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _DripHandler)
        self.stop = threading.Event()
        self.connections = self.hung_up = self.completed = 0


@pytest.fixture
def drip_url() -> Iterator[tuple[str, _DripServer]]:
    server = _DripServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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


def test_the_deadline_bounds_a_call_whose_every_attempt_drips(
    driver: Driver, drip_url: tuple[str, _DripServer]
) -> None:
    url, server = drip_url
    policy = RetryPolicy(max_attempts=10, deadline=1.0, initial_backoff=0.01, budget=None)
    client = driver.client_for(url, timeout=0.3, retry=policy)
    with pytest.raises(AuthingTimeoutError) as caught:
        driver.fetch(client)
    driver.close(client)
    # About three 0.3 s attempts fit in the 1 s deadline; without the bound one took 5 s.
    assert 2 <= caught.value.attempts <= 4
    assert server.completed == 0
