"""The one reader of dates in ``Retry-After``, ``Deprecation`` and ``Sunset`` headers. It never
raises: any value that is not a date a UTC ``datetime`` can hold reads as ``None``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["parse_epoch_date", "parse_header_date", "parse_http_date"]

# Everything the standard library can raise on a date it cannot represent.
_DATE_ERRORS = (TypeError, ValueError, IndexError, OverflowError, OSError)
# RFC 9745 / RFC 9651: "@" then integer seconds since the epoch (15 digits is year ~31 million,
# already out of range; more would only make int() slower).
_EPOCH = re.compile(r"@(-?[0-9]{1,15})")


def _utc(when: datetime) -> datetime | None:
    if when.tzinfo is None:  # "-0000" and asctime dates parse naive; an HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except _DATE_ERRORS:
        return None


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (RFC 9110, or with a numeric offset as servers send) as aware UTC."""
    try:
        when = parsedate_to_datetime(value.strip())
    except _DATE_ERRORS:
        return None
    return _utc(when)


def parse_epoch_date(value: str) -> datetime | None:
    """An RFC 9651 date (``@<epoch seconds>``, as RFC 9745 ``Deprecation`` sends) as aware UTC."""
    match = _EPOCH.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return datetime.fromtimestamp(int(match.group(1)), tz=UTC)
    except _DATE_ERRORS:
        return None


def parse_header_date(value: str) -> datetime | None:
    """A date in either form a deprecation header uses: ``@<epoch>`` or an HTTP-date."""
    return parse_epoch_date(value) if value.strip().startswith("@") else parse_http_date(value)
