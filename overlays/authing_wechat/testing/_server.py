"""Serve the mock on loopback with the standard library's ``http.server``.

One daemon thread per connection, HTTP/1.1 keep-alive, ``TCP_NODELAY``, optionally TLS. The
handler reads a request, asks ``MockAuthingServer.answer`` and carries the answer out: waits
through the mock's clock, then writes the whole response in one write, or closes the socket
before any byte for a drop.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import sys
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from ._app import MockAuthingServer, reason_phrase

__all__ = ["LoopbackHandler", "MockServerHandle", "run_mock_server", "serve_on_loopback"]

# How often the accept loop looks for a stop request: the most a stop waits for it.
_POLL_SECONDS = 0.05
_MAX_LINE = 65_536


@attrs.frozen(kw_only=True)
class MockServerHandle:
    """A running loopback mock server (yielded by ``run_mock_server``).

    Attributes:
        url: Its base URL, e.g. ``http://127.0.0.1:54321`` (``https://`` with TLS); pass it as
            ``app_host``.
        host: The address it listens on.
        port: The TCP port it listens on.
        server: The ``MockAuthingServer`` answering: script faults and read requests on it.
    """

    url: str
    host: str
    port: int
    server: MockAuthingServer
    _listener: _Listener = attrs.field(repr=False, alias="listener")

    @property
    def connections(self) -> int:
        """How many TCP connections it accepted so far (TLS handshakes refused included)."""
        return self._listener.connections


@contextlib.contextmanager
def run_mock_server(
    server: MockAuthingServer | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[MockServerHandle]:
    """Serve ``server`` over HTTP/1.1 with keep-alive on ``host`` in background threads.

    Connections stay open between requests, as connection pools expect. On exit the server
    stops listening and closes every connection, idle or busy.

    Args:
        server: The mock to serve; a fresh ``MockAuthingServer()`` when ``None``.
        host: Address to listen on (loopback unless you mean otherwise).
        port: TCP port; ``0`` picks a free one (read it from the handle).
        ssl_context: Serve HTTPS with this server-side context (e.g. made with ``trustme``:
            ``ca.issue_cert("127.0.0.1").configure_cert(context)``); plain HTTP when ``None``.

    Yields:
        The handle: ``url``, ``host``, ``port``, ``server`` and ``connections``.

    Raises:
        OSError: The address cannot be bound (e.g. the port is taken).
    """
    app = MockAuthingServer() if server is None else server
    with serve_on_loopback(app, LoopbackHandler, host, port, ssl_context) as (url, listener):
        yield MockServerHandle(
            url=url, host=host, port=listener.server_address[1], server=app, listener=listener
        )


@contextlib.contextmanager
def serve_on_loopback(
    app: Any,
    handler: type[BaseHTTPRequestHandler],
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
) -> Iterator[tuple[str, _Listener]]:
    """Serve ``app`` (with ``answer`` and ``clock``) through ``handler`` in background threads.

    Yields:
        The base URL and the listener; on exit every connection is closed and the thread
        joined.
    """
    listener = _Listener(app, host, port, ssl_context, handler)
    thread = threading.Thread(
        target=listener.serve_forever,
        args=(_POLL_SECONDS,),
        name="authing-mock-server",
        daemon=True,
    )
    thread.start()
    try:
        bound = listener.server_address[1]
        bracketed = f"[{host}]" if ":" in host else host
        scheme = "http" if ssl_context is None else "https"
        yield f"{scheme}://{bracketed}:{bound}", listener
    finally:
        listener.shutdown()
        listener.close_all()
        thread.join()


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a pool opens many at once.
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        handler: type[BaseHTTPRequestHandler],
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.connections = 0
        self._tls = tls
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__((host, port), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN, which can take seconds.
        socketserver.TCPServer.server_bind(self)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        if self._tls is not None:
            # The handshake happens on the first read, in the connection's own thread.
            sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self.connections += 1
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Stop listening and close every connection, waking threads blocked on reads."""
        self.server_close()
        with self._lock:
            remaining = list(self._open)
        for sock in remaining:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up, refused handshakes and the sockets closed by a stop are normal.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LoopbackHandler(BaseHTTPRequestHandler):
    """One connection's requests, each answered by the served app's decision (``decide``)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Listener

    def _answer(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "malformed body framing")
            return
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers.items()
        ]
        answer = self.decide(headers, body)
        if answer.delay_seconds:
            self.server.app.clock.sleep(answer.delay_seconds)
        if answer.drop:
            self.close_connection = True
            return
        lines = [b"HTTP/1.1 %d %s" % (answer.status, reason_phrase(answer.status).encode())]
        lines += [name + b": " + value for name, value in answer.headers]
        lines.append(b"content-length: %d" % len(answer.body))
        if self.close_connection:
            lines.append(b"connection: close")
        body = b"" if self.command == "HEAD" else answer.body
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)

    def decide(self, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        """The app's answer to this request (the mock takes the path without the query)."""
        path = unquote(urlsplit(self.path).path) or "/"
        return self.server.app.answer(self.command, path, headers, body)

    def __getattr__(self, name: str) -> Any:
        # ``do_<METHOD>``: every method reaches the mock, which answers 405 to all but POST.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline(_MAX_LINE).split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)
            while self.rfile.readline(_MAX_LINE) not in {b"\r\n", b"\n", b""}:
                pass  # trailer fields, ignored
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError(length)
        return self.rfile.read(length)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the mock logs each request itself (logger ``authing_wechat.testing``)."""
