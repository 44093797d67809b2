"""An error status whose body passes the cap is that status's error: the status decides first.

The body is left unread past the cap (an announced ``Content-Length`` over it is not read at
all), and the error is retried as its status is, ``Retry-After`` honoured. A 2xx over the cap
stays an ``AuthingResponseError`` (see ``test_attempt_bounds``).
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import respx
from authing_wechat import AuthingAPIError, RetryPolicy
from authing_wechat._core._body import MAX_BODY_BYTES
from authing_wechat.testing import FakeClock

from tests._support import SECRET, Driver, Recorder, TokenHandler, envelope, serving

CHUNK = b"<p>busy</p>" * 5958  # 65,538 bytes of a proxy's error page
HUGE = 160  # chunks: about 10 MiB
POLICY = RetryPolicy(jitter=False, budget=None)


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that counts how much of it the client pulled."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(HUGE):
            self.pulled += 1
            yield CHUNK

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


def _huge(status: int, stream: _Chunks, *, announced: bool) -> httpx.Response:
    headers = {"retry-after": "3", "content-type": "text/html"}
    if announced:
        headers["content-length"] = str(HUGE * len(CHUNK))
    return httpx.Response(status, headers=headers, stream=stream)


def _pulled(announced: bool) -> int:
    # Announced: refused before the first chunk; streamed: cut off just past the cap.
    return 0 if announced else MAX_BODY_BYTES // len(CHUNK) + 1


@pytest.mark.parametrize("announced", [True, False])
def test_a_huge_503_is_a_503_retried_after_its_retry_after(driver: Driver, announced: bool) -> None:
    stream = _Chunks()
    recorder = Recorder(
        [_huge(503, stream, announced=announced), httpx.Response(200, json=envelope())]
    )
    clock = FakeClock()
    token = driver.fetch(driver.client(recorder, retry=POLICY, clock=clock))
    assert token.attempts == 2
    assert clock.sleeps == [3.0]
    assert stream.pulled == _pulled(announced)


@pytest.mark.parametrize("announced", [True, False])
def test_a_huge_error_body_gives_the_error_of_its_status(driver: Driver, announced: bool) -> None:
    stream = _Chunks()
    recorder = Recorder([_huge(503, stream, announced=announced)])
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(recorder, retry=None))
    error = caught.value
    assert (error.http_status, error.status_code, error.attempts) == (503, 503, 1)
    assert "larger than 262144 bytes; not read" in error.message
    assert SECRET not in repr(error)
    assert stream.pulled == _pulled(announced)


@pytest.mark.parametrize("announced", [True, False])
def test_a_huge_4xx_is_that_4xx_and_not_retried(driver: Driver, announced: bool) -> None:
    recorder = Recorder(lambda request: _huge(404, _Chunks(), announced=announced))
    clock = FakeClock()
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(recorder, retry=POLICY, clock=clock))
    assert caught.value.http_status == 404
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("announced", [True, False])
def test_the_clients_own_pool_under_respx_retries_a_huge_503(
    driver: Driver, announced: bool
) -> None:
    stream = _Chunks()
    clock = FakeClock()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(url__regex=r".*/get-wechat-access-token-info$")
        route.side_effect = [
            _huge(503, stream, announced=announced),
            httpx.Response(200, json=envelope()),
        ]
        client = driver.client(http_client=None, retry=POLICY, clock=clock)
        token = driver.fetch(client)
        driver.close(client)
    assert (token.attempts, route.call_count, clock.sleeps) == (2, 2, [3.0])
    assert stream.pulled == _pulled(announced)


# --- a real loopback server -------------------------------------------------------------------

BIG = 64 * 1024 * 1024  # past any loopback socket buffer: the server cannot finish writing it


class _HugeErrorHandler(TokenHandler):
    server: _HugeErrorServer

    def do_POST(self) -> None:
        server = self.server
        server.requests += 1
        if server.requests > 1:
            super().do_POST()
            return
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.send_header("Retry-After", "7")
        if server.announced:
            self.send_header("Content-Length", str(BIG))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"x" * 65536
        try:
            for _ in range(BIG // len(piece)):
                data = piece if server.announced else b"%x\r\n%b\r\n" % (len(piece), piece)
                self.wfile.write(data)
            server.finished += 1
        except OSError:
            server.hung_up += 1  # the client closed the connection: the rest was never read
        self.close_connection = True


class _HugeErrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, announced: bool) -> None:
        super().__init__(("127.0.0.1", 0), _HugeErrorHandler)
        self.announced = announced
        self.requests = self.finished = self.hung_up = 0


@pytest.fixture(params=["announced", "chunked"])
def huge_error_server(request: pytest.FixtureRequest) -> Iterator[_HugeErrorServer]:
    server = _HugeErrorServer(announced=request.param == "announced")
    with serving(server):
        yield server


def test_a_real_servers_huge_503_is_retried_and_left_unread(
    driver: Driver, huge_error_server: _HugeErrorServer
) -> None:
    server = huge_error_server
    clock = FakeClock()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    token = driver.fetch_once(driver.client_for(url, retry=POLICY, clock=clock))
    assert (token.attempts, server.requests, clock.sleeps) == (2, 2, [7.0])
    assert server.finished == 0
