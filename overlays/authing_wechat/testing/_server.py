"""Serve the mock on loopback: HTTP/1.1 with keep-alive, on a private event loop thread.

The server runs its own asyncio loop in a daemon thread, so sync tests, async tests and the
CLI use it the same way, and it never shares a loop with the code under test. Each request
is parsed by ``_http.parse_request`` and answered by the ASGI app, one at a time per
connection (pipelined requests wait their turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import attrs

from ._app import ASGIMessage, MockAuthingServer
from ._http import MAX_BODY, MAX_HEAD, Incomplete, MalformedRequest, ParsedRequest, parse_request

__all__ = ["MockServerHandle", "run_mock_server"]

_MAX_BUFFERED = MAX_HEAD + MAX_BODY


@attrs.frozen(kw_only=True)
class MockServerHandle:
    """A running loopback mock server (yielded by ``run_mock_server``).

    Attributes:
        url: Its base URL, e.g. ``http://127.0.0.1:54321``; pass it as ``app_host``.
        host: The address it listens on.
        port: The TCP port it listens on.
        server: The ``MockAuthingServer`` answering: script faults and read requests on it.
    """

    url: str
    host: str
    port: int
    server: MockAuthingServer


@contextlib.contextmanager
def run_mock_server(
    server: MockAuthingServer | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[MockServerHandle]:
    """Serve ``server`` over HTTP/1.1 with keep-alive on ``host`` in a background thread.

    Connections stay open between requests, as connection pools expect; a ``drop`` fault
    closes its connection without answering. On exit the server stops listening, closes
    every connection and its thread ends.

    Args:
        server: The app to serve; a fresh ``MockAuthingServer()`` when ``None``.
        host: Address to listen on (loopback unless you mean otherwise).
        port: TCP port; ``0`` picks a free one (read it from the handle).

    Yields:
        The handle: ``url``, ``host``, ``port`` and ``server``.

    Raises:
        OSError: The address cannot be bound (e.g. the port is taken).
    """
    app = MockAuthingServer() if server is None else server
    runner = _LoopbackServer(app, host, port)
    runner.start()
    try:
        bracketed = f"[{host}]" if ":" in host else host
        yield MockServerHandle(
            url=f"http://{bracketed}:{runner.port}", host=host, port=runner.port, server=app
        )
    finally:
        runner.stop()


class _LoopbackServer:
    def __init__(self, app: MockAuthingServer, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="authing-mock-server", daemon=True)
        self._ready = threading.Event()
        self._startup_error: OSError | None = None
        self._connections: set[_HTTPConnection] = set()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            try:
                listener = loop.run_until_complete(
                    loop.create_server(self._connection, self._host, self._requested_port)
                )
            except OSError as exc:
                self._startup_error = exc
                self._ready.set()
                return
            self.port = listener.sockets[0].getsockname()[1]
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown(listener))
        finally:
            loop.close()

    def _connection(self) -> _HTTPConnection:
        return _HTTPConnection(self._app, self._connections)

    async def _shutdown(self, listener: asyncio.Server) -> None:
        listener.close()
        tasks = [task for connection in self._connections for task in connection.close()]
        await asyncio.gather(*tasks, return_exceptions=True)
        await listener.wait_closed()
        # Lets the transports' scheduled close callbacks run before the loop closes.
        await asyncio.sleep(0)


_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


def _reason(status: int) -> bytes:
    return _REASONS.get(status, b"Unknown")


class _HTTPConnection(asyncio.Protocol):
    """One connection: parse a request, run the app in a task, write its answer, repeat."""

    def __init__(self, app: MockAuthingServer, registry: set[_HTTPConnection]) -> None:
        self._app = app
        self._registry = registry
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._continue_sent = False
        self._needed = 0
        self._client: Any = None
        self._server: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP servers give these
        self._transport = transport
        self._client = transport.get_extra_info("peername")
        self._server = transport.get_extra_info("sockname")
        self._registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._registry.discard(self)
        self._transport = None
        if self._task is not None:
            # Nobody is left to answer: stop a delay fault still waiting for its client.
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._task is None:
            self._next_request()
        if self._task is not None and len(self._buffer) > _MAX_BUFFERED and self._transport:
            # A client pipelining faster than we answer waits for TCP back-pressure.
            self._transport.pause_reading()

    def close(self) -> list[asyncio.Task[None]]:
        """Close the connection now; returns the task still answering, if any."""
        if self._transport is not None:
            self._transport.close()
        if self._task is None:
            return []
        self._task.cancel()
        return [self._task]

    def _next_request(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or len(self._buffer) < self._needed:
            return
        try:
            request = parse_request(self._buffer)
        except MalformedRequest as exc:
            self._reject(transport, exc)
            return
        if isinstance(request, Incomplete):
            self._needed = request.needed
            if request.expects_continue and not self._continue_sent:
                self._continue_sent = True
                transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self._continue_sent = False
        self._needed = 0
        self._task = asyncio.get_running_loop().create_task(self._answer(request))

    async def _answer(self, request: ParsedRequest) -> None:
        try:
            status, headers, body = await self._call_app(request)
        except Exception:
            # A drop fault (or a broken app): close without answering, as a crashed server does.
            if self._transport is not None:
                self._transport.close()
            return
        finally:
            self._task = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        lines = [b"HTTP/%s %d %s" % (request.http_version.encode(), status, _reason(status))]
        lines += [name + b": " + value for name, value in headers if name != b"content-length"]
        lines.append(b"content-length: %d" % len(body))
        if not request.keep_alive:
            lines.append(b"connection: close")
        lines += [b"", b"" if request.method == "HEAD" else body]
        transport.write(b"\r\n".join(lines))
        if request.keep_alive:
            transport.resume_reading()
            self._next_request()
        else:
            transport.close()

    def _reject(self, transport: asyncio.Transport, error: MalformedRequest) -> None:
        body = b'{"statusCode":%d,"message":"%s","apiCode":1000}' % (
            error.status,
            error.reason.encode(),
        )
        transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (error.status, _reason(error.status), len(body), body)
        )
        transport.close()

    async def _call_app(self, request: ParsedRequest) -> tuple[int, list[Any], bytes]:
        scope: ASGIMessage = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version,
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.raw_path,
            "query_string": request.query,
            "root_path": "",
            "headers": request.headers,
            "client": self._client,
            "server": self._server,
        }
        sent: list[ASGIMessage] = []
        delivered = False

        async def receive() -> ASGIMessage:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        async def send(message: ASGIMessage) -> None:
            sent.append(message)

        await self._app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], list(start.get("headers", [])), payload
