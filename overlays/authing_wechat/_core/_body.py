"""Reading a response body bounded in its size after decoding: httpx decodes gzip and deflate
without limit (kilobytes can expand to gigabytes); this reader stops just past the cap.
"""

from __future__ import annotations

import zlib

import httpx

__all__ = ["ACCEPT_ENCODING", "MAX_BODY_BYTES", "BodyReader"]

# The answer is a few hundred bytes and a proxy's error page a few kilobytes; a body past this
# is not ours to read.
MAX_BODY_BYTES = 256 * 1024
# What we ask for: the encodings this reader decodes. (httpx would add br and zstd when their
# packages happen to be installed.)
ACCEPT_ENCODING = "gzip, deflate"

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class BodyReader:
    """Decodes one response body as its raw chunks arrive, producing at most the cap + 1 byte.
    Other encodings are kept as they came: such a body then fails its classification."""

    def __init__(self, headers: httpx.Headers) -> None:
        encoding = headers.get("content-encoding", "").strip().lower()
        self._wbits = _WBITS.get(encoding)
        self._decoder = None if self._wbits is None else zlib.decompressobj(self._wbits)
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, raw: bytes) -> int:
        """Decode ``raw`` and keep it; how many bytes it added (stops past the cap). Corrupt
        data raises ``httpx.DecodingError``."""
        room = MAX_BODY_BYTES + 1 - self._size
        if room <= 0:
            return 0
        if self._decoder is None:
            data = raw[:room]
        else:
            try:
                data = self._decoder.decompress(raw, room)
            except zlib.error:
                if self._wbits != zlib.MAX_WBITS or self._size:
                    raise httpx.DecodingError("the compressed body is corrupt") from None
                # "deflate" is also sent raw, without the zlib header (as httpx allows).
                self._wbits = -zlib.MAX_WBITS
                self._decoder = zlib.decompressobj(self._wbits)
                return self.feed(raw)
        self._size += len(data)
        self._parts.append(data)
        return len(data)

    def content(self) -> bytes:
        """The decoded body."""
        return b"".join(self._parts)
