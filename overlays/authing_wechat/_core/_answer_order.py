"""Telling an answer from stale bytes: was a response read after its request was written?

A server may send more after its last answer on a kept-alive connection (a second response,
junk) and keep the connection open. h11 holds what it read of it, and takes it for the answer
to the next request written there, which the server never reads: that call would report a
request nobody answered, and an answer nobody asked for. httpcore does not look; the streams
of the clients' own pools note whether a read followed their last write, and their senders
refuse such an answer (``StaleConnection``): nothing can come in answer to a request before
the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["NotesReads", "NotingAsyncBackend", "answered_before_sent"]


class NotesReads:
    """A network stream that notes whether a read followed its last write."""

    read_since_write = False


def answered_before_sent(response: httpx.Response) -> bool:
    """Whether ``response`` was read from bytes that came before its request was written.

    ``False`` for a stream that does not note its reads (a caller's own transport).
    """
    stream = response.extensions.get("network_stream")
    return isinstance(stream, NotesReads) and not stream.read_since_write


# httpcore's interface takes timeouts (ASYNC109): passed on, never used here.
class _NotingAsyncStream(NotesReads, httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        # The wrapped stream's own, bound here: a forwarding method would add a frame to each.
        self.aclose = stream.aclose  # type: ignore[method-assign]
        self.get_extra_info = stream.get_extra_info  # type: ignore[method-assign]

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await self._stream.read(max_bytes, timeout)
        self.read_since_write = True
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.read_since_write = False
        await self._stream.write(buffer, timeout)

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        return _NotingAsyncStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout)
        )


class NotingAsyncBackend(httpcore.AsyncNetworkBackend):
    """An httpcore async network backend whose streams note their reads (``NotesReads``).

    The sync pool's streams note theirs in ``_socket_deadline``, where they are bounded too;
    the asyncio client bounds a whole attempt at once.
    """

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _NotingAsyncStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        return _NotingAsyncStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
