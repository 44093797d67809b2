"""TLS against a real loopback HTTPS server: certificates are verified, a bad one is final."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme
from authing_wechat import AuthingTLSError, RetryPolicy, WechatTokenClient
from authing_wechat.testing import FakeClock

from tests._support import SECRET, envelope


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(envelope()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads outcomes, not access logs."""


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_url(authority: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
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
    assert caught.value.attempts == 1
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
