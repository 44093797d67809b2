"""Test tooling: a reference mock of the Authing / GenAuth WeChat token API.

``MockAuthingServer`` is a plain ASGI application that follows ``openapi/authing-wechat.yaml``
(both paths, both clouds' headers, error envelopes, tokens cached per ``appId``, deprecation
headers on the deprecated path) and answers scripted ``Fault`` s on demand. Serve it:

- in-process to async clients: ``httpx.ASGITransport(app=server)``;
- in-process to sync and async clients: ``MockAuthingTransport(server)``;
- over loopback with keep-alive: ``with run_mock_server(server) as handle: handle.url``;
- from a shell: ``authing-wechat mock-server --port 8000 --fault info:503:x2``.

Pass a ``FakeClock`` (re-exported here) as ``clock=`` to the server and to the clients: delay
faults and retry backoffs then take no real time, and token expiry follows ``advance()``.

With the package installed, pytest gets the fixtures ``authing_mock_server``,
``authing_mock_transport`` and ``authing_mock_server_url``.
"""

from authing_wechat._clock import FakeClock

from ._app import Answer, MockAuthingServer, RecordedRequest
from ._contracts import contract_path
from ._faults import Fault, FaultSpec, parse_fault_spec
from ._paths import DEPRECATED_PATH, PATHS, SUCCESSOR_PATH
from ._server import MockServerHandle, run_mock_server
from ._transport import MockAuthingTransport

__all__ = [
    "DEPRECATED_PATH",
    "PATHS",
    "SUCCESSOR_PATH",
    "Answer",
    "FakeClock",
    "Fault",
    "FaultSpec",
    "MockAuthingServer",
    "MockAuthingTransport",
    "MockServerHandle",
    "RecordedRequest",
    "contract_path",
    "parse_fault_spec",
    "run_mock_server",
]
