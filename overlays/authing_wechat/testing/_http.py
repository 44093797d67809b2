"""A small HTTP/1.1 parser for the loopback mock server.

h11 (which comes with httpx) was the first choice; measured on loopback, h11 with asyncio
streams cost the server about 180 µs of CPU per request (this parser with an
``asyncio.Protocol``: about 100 µs), over half of what a bare ``httpx.Client`` call costs, and
a slow server flatters every client benchmarked against it. This parser covers what
HTTP/1.1 clients send to this API (``Content-Length`` or chunked bodies, keep-alive,
pipelining, ``Expect: 100-continue``, HTTP/1.0) and rejects anything else with a 4xx.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote, urlsplit

import attrs

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "Incomplete",
    "MalformedRequest",
    "ParsedRequest",
    "parse_request",
]

MAX_HEAD: Final = 64 * 1024
"""Largest request head (request line and headers) accepted, in bytes."""
MAX_BODY: Final = 1024 * 1024
"""Largest request body accepted, in bytes; this API's bodies are a few hundred."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP/1\.([01])")
# Field values: visible ASCII, obs-text, spaces and tabs; no other control characters.
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})(?:;[^\r\n]*)?")


class MalformedRequest(Exception):
    """The bytes are not an acceptable HTTP/1.1 request; answer ``status`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@attrs.frozen(kw_only=True)
class ParsedRequest:
    """One complete request taken off the connection's buffer."""

    method: str
    path: str
    raw_path: bytes
    query: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


def _body_length(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """``(content length, chunked)`` from the headers."""
    lengths = {value.strip() for name, value in headers if name == b"content-length"}
    encodings = [value for name, value in headers if name == b"transfer-encoding"]
    if encodings:
        if lengths:
            # Both framings at once is how requests get smuggled; RFC 9112 says reject.
            raise MalformedRequest(400, "both Content-Length and Transfer-Encoding")
        if b",".join(encodings).strip().lower() != b"chunked":
            raise MalformedRequest(501, "only the chunked transfer coding is supported")
        return None, True
    if not lengths:
        return 0, False
    if len(lengths) > 1 or not (value := lengths.pop()).isdigit():
        raise MalformedRequest(400, "invalid Content-Length")
    length = int(value)
    if length > MAX_BODY:
        raise MalformedRequest(413, "request body too large")
    return length, False


def _dechunk(buffer: bytes | bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``start``: ``(body, end)``, or ``None`` if incomplete."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > 1024:
                raise MalformedRequest(400, "invalid chunk size line")
            return None
        size_line = _CHUNK_SIZE.fullmatch(buffer, position, line_end)
        if size_line is None:
            raise MalformedRequest(400, "invalid chunk size line")
        size = int(size_line[1], 16)
        position = line_end + 2
        if size == 0:
            break
        if len(body) + size > MAX_BODY:
            raise MalformedRequest(413, "request body too large")
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise MalformedRequest(400, "chunk not followed by CRLF")
        body += buffer[position : position + size]
        position += size + 2
    # Trailer fields are read and ignored, up to the empty line.
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        if line_end == position:
            return bytes(body), line_end + 2
        position = line_end + 2


@attrs.frozen
class Incomplete:
    """More bytes are needed.

    Attributes:
        expects_continue: The head is in and asks for ``100 Continue`` before the body.
        needed: How many bytes the buffer must hold before parsing again can succeed.
    """

    expects_continue: bool = False
    needed: int = 0


_WAITING_FOR_HEAD: Final = Incomplete()


def parse_request(buffer: bytearray) -> ParsedRequest | Incomplete:
    """Take one whole request off the front of ``buffer`` (which it shortens).

    Args:
        buffer: The bytes received on the connection and not consumed yet.

    Returns:
        The request, once its head and whole body are in; else what is missing.

    Raises:
        MalformedRequest: The bytes cannot be the start of an acceptable request.
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        if len(buffer) > MAX_HEAD:
            raise MalformedRequest(431, "request head too large")
        return _WAITING_FOR_HEAD
    if head_end > MAX_HEAD:
        raise MalformedRequest(431, "request head too large")
    lines = bytes(buffer[:head_end]).split(b"\r\n")
    request_line = _REQUEST_LINE.fullmatch(lines[0])
    if request_line is None:
        raise MalformedRequest(400, "invalid request line")
    method, target, minor = request_line.groups()
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise MalformedRequest(400, "invalid header line")
        headers.append((name.lower(), value.strip(b" \t")))
    raw_path, query = _split_target(target)
    length, chunked = _body_length(headers)
    body_start = head_end + 4
    decoded = (
        _dechunk(buffer, body_start) if chunked else _fixed_body(buffer, body_start, length or 0)
    )
    if decoded is None:
        expects = any(n == b"expect" and v.lower() == b"100-continue" for n, v in headers)
        # A fixed-length body tells how much must arrive first, which spares re-parsing the
        # head on every packet (clients often send the head and the body separately).
        needed = 0 if chunked else body_start + (length or 0)
        return Incomplete(expects_continue=expects and minor == b"1", needed=needed)
    body, end = decoded
    connection = {
        token.strip().lower()
        for name, value in headers
        if name == b"connection"
        for token in value.split(b",")
    }
    del buffer[:end]
    return ParsedRequest(
        method=method.decode("ascii"),
        path=unquote(raw_path.decode("latin-1")),
        raw_path=raw_path,
        query=query,
        http_version="1." + minor.decode("ascii"),
        headers=headers,
        body=body,
        # HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless asked.
        keep_alive=b"close" not in connection and (minor == b"1" or b"keep-alive" in connection),
    )


def _fixed_body(buffer: bytearray, start: int, length: int) -> tuple[bytes, int] | None:
    if len(buffer) < start + length:
        return None
    return bytes(buffer[start : start + length]), start + length


def _split_target(target: bytes) -> tuple[bytes, bytes]:
    if target.startswith(b"/"):
        raw_path, _, query = target.partition(b"?")
        return raw_path, query
    if target.startswith((b"http://", b"https://")):
        parts = urlsplit(target)
        return parts.path or b"/", parts.query
    if target == b"*":
        return b"*", b""
    raise MalformedRequest(400, "invalid request target")
