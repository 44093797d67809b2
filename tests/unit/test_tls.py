"""TLS against a real loopback HTTPS server: certificates are verified, a bad one is final.

A caller's ``http_client`` is checked on each connection it sends on (httpx shows no
transports publicly): a route that does not verify is refused at send time with
``AuthingTLSError``, before the body (the secret) is written, and never retried.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme
from authing_wechat import AuthingTLSError, RetryPolicy, WechatTokenClient
from authing_wechat.testing import FakeClock

from tests._support import SECRET, Driver, TokenHandler, envelope, serving


class _RecordingHandler(TokenHandler):
    """Answers like ``TokenHandler`` and keeps every request it received, bytes and all."""

    server: _RecordingServer

    def received(self, body: bytes) -> None:
        self.server.received.append(str(self.headers).encode() + body)


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.received: list[bytes] = []

    @property
    def secret_seen(self) -> bool:
        return any(SECRET.encode() in request for request in self.received)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that refuses the connection resets it: expected here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(authority: trustme.CA) -> Iterator[_RecordingServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = _RecordingServer()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield server


@pytest.fixture
def https_url(https_server: _RecordingServer) -> str:
    return f"https://127.0.0.1:{https_server.server_address[1]}"


def _trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def test_an_unknown_certificate_authority_is_refused_at_once(https_url: str) -> None:
    clock = FakeClock()
    client = WechatTokenClient(https_url, "a", retry=RetryPolicy(), clock=clock)
    with client, pytest.raises(AuthingTLSError) as caught:
        client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
    # One attempt, no retry; its request never left (the handshake failed): 0 requests made.
    assert caught.value.attempts == 0
    assert clock.sleeps == []
    assert "certificate" in caught.value.message


def test_a_trusted_certificate_works_with_the_callers_own_client(
    https_url: str, authority: trustme.CA
) -> None:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with (
        httpx.Client(verify=context) as http,
        WechatTokenClient(https_url, "a", http_client=http) as client,
    ):
        token = client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
    assert token.attempts == 1


UNVERIFIED_ROUTES = ["https mount", "all mount", "host mount", "no hostname check"]


def _unverified_route(route: str, authority: trustme.CA) -> dict[str, Any]:
    if route == "no hostname check":  # the certificate itself is trusted: only the name is not
        context = _trusting(authority)
        context.check_hostname = False
        return {"mounts": {"https://": httpx.HTTPTransport(verify=context)}}
    pattern = {"https mount": "https://", "all mount": "all://", "host mount": "all://127.0.0.1"}
    return {"mounts": {pattern[route]: httpx.HTTPTransport(verify=False)}}


@pytest.mark.parametrize("route", UNVERIFIED_ROUTES)
def test_an_unverified_route_to_https_is_refused_before_the_secret_is_sent(
    https_server: _RecordingServer, https_url: str, route: str, authority: trustme.CA
) -> None:
    clock = FakeClock()
    with httpx.Client(**_unverified_route(route, authority)) as http:
        client = WechatTokenClient(https_url, "a", http_client=http, clock=clock)
        with pytest.raises(AuthingTLSError, match="does not verify TLS certificates") as caught:
            client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
    assert (caught.value.attempts, clock.sleeps) == (0, [])  # never sent, never retried
    assert https_server.received == []
    assert SECRET not in repr(caught.value)
    assert SECRET not in str(caught.value)


def test_a_client_without_verification_is_refused_in_both_flavours(
    driver: Driver, https_server: _RecordingServer, https_url: str
) -> None:
    http: Any = driver.http_client(verify=False)
    client = driver.client(http_client=http, app_host=https_url, retry=RetryPolicy())
    with pytest.raises(AuthingTLSError) as caught:
        driver.fetch_once(client, http=http)
    assert caught.value.attempts == 0
    assert https_server.received == []


def test_the_own_pool_verifies_in_both_flavours(driver: Driver, https_url: str) -> None:
    with pytest.raises(AuthingTLSError, match="certificate"):
        driver.fetch_once(driver.client_for(https_url, retry=None))


def test_the_own_pool_calls_a_host_its_trust_store_vouches_for_in_both_flavours(
    driver: Driver,
    https_server: _RecordingServer,
    authority: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The own pools trust what httpx trusts (SSL_CERT_FILE here): a verified handshake, through
    # the pools' own network streams, and the request on it.
    url = f"https://127.0.0.1:{https_server.server_address[1]}"
    with authority.cert_pem.tempfile() as ca_file:
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        token = driver.fetch_once(driver.client_for(url, retry=None))
    assert token.attempts == 1
    assert https_server.secret_seen


class _Tunnel(socketserver.BaseRequestHandler):
    """An HTTP proxy that only tunnels: ``CONNECT host:port``, then bytes both ways."""

    server: _TunnelProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        self.server.requests.append(line)
        host, port = line.split()[1].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            back.start()
            _pump(self.request, upstream)
            back.join(5)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the other side is gone: so is the tunnel


class _TunnelProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.requests: list[str] = []


def test_the_own_pool_tunnels_https_through_the_environments_proxy(
    driver: Driver,
    https_server: _RecordingServer,
    authority: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CONNECT, then TLS to the app host inside the tunnel, verified, and the request on it.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    target = f"127.0.0.1:{https_server.server_address[1]}"
    proxy = _TunnelProxy()
    with serving(proxy) as proxy_address, authority.cert_pem.tempfile() as ca_file:
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy_address}")
        token = driver.fetch_once(driver.client_for(f"https://{target}", retry=None))
    assert token.attempts == 1
    assert proxy.requests == [f"CONNECT {target} HTTP/1.1"]
    assert https_server.secret_seen


def test_the_recording_server_sees_the_secret_of_a_verified_client(
    https_server: _RecordingServer, https_url: str, authority: trustme.CA
) -> None:
    # The control of the tests above: what they find missing is there when it is sent.
    with httpx.Client(verify=_trusting(authority)) as http:
        client = WechatTokenClient(https_url, "a", http_client=http)
        assert client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
        assert client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
    assert https_server.secret_seen
    assert len(https_server.received) == 2  # the second call reused the checked route


def test_a_pooled_connection_it_did_not_see_opened_never_carries_the_secret(
    https_server: _RecordingServer, https_url: str
) -> None:
    with httpx.Client(verify=False) as http:  # noqa: S501 - the point
        http.post(https_url + "/elsewhere", json={})  # leaves an unverified connection pooled
        client = WechatTokenClient(https_url, "a", http_client=http, retry=None)
        with pytest.raises(AuthingTLSError):
            client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
    assert len(https_server.received) == 1
    assert not https_server.secret_seen


def test_a_pooled_connection_of_a_verified_route_is_used_once_checked(
    https_server: _RecordingServer, https_url: str, authority: trustme.CA
) -> None:
    with httpx.Client(verify=_trusting(authority)) as http:
        http.post(https_url + "/elsewhere", json={})
        client = WechatTokenClient(https_url, "a", http_client=http, retry=None)
        assert client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET).attempts == 1
    assert https_server.secret_seen


class _OpaqueTransport(httpx.BaseTransport):
    """Not httpx's and not in-process: it would send the body somewhere."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        return httpx.Response(200, json=envelope())


