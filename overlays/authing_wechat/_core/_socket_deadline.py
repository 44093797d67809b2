"""A hard end for each sync attempt: every socket operation of the client's own pool ends by it.

httpx's timeouts apply to each socket operation, so a server that sends its status line, its
headers or its body one byte at a time never trips one. The asyncio client cancels the whole
attempt instead; a thread cannot be cancelled, so the sync client's own pool (``_pool``) runs on a
network backend whose streams cut every read and connect to the time left before the attempt's
end. The end is per thread: sync httpx does its I/O in the calling thread. Writes are left
to httpx's own timeout (see ``_BoundedStream.write``). The streams also note their reads
(``_answer_order``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from ._answer_order import NotesReads

__all__ = ["BoundedBackend", "attempt_ends_at", "move_attempt_end"]


class _End(threading.local):
    at: float | None = None


_END = _End()


@contextmanager
def attempt_ends_at(monotonic_end: float) -> Iterator[None]:
    """Bound this thread's socket operations on a bounded pool until ``time.monotonic()``
    reaches ``monotonic_end`` (move it with ``move_attempt_end``)."""
    previous, _END.at = _END.at, monotonic_end
    try:
        yield
    finally:
        _END.at = previous


def move_attempt_end(monotonic_end: float) -> None:
    """Move this thread's attempt end (an attempt got its connection: its timeout starts)."""
    if _END.at is not None:
        _END.at = monotonic_end


def _clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    end = _END.at
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the attempt ran out of time")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(NotesReads, httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        # What needs nothing of its own is the wrapped stream's, bound here: httpcore makes
        # these calls per request, and a forwarding method would add a frame to each.
        self.close = stream.close  # type: ignore[method-assign]
        self.get_extra_info = stream.get_extra_info  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))
        self.read_since_write = True
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # Not cut short: a request is a few hundred bytes, written at once, and one cut off
        # after its last byte left (h11 ends a message with an empty write) would be a request
        # the server saw and the client did not count. httpx's write timeout still applies.
        self.read_since_write = False
        self._stream.write(buffer, timeout)

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _clamp(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))


class BoundedBackend(httpcore.NetworkBackend):
    """An httpcore network backend whose streams end every connect and read by the
    attempt's end (``attempt_ends_at``); outside an attempt they are ``backend``'s own."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _clamp(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _BoundedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _clamp(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
