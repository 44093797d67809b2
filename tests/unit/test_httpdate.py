"""The one header-date parser: ``Retry-After``, ``Deprecation`` and ``Sunset`` never raise."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from authing_wechat._core._deprecation import parse_deprecation_headers
from authing_wechat._core._httpdate import parse_epoch_date, parse_header_date, parse_http_date
from authing_wechat._core._retry import parse_retry_after
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._support import Driver, Recorder, envelope

# Dates that parse as HTTP-dates but cannot be represented in UTC, and other hostile values.
OUT_OF_RANGE = [
    "Fri, 31 Dec 9999 23:59:59 -2359",  # pushed past year 9999 by its offset
    "Wed, 31 Feb 2025 00:00:00 GMT",
    "Sat, 01 Jan 99999 00:00:00 GMT",
    "Sun, 06 Nov 1994 25:61:61 GMT",
    "",
    "   ",
    "not a date",
    "@" + "9" * 15,
    "@-" + "9" * 15,
    "@1e10",
]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_an_unrepresentable_date_reads_as_none(value: str) -> None:
    assert parse_http_date(value) is None
    assert parse_epoch_date(value) is None
    assert parse_header_date(value) is None


def test_the_three_http_date_forms_and_offsets_read_as_utc() -> None:
    expected = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    for value in (
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 16:49:37 +0800",
        "Sun, 06 Nov 1994 08:49:37 -0000",
    ):
        assert parse_http_date(value) == expected, value
    assert parse_epoch_date("@784111777") == expected
    assert parse_header_date("@784111777") == expected
    assert parse_header_date("Sun, 06 Nov 1994 08:49:37 GMT") == expected


def test_deprecation_accepts_epoch_true_and_http_date_and_survives_bad_sunset() -> None:
    for value, when in (
        ("@784111777", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("true", None),
        ("Sun, 06 Nov 1994 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
    ):
        headers = httpx.Headers({"deprecation": value, "sunset": OUT_OF_RANGE[0]})
        notice = parse_deprecation_headers(headers, "/x")
        assert notice is not None
        assert notice.deprecated_at == when
        assert notice.sunset is None


def test_an_out_of_range_retry_after_date_falls_back_to_backoff() -> None:
    for value in OUT_OF_RANGE:
        assert parse_retry_after(httpx.Headers({"retry-after": value}), now=0.0) is None


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=60))
def test_no_text_makes_a_header_parser_raise(value: str) -> None:
    parse_header_date(value)
    parse_http_date(value)
    raw = value.encode("utf-8")
    headers = httpx.Headers([(b"deprecation", raw), (b"sunset", raw), (b"retry-after", raw)])
    parse_deprecation_headers(headers, "/x")
    parse_retry_after(headers, now=0.0)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-2359, max_value=2359).filter(lambda n: abs(n) % 100 < 60),
)
def test_any_date_with_any_offset_never_raises(when: datetime, offset: int) -> None:
    sign = "-" if offset < 0 else "+"
    value = when.strftime("%a, %d %b %Y %H:%M:%S ") + f"{sign}{abs(offset):04d}"
    parsed = parse_http_date(value)
    assert parsed is None or parsed.tzinfo is UTC


@pytest.mark.parametrize("value", OUT_OF_RANGE[:2])
def test_a_good_answer_with_an_unrepresentable_sunset_is_a_token(
    driver: Driver, value: str
) -> None:
    recorder = Recorder(
        lambda request: httpx.Response(
            200, json=envelope(), headers={"deprecation": "@1735689600", "sunset": value}
        )
    )
    client = driver.client(recorder)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        token = driver.fetch(client)
    assert token.deprecation is not None
    assert token.deprecation.deprecated_at == datetime(2025, 1, 1, tzinfo=UTC)
    driver.close(client)
