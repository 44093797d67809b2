"""Test tooling: a reference mock of the Authing / GenAuth WeChat token API.

``MockAuthingServer`` follows ``openapi/authing-wechat.yaml`` (both paths, both clouds'
headers, error envelopes, tokens cached per ``appId``, deprecation headers on the deprecated
path) and answers scripted ``Fault`` s on demand. Its one method ``answer`` decides every
response; serve it:

- in-process to sync and async httpx clients: ``MockAuthingTransport(server)``;
- over loopback with keep-alive (and TLS if asked): ``with run_mock_server(server) as h: h.url``;
- from a shell: ``authing-wechat mock-server --port 8000 --fault info:503:x2``;
- to ASGI servers and schemathesis: it is an ASGI application.

``FakeWechatServer(mock)`` fakes the WeChat API on top of it: it accepts only the tokens WeChat
would accept (the mock's latest; ``rotate``, ``fetch_elsewhere`` and ``expire`` break them with
40001 / 42001), answers a few real paths, and is served by ``FakeWechatTransport(fake)`` or
``run_fake_wechat_server(fake)``.

Pass a ``FakeClock`` (re-exported here) as ``clock=`` to the server and to the clients: delay
faults and retry backoffs then take no real time, and token expiry follows ``advance()``.

With the package installed, pytest gets the fixtures ``authing_mock_server``,
``authing_mock_transport``, ``authing_mock_server_url`` and ``authing_mock_clock``, set up
by the marker ``@pytest.mark.authing_mock(...)``, and ``wechat_fake``, ``wechat_fake_transport``
and ``wechat_fake_url`` for the fake WeChat API on that mock; ``authing_redis_url`` is a
throwaway Redis (``run_redis_server``) for code that uses a ``RedisTokenStore``.
"""

import typing

from authing_wechat import _lazy

if typing.TYPE_CHECKING:
    from authing_wechat.testing._clock import FakeClock

    from ._app import Answer, IssuedToken, MockAuthingServer, RecordedRequest
    from ._contracts import contract_path
    from ._faults import Fault, FaultSpec, parse_fault_spec
    from ._paths import CLOUDS, DEPRECATED_PATH, PATHS, SUCCESSOR_PATH
    from ._redis_server import RedisServer, find_redis_server, run_redis_server
    from ._server import MockServerHandle, run_mock_server
    from ._transport import MockAuthingTransport
    from ._wechat import (
        FakeWechatHandle,
        FakeWechatRequest,
        FakeWechatServer,
        FakeWechatTransport,
        run_fake_wechat_server,
    )

__all__ = [
    "CLOUDS",
    "DEPRECATED_PATH",
    "PATHS",
    "SUCCESSOR_PATH",
    "Answer",
    "FakeClock",
    "FakeWechatHandle",
    "FakeWechatRequest",
    "FakeWechatServer",
    "FakeWechatTransport",
    "Fault",
    "FaultSpec",
    "IssuedToken",
    "MockAuthingServer",
    "MockAuthingTransport",
    "MockServerHandle",
    "RecordedRequest",
    "RedisServer",
    "contract_path",
    "find_redis_server",
    "parse_fault_spec",
    "run_fake_wechat_server",
    "run_mock_server",
    "run_redis_server",
]

# Loaded on first use: the pytest plugin lives in this package and must stay cheap to load.
if not typing.TYPE_CHECKING:  # type checkers read the imports above instead
    __getattr__, __dir__ = _lazy.load_on_first_use(
        __name__,
        {
            "authing_wechat.testing._clock": ("FakeClock",),
            "._app": ("Answer", "IssuedToken", "MockAuthingServer", "RecordedRequest"),
            "._contracts": ("contract_path",),
            "._faults": ("Fault", "FaultSpec", "parse_fault_spec"),
            "._paths": ("CLOUDS", "DEPRECATED_PATH", "PATHS", "SUCCESSOR_PATH"),
            "._redis_server": ("RedisServer", "find_redis_server", "run_redis_server"),
            "._server": ("MockServerHandle", "run_mock_server"),
            "._transport": ("MockAuthingTransport",),
            "._wechat": (
                "FakeWechatHandle",
                "FakeWechatRequest",
                "FakeWechatServer",
                "FakeWechatTransport",
                "run_fake_wechat_server",
            ),
        },
    )
