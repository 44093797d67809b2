"""TLS against a real loopback HTTPS server: certificates are verified, a bad one is final.

The client the package builds always verifies, with httpx's defaults (its trust store, the
environment's proxy). A caller's ``http_client`` is the caller's, used as given, TLS settings
included, as httpx, openai-python and botocore use one.
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

from tests._support import SECRET, Driver, TokenHandler, serving


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


def test_a_callers_http_client_is_used_as_given_tls_settings_included(
    driver: Driver, https_server: _RecordingServer, https_url: str
) -> None:
    # verify=False is the caller's choice, as with any httpx client: the call goes through.
    http: Any = driver.http_client(verify=False)
    client = driver.client(http_client=http, app_host=https_url, retry=None)
    assert driver.fetch_once(client, http=http).attempts == 1
    assert https_server.secret_seen


def test_nothing_turns_the_own_clients_verification_off() -> None:
    with pytest.raises(TypeError, match="allow_custom_transport"):
        WechatTokenClient("https://example.authing.cn", "a", allow_custom_transport=True)  # type: ignore[call-arg]


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
    assert len(https_server.received) == 2