def test_a_transport_that_cannot_be_inspected_needs_an_explicit_opt_in() -> None:
    transport = _OpaqueTransport()
    with httpx.Client(transport=transport) as http:
        client = WechatTokenClient("https://example.authing.cn", "a", http_client=http)
        with pytest.raises(AuthingTLSError, match=r"allow_custom_transport=True") as caught:
            client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET)
        assert (caught.value.attempts, transport.bodies) == (0, [])
        client = WechatTokenClient(
            "https://example.authing.cn", "a", http_client=http, allow_custom_transport=True
        )
        assert client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET).attempts == 1
    assert len(transport.bodies) == 1
    with pytest.raises(TypeError, match="allow_custom_transport"):
        WechatTokenClient("https://example.authing.cn", "a", allow_custom_transport="yes")  # type: ignore[arg-type]


def test_an_in_process_transport_needs_no_opt_in(driver: Driver) -> None:
    # Mock, ASGI: each reads the body in its own handle_request, which the check finds.
    assert driver.fetch(driver.client()).attempts == 1


def test_plain_http_mounts_and_in_process_transports_are_fine() -> None:
    mounts = {"http://": httpx.HTTPTransport(verify=False)}
    with httpx.Client(mounts=mounts) as http:
        WechatTokenClient("https://example.authing.cn", "a", http_client=http).close()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope()))
    with httpx.Client(transport=transport) as http:
        WechatTokenClient("https://example.authing.cn", "a", http_client=http).close()
