"""The body reader: decoded size bounded whatever the encoding, a gzip bomb included."""

from __future__ import annotations

import gzip
import json
import zlib

import httpx
import pytest
from authing_wechat import AuthingResponseError
from authing_wechat._core._body import MAX_BODY_BYTES, BodyReader

from tests._support import Driver, Recorder, envelope

BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB


def _read(encoding: str | None, raw: bytes, chunk: int = 8192) -> tuple[bytes, int]:
    headers = httpx.Headers({} if encoding is None else {"content-encoding": encoding})
    reader = BodyReader(headers)
    produced = sum(reader.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
    return reader.content(), produced


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_a_body_is_decoded_as_its_encoding_says(encoding: str | None, encode: object) -> None:
    body = json.dumps(envelope()).encode()
    content, produced = _read(encoding, encode(body))  # type: ignore[operator]
    assert content == body
    assert produced == len(body)


def test_a_gzip_bomb_is_cut_off_just_past_the_cap() -> None:
    content, produced = _read("gzip", BOMB)
    assert produced == len(content) == MAX_BODY_BYTES + 1


def test_corrupt_compressed_data_is_a_decoding_error() -> None:
    with pytest.raises(httpx.DecodingError):
        _read("gzip", b"\x1f\x8b" + b"not gzip at all" * 10)


def test_an_encoding_it_does_not_decode_is_kept_as_it_came() -> None:
    content, _ = _read("br", b"\x0b\x02\x80{}\x03")
    assert content == b"\x0b\x02\x80{}\x03"


def test_a_gzip_bomb_fails_the_call_as_a_response_error(driver: Driver) -> None:
    recorder = Recorder(
        lambda request: httpx.Response(
            200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(BOMB)
        )
    )
    with pytest.raises(AuthingResponseError, match="larger than"):
        driver.fetch(driver.client(recorder))


def test_the_client_asks_only_for_the_encodings_it_bounds(driver: Driver) -> None:
    recorder = Recorder(
        lambda request: httpx.Response(
            200,
            headers={"content-encoding": "gzip"},
            content=gzip.compress(json.dumps(envelope()).encode()),
        )
    )
    assert driver.fetch(driver.client(recorder)).access_token
    assert recorder.requests[0].headers["accept-encoding"] == "gzip, deflate"
