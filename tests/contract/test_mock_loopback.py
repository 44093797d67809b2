"""The loopback server (``run_mock_server``) and the in-process ``MockAuthingTransport``.

Raw sockets check the HTTP/1.1 framing itself: keep-alive, pipelining, chunked bodies,
``Expect: 100-continue``, HTTP/1.0, and the 4xx answers to requests it will not parse.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
    MockServerHandle,
    run_mock_server,
)

HEADERS = {"x-authing-app-id": "authing-app"}
BODY = {"appId": "wx-loop", "appSecret": "loop-secret"}
RAW_BODY = json.dumps(BODY).encode()


def raw_request(
    path: str = SUCCESSOR_PATH,
    *,
    method: str = "POST",
    body: bytes = RAW_BODY,
    extra: bytes = b"",
    version: bytes = b"HTTP/1.1",
) -> bytes:
    head = b"%s %s %s\r\nHost: 127.0.0.1\r\nx-authing-app-id: app\r\n" % (
        method.encode(),
        path.encode(),
        version,
    )
    framing = b"Content-Length: %d\r\n" % len(body) if body else b""
    return head + framing + extra + b"\r\n" + body


def read_response(
    sock: socket.socket, buffer: bytearray, *, head: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """Read one response off ``sock`` (leftovers stay in ``buffer``); ``head``: to a HEAD."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        buffer += chunk
    response_head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status_line, *lines = response_head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    status = int(status_line.split(" ")[1])
    length = 0 if status == 100 or head else int(headers.get("content-length", "0"))
    buffer[:] = rest
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return status, headers, body


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class _StuckClock(FakeClock):
    """A clock whose ``asleep`` never returns: a delay that outlasts any timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.cancelled = threading.Event()

    async def asleep(self, seconds: float) -> None:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def handle(clock: FakeClock) -> Iterator[MockServerHandle]:
    with run_mock_server(MockAuthingServer(clock=clock)) as running:
        yield running


@pytest.fixture
def sock(handle: MockServerHandle) -> Iterator[socket.socket]:
    with socket.create_connection((handle.host, handle.port), timeout=10) as connected:
        yield connected


# --- run_mock_server ------------------------------------------------------------------------


def test_the_handle_names_a_free_loopback_port_and_the_server() -> None:
    server = MockAuthingServer()
    with run_mock_server(server) as running:
        assert running.server is server
        assert running.host == "127.0.0.1"
        assert running.port > 0
        assert running.url == f"http://127.0.0.1:{running.port}"
        response = httpx.post(running.url + SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert response.status_code == 200
    assert server.request_count() == 1
    with run_mock_server() as default:
        assert isinstance(default.server, MockAuthingServer)


def test_a_taken_port_raises(handle: MockServerHandle) -> None:
    with pytest.raises(OSError, match="in use"), run_mock_server(port=handle.port):
        pass  # pragma: no cover - never reached


def test_httpx_reuses_one_connection(handle: MockServerHandle) -> None:
    ports = set()
    with httpx.Client(base_url=handle.url) as client:
        for _ in range(20):
            response = client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
            assert response.status_code == 200
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("socket").getsockname()[1])
    assert len(ports) == 1


def test_the_same_socket_serves_many_requests(sock: socket.socket) -> None:
    buffer = bytearray()
    tokens = set()
    for _ in range(5):
        sock.sendall(raw_request())
        status, headers, body = read_response(sock, buffer)
        assert status == 200
        assert "connection" not in headers
        tokens.add(json.loads(body)["data"]["accessToken"])
    assert len(tokens) == 1


def test_pipelined_requests_are_answered_in_order(sock: socket.socket) -> None:
    sock.sendall(
        raw_request(method="HEAD", body=b"") + raw_request(DEPRECATED_PATH) + raw_request()
    )
    buffer = bytearray()
    head_status, head_headers, head_body = read_response(sock, buffer, head=True)
    assert (head_status, head_body) == (405, b"")
    assert int(head_headers["content-length"]) > 0  # the length of the body a GET would get
    legacy = read_response(sock, buffer)
    successor = read_response(sock, buffer)
    assert (legacy[0], successor[0]) == (200, 200)
    assert "deprecation" in legacy[1]
    assert "deprecation" not in successor[1]


def test_a_long_pipeline_is_answered_whole() -> None:
    # About 2.4 MB: more than the server buffers while busy, so it pauses reading, then resumes.
    count = 12_000
    server = MockAuthingServer(max_recorded=0)
    with (
        run_mock_server(server) as running,
        socket.create_connection((running.host, running.port), timeout=30) as sock,
    ):
        sock.sendall(raw_request() * count)
        buffer = bytearray()
        statuses = {read_response(sock, buffer)[0] for _ in range(count)}
    assert statuses == {200}
    assert server.request_count() == count


def test_connection_close_is_honoured(sock: socket.socket) -> None:
    sock.sendall(raw_request(extra=b"Connection: close\r\n"))
    status, headers, _ = read_response(sock, bytearray())
    assert status == 200
    assert headers["connection"] == "close"
    assert closed_by_peer(sock)


def test_http_1_0_gets_one_answer_then_a_close(sock: socket.socket) -> None:
    sock.sendall(raw_request(version=b"HTTP/1.0"))
    buffer = bytearray()
    while not closed_by_peer_or_read(sock, buffer):
        pass
    assert buffer.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"connection: close\r\n" in buffer


def closed_by_peer_or_read(sock: socket.socket, buffer: bytearray) -> bool:
    chunk = sock.recv(65536)
    buffer += chunk
    return not chunk


def test_chunked_bodies_are_decoded(sock: socket.socket) -> None:
    half = len(RAW_BODY) // 2
    chunks = b"%x;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nTrailer: x\r\n\r\n" % (
        half,
        RAW_BODY[:half],
        len(RAW_BODY) - half,
        RAW_BODY[half:],
    )
    head = raw_request(body=b"", extra=b"Transfer-Encoding: chunked\r\n")
    sock.sendall(head + chunks[:7])
    sock.sendall(chunks[7:])
    status, _, body = read_response(sock, bytearray())
    assert status == 200
    assert json.loads(body)["statusCode"] == 200


def test_expect_100_continue_is_answered_before_the_body(sock: socket.socket) -> None:
    request = raw_request(extra=b"Expect: 100-continue\r\n")
    head, body = request[: -len(RAW_BODY)], request[-len(RAW_BODY) :]
    sock.sendall(head)
    buffer = bytearray()
    assert read_response(sock, buffer)[0] == 100
    sock.sendall(body)
    assert read_response(sock, buffer)[0] == 200


def test_a_body_sent_in_pieces_is_waited_for(sock: socket.socket) -> None:
    request = raw_request()
    for start in range(0, len(request), 7):
        sock.sendall(request[start : start + 7])
    assert read_response(sock, bytearray())[0] == 200


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /x\r\n\r\n", 400),
        (b"POST /x HTTP/2.0\r\n\r\n", 400),
        (b"POST x HTTP/1.1\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd", 400),
        (b"POST /x HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"POST /x HTTP/1.1\r\nX: " + b"a" * 70_000, 431),
    ],
)
def test_malformed_requests_get_a_4xx_and_a_close(
    sock: socket.socket, request_bytes: bytes, status: int
) -> None:
    sock.sendall(request_bytes)
    answered, headers, body = read_response(sock, bytearray())
    assert answered == status
    assert headers["connection"] == "close"
    assert json.loads(body)["statusCode"] == status
    assert closed_by_peer(sock)


def test_absolute_targets_are_routed_and_star_is_not_found(sock: socket.socket) -> None:
    sock.sendall(raw_request("http://127.0.0.1" + SUCCESSOR_PATH + "?x=1"))
    buffer = bytearray()
    assert read_response(sock, buffer)[0] == 200
    sock.sendall(raw_request("*", method="OPTIONS", body=b""))
    assert read_response(sock, buffer)[0] == 404


def test_drop_closes_the_socket_without_an_answer(handle: MockServerHandle) -> None:
    handle.server.add_fault(SUCCESSOR_PATH, Fault.drop())
    with httpx.Client(base_url=handle.url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS).status_code == 200


def test_delays_use_the_servers_clock(handle: MockServerHandle, clock: FakeClock) -> None:
    handle.server.add_fault(SUCCESSOR_PATH, Fault.delay(30))
    response = httpx.post(handle.url + SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    assert response.status_code == 200
    assert clock.sleeps == [30.0]


def test_stopping_closes_idle_and_busy_connections() -> None:
    clock = _StuckClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(1))
    with run_mock_server(server) as running:
        idle = socket.create_connection((running.host, running.port), timeout=10)
        busy = socket.create_connection((running.host, running.port), timeout=10)
        idle.sendall(raw_request(DEPRECATED_PATH))
        assert read_response(idle, bytearray())[0] == 200
        busy.sendall(raw_request())
        assert clock.entered.wait(10)
    with idle, busy:
        assert closed_by_peer(idle)
        assert closed_by_peer(busy)


def test_a_client_that_hangs_up_cancels_its_pending_answer() -> None:
    clock = _StuckClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60))
    with run_mock_server(server) as running:
        with socket.create_connection((running.host, running.port), timeout=10) as sock:
            sock.sendall(raw_request())
            assert clock.entered.wait(10)
        assert clock.cancelled.wait(10)
        response = httpx.post(running.url + SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert response.status_code == 200


@pytest.mark.anyio
async def test_concurrent_async_clients_share_one_token(handle: MockServerHandle) -> None:
    async with httpx.AsyncClient(base_url=handle.url) as client:
        responses = await asyncio.gather(
            *(client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS) for _ in range(100))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["accessToken"] for r in responses}) == 1
    assert handle.server.tokens_issued == 1


# --- MockAuthingTransport ---------------------------------------------------------------------


def test_the_transport_serves_sync_clients() -> None:
    server = MockAuthingServer()
    transport = MockAuthingTransport(server)
    assert isinstance(transport, httpx.ASGITransport)
    with httpx.Client(transport=transport, base_url="http://mock") as client:
        response = client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert response.status_code == 200
        assert response.elapsed.total_seconds() >= 0  # set, like a network response's
        server.add_fault(SUCCESSOR_PATH, Fault.drop())
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
    assert server.request_count() == 2
    transport.close()  # closing twice is harmless


@pytest.mark.anyio
async def test_the_transport_serves_async_clients_and_makes_its_own_server() -> None:
    transport = MockAuthingTransport()
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        response = await client.post(DEPRECATED_PATH, json=BODY, headers=HEADERS)
    assert response.status_code == 200
    assert response.headers["deprecation"]
    assert transport.server.request_count(DEPRECATED_PATH) == 1


def test_the_transport_honours_the_sync_read_timeout() -> None:
    server = MockAuthingServer(clock=_StuckClock())
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60))
    transport = MockAuthingTransport(server)
    with httpx.Client(transport=transport, base_url="http://mock", timeout=0.01) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS).status_code == 200


@pytest.mark.anyio
async def test_the_transport_honours_the_async_read_timeout() -> None:
    server = MockAuthingServer(clock=_StuckClock())
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60))
    transport = MockAuthingTransport(server)
    async with httpx.AsyncClient(transport=transport, base_url="http://m", timeout=0.01) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)
        assert (await client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS)).status_code == 200
