"""An in-process httpx transport over the mock that works for sync and async clients.

``httpx.ASGITransport`` is async only: ``httpx.Client`` needs ``handle_request``, which it
lacks. ``MockAuthingTransport`` is an ``ASGITransport`` (async clients use it unchanged) that
also implements ``handle_request`` by running the same ASGI app on a private event loop in a
daemon thread. One app, one behaviour, both clients; no socket, no port.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

import anyio
import httpx

from ._app import MockAuthingServer

__all__ = ["MockAuthingTransport"]


def _read_timeout(request: httpx.Request) -> float | None:
    timeout: dict[str, Any] = request.extensions.get("timeout", {})
    value = timeout.get("read")
    return None if value is None else float(value)


class MockAuthingTransport(httpx.ASGITransport, httpx.BaseTransport):
    """Serve a ``MockAuthingServer`` in-process to ``httpx.Client`` and ``httpx.AsyncClient``.

    A ``drop`` fault raises ``httpx.RemoteProtocolError`` from the call, as a real dropped
    connection does. The request's read timeout is honoured: a ``delay`` fault longer than it
    raises ``httpx.ReadTimeout`` (only if the server's ``sleep`` really waits).

    Example::

        server = MockAuthingServer()
        with httpx.Client(transport=MockAuthingTransport(server), base_url="http://mock") as c:
            c.post(SUCCESSOR_PATH, headers=..., json=...)

    Args:
        server: The app to serve; a fresh ``MockAuthingServer()`` when ``None``.
    """

    def __init__(self, server: MockAuthingServer | None = None) -> None:
        self.server = MockAuthingServer() if server is None else server
        super().__init__(app=self.server)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app on the caller's event loop.

        Raises:
            httpx.ReadTimeout: The answer took longer than the request's read timeout.
            httpx.RemoteProtocolError: A ``drop`` fault.
        """
        timeout = _read_timeout(request)
        try:
            with anyio.fail_after(timeout):
                return await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout("the mock server did not answer in time") from None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app on this transport's own event loop thread.

        Raises:
            httpx.ReadTimeout: The answer took longer than the request's read timeout.
            httpx.RemoteProtocolError: A ``drop`` fault.
        """
        relayed = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.read(),
            extensions={},
        )
        future = asyncio.run_coroutine_threadsafe(self._exchange(relayed), self._portal())
        try:
            status, headers, content = future.result(timeout=_read_timeout(request))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("the mock server did not answer in time") from None
        # A stream, not ``content=``: httpx then reads and closes it like a network response,
        # which sets ``response.elapsed`` (a pre-read body never gets one).
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

    def close(self) -> None:
        """Stop the event loop thread that serves sync clients (if one was started)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    async def aclose(self) -> None:
        """Same as ``close``: async clients need no cleanup of their own."""
        self.close()

    async def _exchange(self, request: httpx.Request) -> tuple[int, list[Any], bytes]:
        response = await super().handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers.raw, content

    def _portal(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                started = threading.Event()
                thread = threading.Thread(
                    target=_run_loop, args=(loop, started), name="authing-mock-transport"
                )
                thread.daemon = True
                thread.start()
                started.wait()
                self._loop, self._thread = loop, thread
            return self._loop


def _run_loop(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    finally:
        loop.close()
