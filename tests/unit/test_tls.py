"""TLS against a real loopback HTTPS server: certificates are verified, a bad one is final."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest
import trustme
from authing_wechat import AuthingTLSError, RetryPolicy, WechatTokenClient
from authing_wechat.testing import FakeClock

from tests._support import SECRET, TokenHandler, envelope


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_url(authority: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


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


def _unverified_routes() -> dict[str, dict[str, object]]:
    return {
        "https mount": {"mounts": {"https://": httpx.HTTPTransport(verify=False)}},
        "all mount": {"mounts": {"all://": httpx.HTTPTransport(verify=False)}},
        "host mount": {"mounts": {"all://127.0.0.1": httpx.HTTPTransport(verify=False)}},
        "no hostname check": {"mounts": {"https://": httpx.HTTPTransport(verify=_no_hostname())}},
    }


def _no_hostname() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    return context


@pytest.mark.parametrize("route", _unverified_routes())
def test_an_unverified_route_to_https_is_refused_before_any_request(
    https_url: str, route: str
) -> None:
    with (
        httpx.Client(**_unverified_routes()[route]) as http,  # type: ignore[arg-type]
        pytest.raises(ValueError, match="does not verify TLS certificates on its mount"),
    ):
        WechatTokenClient(https_url, "a", http_client=http)


class _OpaqueTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope())


def test_a_transport_that_cannot_be_inspected_needs_an_explicit_opt_in() -> None:
    with httpx.Client(transport=_OpaqueTransport()) as http:
        with pytest.raises(ValueError, match=r"allow_custom_transport=True"):
            WechatTokenClient("https://example.authing.cn", "a", http_client=http)
        client = WechatTokenClient(
            "https://example.authing.cn", "a", http_client=http, allow_custom_transport=True
        )
        assert client.get_wechat_mp_access_token_info(app_id="wx", app_secret=SECRET).attempts == 1
    with pytest.raises(TypeError, match="allow_custom_transport"):
        WechatTokenClient("https://example.authing.cn", "a", allow_custom_transport="yes")  # type: ignore[arg-type]


def test_plain_http_mounts_and_in_process_transports_are_fine() -> None:
    mounts = {"http://": httpx.HTTPTransport(verify=False)}
    with httpx.Client(mounts=mounts) as http:
        WechatTokenClient("https://example.authing.cn", "a", http_client=http).close()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope()))
    with httpx.Client(transport=transport) as http:
        WechatTokenClient("https://example.authing.cn", "a", http_client=http).close()
