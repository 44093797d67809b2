"""How answers are carried out: over loopback (``run_mock_server``) and in-process
(``MockAuthingTransport``). Drops, framed short bodies and delays over both; keep-alive, TLS,
the connection counter and stopping over loopback; the client's timeout over both.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest
import trustme
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingTimeoutError,
    AuthingTLSError,
    RetryPolicy,
    WechatTokenClient,
)
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

from tests._support import MOCK_BODY, MOCK_HEADERS, HeldClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def handle(clock: FakeClock) -> Iterator[MockServerHandle]:
    with run_mock_server(MockAuthingServer(clock=clock)) as running:
        yield running


@pytest.fixture(params=["loopback", "in-process"])
def client(request: pytest.FixtureRequest, handle: MockServerHandle) -> Iterator[httpx.Client]:
    """An httpx client of ``handle.server``, over each of the two ways of serving it."""
    if request.param == "loopback":
        http = httpx.Client(base_url=handle.url)
    else:
        http = httpx.Client(transport=MockAuthingTransport(handle.server), base_url="http://m")
    with http:
        yield http


def post(client: httpx.Client, path: str = SUCCESSOR_PATH) -> httpx.Response:
    return client.post(path, json=MOCK_BODY, headers=MOCK_HEADERS)


# --- faults, carried out the same way by both ------------------------------------------------


def test_a_drop_closes_the_connection_before_any_byte(
    client: httpx.Client, handle: MockServerHandle
) -> None:
    handle.server.add_fault(SUCCESSOR_PATH, Fault.drop())
    with pytest.raises(httpx.RemoteProtocolError):
        post(client)
    assert post(client).status_code == 200
    assert [r.status for r in handle.server.requests] == [None, 200]


def test_a_truncated_body_is_framed_short(client: httpx.Client, handle: MockServerHandle) -> None:
    handle.server.add_fault(SUCCESSOR_PATH, Fault.truncated_json())
    response = post(client)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 0
    assert response.text.startswith('{"statusCode":200')
    assert not response.text.endswith("}")
    assert post(client).json()["statusCode"] == 200  # the connection is still good


def test_a_delay_waits_on_the_servers_clock(
    client: httpx.Client, handle: MockServerHandle, clock: FakeClock
) -> None:
    handle.server.add_fault(SUCCESSOR_PATH, Fault.delay(3))
    handle.server.add_fault(SUCCESSOR_PATH, Fault.status(503, delay=0.5))
    assert (post(client).status_code, post(client).status_code) == (200, 503)
    assert clock.sleeps == [3.0, 0.5]
    assert handle.server.clock is clock


# --- the client's timeout ------------------------------------------------------------------------


def test_a_delay_beyond_the_timeout_times_out_in_process_on_a_fake_clock() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60), times=None)
    http = httpx.Client(transport=MockAuthingTransport(server))
    retry = RetryPolicy(max_attempts=2)
    with (
        WechatTokenClient("http://127.0.0.1", "a", http_client=http, clock=clock, retry=retry) as c,
        pytest.raises(AuthingTimeoutError) as caught,
    ):
        c.get_wechat_mp_access_token_info(app_id="wx", app_secret="s")
    assert caught.value.attempts == 2
    # Each attempt waited out its 10 s timeout on the clock, without sleeping for it.
    assert clock.monotonic() == pytest.approx(20 + sum(clock.sleeps))
    assert len(clock.sleeps) == 1  # the backoff between the two attempts


@pytest.mark.anyio
async def test_the_async_client_times_out_in_process_too() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.drop(delay=30))
    http = httpx.AsyncClient(transport=MockAuthingTransport(server))
    async with AsyncWechatTokenClient(
        "http://127.0.0.1", "a", http_client=http, clock=clock, retry=None, timeout=5
    ) as c:
        with pytest.raises(AuthingTimeoutError):
            await c.get_wechat_mp_access_token_info(app_id="wx", app_secret="s")
    assert (clock.monotonic(), clock.sleeps) == (5.0, [])


def test_in_process_on_the_system_clock_the_timeout_really_passes() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60))
    transport = MockAuthingTransport(server)
    with httpx.Client(transport=transport, base_url="http://m", timeout=0.01) as client:
        with pytest.raises(httpx.ReadTimeout):
            post(client)
        assert post(client).status_code == 200


def test_a_server_stalling_over_loopback_trips_the_client_timeout() -> None:
    clock = HeldClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(60))
    with run_mock_server(server) as running, httpx.Client(base_url=running.url) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS, timeout=0.05)
        clock.release()
        assert post(client).status_code == 200


# --- loopback only ------------------------------------------------------------------------------


def test_the_handle_names_the_server_and_keep_alive_reuses_one_connection() -> None:
    server = MockAuthingServer()
    with run_mock_server(server) as running:
        assert (running.server, running.host) == (server, "127.0.0.1")
        assert running.url == f"http://127.0.0.1:{running.port}"
        with httpx.Client(base_url=running.url) as client:
            assert {post(client).status_code for _ in range(20)} == {200}
        assert running.connections == 1
        for _ in range(3):
            httpx.post(running.url + SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS)
        assert running.connections == 4
    with run_mock_server() as default:
        assert isinstance(default.server, MockAuthingServer)


def test_a_taken_port_raises(handle: MockServerHandle) -> None:
    with pytest.raises(OSError, match="in use"), run_mock_server(port=handle.port):
        pass  # pragma: no cover - never reached


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def test_tls_serves_https_with_the_given_certificate(authority: trustme.CA) -> None:
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(served)
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    clock = FakeClock()
    with run_mock_server(ssl_context=served) as running:
        assert running.url.startswith("https://127.0.0.1:")
        with httpx.Client(base_url=running.url, verify=trusted) as client:
            assert post(client).status_code == 200
        with (
            WechatTokenClient(running.url, "a", clock=clock) as ours,
            pytest.raises(AuthingTLSError),
        ):
            ours.get_wechat_mp_access_token_info(app_id="wx", app_secret="s")
        # The refused handshake is a connection, but no request.
        assert (running.connections, running.server.request_count()) == (2, 1)


def test_chunked_bodies_connection_close_and_head_are_served(handle: MockServerHandle) -> None:
    with httpx.Client(base_url=handle.url) as client:
        chunks = iter([b'{"appId": "wx",', b' "appSecret": "s"}'])
        assert client.post(SUCCESSOR_PATH, content=chunks, headers=MOCK_HEADERS).status_code == 200
        head = client.head(DEPRECATED_PATH)
        assert (head.status_code, head.content) == (405, b"")
        closing = client.post(
            SUCCESSOR_PATH, json=MOCK_BODY, headers={**MOCK_HEADERS, "connection": "close"}
        )
        assert (closing.status_code, closing.headers["connection"]) == (200, "close")
    for framing in (b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", b"Content-Length: -1\r\n\r\n"):
        with socket.create_connection((handle.host, handle.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\n" + framing)
            assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")


def test_stopping_closes_idle_and_busy_connections() -> None:
    clock = HeldClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(1))
    request = b"POST %s HTTP/1.1\r\nx-authing-app-id: a\r\ncontent-length: 2\r\n\r\n{}"
    with run_mock_server(server) as running:
        idle = socket.create_connection((running.host, running.port), timeout=10)
        busy = socket.create_connection((running.host, running.port), timeout=10)
        idle.sendall(request % DEPRECATED_PATH.encode())
        assert idle.recv(65536).startswith(b"HTTP/1.1 400 ")
        busy.sendall(request % SUCCESSOR_PATH.encode())
        assert clock.entered.wait(10)
    clock.release()
    with idle, busy:
        assert idle.recv(1) == busy.recv(1) == b""


@pytest.mark.anyio
async def test_concurrent_async_clients_share_one_token(handle: MockServerHandle) -> None:
    async with httpx.AsyncClient(base_url=handle.url) as client:
        responses = await asyncio.gather(
            *(client.post(SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS) for _ in range(50))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["accessToken"] for r in responses}) == 1
