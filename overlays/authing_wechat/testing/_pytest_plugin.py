"""pytest fixtures for code that fetches WeChat tokens through Authing / GenAuth.

Installed with the package (entry point ``pytest11: authing_wechat``); disable it with
``-p no:authing_wechat``. All three fixtures share one ``MockAuthingServer`` per test, so
faults scripted on ``authing_mock_server`` apply to the transport and the URL alike::

    from authing_wechat import WechatTokenClient
    from authing_wechat.testing import SUCCESSOR_PATH, FakeClock, Fault

    def test_retries_a_503(authing_mock_server, authing_mock_server_url):
        authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
        clock = FakeClock()  # the retry backs off without sleeping
        with WechatTokenClient(authing_mock_server_url, "app-id", clock=clock) as client:
            client.get_wechat_mp_access_token_info(app_id="wx1", app_secret="s3cret")
        assert authing_mock_server.request_count(SUCCESSOR_PATH) == 2
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._app import MockAuthingServer
from ._server import run_mock_server
from ._transport import MockAuthingTransport

__all__ = ["authing_mock_server", "authing_mock_server_url", "authing_mock_transport"]


@pytest.fixture
def authing_mock_server() -> MockAuthingServer:
    """A fresh ``MockAuthingServer`` for this test, with default settings.

    Script faults with ``add_fault``; read ``requests`` and ``request_count()`` afterwards.
    Its delay faults really wait; build your own ``MockAuthingServer(clock=FakeClock())``
    fixture to make them instant.
    """
    return MockAuthingServer()


@pytest.fixture
def authing_mock_transport(
    authing_mock_server: MockAuthingServer,
) -> Iterator[MockAuthingTransport]:
    """An in-process httpx transport serving ``authing_mock_server``: no socket, no port.

    Works with ``httpx.Client`` and ``httpx.AsyncClient`` alike. It is an
    ``httpx.ASGITransport`` (which alone only serves async clients) that also runs the app for
    sync clients, on an event loop thread of its own. A ``drop`` fault raises
    ``httpx.RemoteProtocolError``; a ``delay`` longer than the read timeout raises
    ``httpx.ReadTimeout``. Closed after the test.
    """
    transport = MockAuthingTransport(authing_mock_server)
    yield transport
    transport.close()


@pytest.fixture
def authing_mock_server_url(authing_mock_server: MockAuthingServer) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:<port>``) of ``authing_mock_server`` on loopback.

    A real HTTP/1.1 keep-alive server on a free port, serving the same app object as the
    other two fixtures, stopped after the test. Use it to test real connections: pooling,
    timeouts, dropped sockets. Plain ``http://`` to loopback needs no ``allow_insecure_http``.
    """
    with run_mock_server(authing_mock_server) as handle:
        yield handle.url
