"""An in-process httpx transport over the mock's decision, for sync and async clients alike.

No socket, no event loop of its own: each request goes straight to
``MockAuthingServer.answer`` and the answer is carried out as a network would: delays wait
through the mock's clock, against the request's read timeout, and drops raise the error httpx
raises for a server that hangs up.
"""

from __future__ import annotations

from typing import Any

import httpx

from authing_wechat.testing._clock import FakeClock

from ._app import Answer, MockAuthingServer

__all__ = ["MockAuthingTransport"]


class MockAuthingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve a ``MockAuthingServer`` in-process to ``httpx.Client`` and ``httpx.AsyncClient``.

    A ``delay`` fault (or a drop's delay) longer than the request's read timeout raises
    ``httpx.ReadTimeout`` after the timeout, so the client raises its timeout error, as over
    a network. On a ``FakeClock`` that wait takes no real time: the clock is advanced by the
    timeout (``advance``, so ``sleeps`` lists only real sleeps), which keeps the client's
    deadlines consistent. Shorter delays wait with ``clock.sleep`` / ``asleep``. A ``drop``
    raises ``httpx.RemoteProtocolError``.

    Example::

        server = MockAuthingServer()
        with httpx.Client(transport=MockAuthingTransport(server), base_url="http://mock") as c:
            c.post(SUCCESSOR_PATH, headers=..., json=...)

    Args:
        server: The mock to serve; a fresh ``MockAuthingServer()`` when ``None``.

    Attributes:
        server: The mock served.
    """

    def __init__(self, server: MockAuthingServer | None = None) -> None:
        self.server = MockAuthingServer() if server is None else server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the calling thread.

        Raises:
            httpx.ReadTimeout: The answer is delayed beyond the request's read timeout.
            httpx.RemoteProtocolError: A ``drop`` fault.
        """
        answer, wait = self._decide(request, request.read())
        if wait:
            self.server.clock.sleep(wait)
        return _respond(answer, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the calling task.

        Raises:
            httpx.ReadTimeout: The answer is delayed beyond the request's read timeout.
            httpx.RemoteProtocolError: A ``drop`` fault.
        """
        answer, wait = self._decide(request, await request.aread())
        if wait:
            await self.server.clock.asleep(wait)
        return _respond(answer, request)

    def _decide(self, request: httpx.Request, body: bytes) -> tuple[Answer | None, float]:
        """The answer (``None``: the read timeout expires first), and how long to wait."""
        answer = self.server.answer(request.method, request.url.path, request.headers.raw, body)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = timeouts.get("read")
        if timeout is None or answer.delay_seconds <= timeout:
            return answer, answer.delay_seconds
        if isinstance(self.server.clock, FakeClock):
            self.server.clock.advance(timeout)
            return None, 0.0
        return None, float(timeout)


def _respond(answer: Answer | None, request: httpx.Request) -> httpx.Response:
    if answer is None:
        raise httpx.ReadTimeout("the mock server did not answer in time", request=request)
    if answer.drop:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    headers = [*answer.headers, (b"content-length", b"%d" % len(answer.body))]
    # A stream, not ``content=``: httpx then reads and closes it like a network response,
    # which sets ``response.elapsed`` (a pre-read body never gets one).
    return httpx.Response(answer.status, headers=headers, stream=httpx.ByteStream(answer.body))
