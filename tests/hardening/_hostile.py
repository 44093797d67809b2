"""Hostile input for the fuzz tests: strategies, the rules an accepted value must meet, a clock.

Every strategy mixes named nasty values (the cases issue reports name: ``nan``, ``1e10``,
``10**400``, lone surrogates, NUL, CR/LF, ``"false"``, ``object()``...) with generated ones.
"""

from __future__ import annotations

import math
import threading
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
from authing_wechat import AuthingDeprecationWarning
from hypothesis import strategies as st

from tests import _support

__all__ = [
    "PASSWORD",
    "USER_TOKEN",
    "GuardClock",
    "bools",
    "cannot_be_a_host",
    "flaky_then_ok",
    "number_problem",
    "numbers",
    "seconds_problem",
    "secrets",
    "texts",
    "urls",
]

# A password in app_host's userinfo and a user access token: as secret as the app secret.
PASSWORD = "CANARY-userinfo-password-77e1c0"
USER_TOKEN = "CANARY-user-access-token-5b20aa"
# Longer than any sleep or socket timeout the platform can express (about 292 years).
SLEEP_MAX = threading.TIMEOUT_MAX

_NAMED_NUMBERS: list[Any] = [
    math.nan, math.inf, -math.inf, -1, -1e-9, 0, 0.0, -0.0, 1e-320, 0.001, 1, 30, 1e6,
    1e10, 1e300, 10**400, -(10**400), 2**63, 2**1024, True, False,
]  # fmt: skip
_NOT_NUMBERS: list[Any] = [
    "1", "0.5", "nan", "false", "", None, b"1", [], {}, object(), 1j, Decimal("1"),
    Decimal("NaN"), Fraction(1, 3),
]  # fmt: skip
_FRAGMENTS = [
    "", " ", "\x00", "\ud800", "\udfff", "a\ud800b", "\r\n", "a\r\nX-Injected: 1", "\n", "\t",
    "false", "true", "None", "é", "秘密", "%00", "\u202e", "\ufeff", "\x7f", "a" * 5000,
]  # fmt: skip
_HOSTS = [
    "example.authing.cn", "a..b", "a" * 64 + ".cn", "a" * 63 + ".cn", ".", "..", "-a.cn",
    "xn--zz.cn", "xn--.cn", "例え.jp", "例え..jp", "[::1]", "127.0.0.1", "localhost",
    "LOCALHOST", "localhost.", "127.1", "0x7f000001", "a.b.", "exa mple.cn", "ex%41mple.cn",
    "a." * 130 + "cn", "[::ffff:127.0.0.1]", "[fe80::1%25eth0]", "", "\x00.cn", "a\ud800.cn",
    "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.cn", "example.authing.cn\r\nX: 1",
]  # fmt: skip


def numbers() -> st.SearchStrategy[Any]:
    """Numbers of every kind and size, and values that only look like numbers."""
    return st.one_of(
        st.sampled_from(_NAMED_NUMBERS),
        st.sampled_from(_NOT_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(2**80), max_value=2**80),
    )


def texts() -> st.SearchStrategy[Any]:
    """Strings with control characters, surrogates, non-ASCII; and non-strings."""
    generated = st.text(st.characters(exclude_categories=()), max_size=40)
    return st.one_of(
        st.sampled_from(_FRAGMENTS),
        generated,
        st.builds(lambda a, b: a + "x" + b, st.sampled_from(_FRAGMENTS), generated),
        st.sampled_from([*_NOT_NUMBERS[4:], 1, 1.5, True]),
    )


def secrets() -> st.SearchStrategy[Any]:
    """An app secret holding the canary among hostile characters (or a non-str holding it)."""
    text = st.sampled_from(_FRAGMENTS) | st.text(st.characters(exclude_categories=()), max_size=8)
    return st.one_of(
        st.builds(lambda a, b: a + _support.SECRET + b, text, text),
        st.just(_support.SECRET.encode()),
        st.just([_support.SECRET]),
    )


def bools() -> st.SearchStrategy[Any]:
    """Things that are not a bool but are often mistaken for one."""
    return st.sampled_from(["false", "False", "0", "", "no", 0, 1, 0.0, None, [], object()])


def urls() -> st.SearchStrategy[Any]:
    """``app_host`` values: odd schemes, userinfo with a password, bad hosts, ports, paths."""
    built = st.builds(
        "{}://{}{}{}{}".format,
        st.sampled_from(["https", "http", "HTTPS", "ftp", "", "https:"]),
        st.sampled_from(["", "user@", f"user:{PASSWORD}@", ":@", f":{PASSWORD}@"]),
        st.sampled_from(_HOSTS)
        | st.from_regex(r"[a-z0-9-]{1,70}(\.[a-z0-9-]{0,70}){0,3}", fullmatch=True),
        st.sampled_from(["", ":443", ":0", ":65536", ":-1", ":abc", ":"]),
        st.sampled_from(["", "/", "/%00", "/a/../b", "?q=1", "#f", "/\x00", " ", "/é", "/%2e%2e"]),
    )
    return st.one_of(built, texts())


def cannot_be_a_host(app_host: str) -> str | None:
    """Why the host of an accepted ``app_host`` can never be reached, or ``None``.

    DNS refuses a name with an empty label or a label longer than 63 characters: such a host
    fails on every call (as ``UnicodeError`` from the socket layer), so the constructor must
    refuse it.
    """
    try:
        host = httpx.URL(app_host.strip()).host
    except Exception:  # the constructor accepted what httpx cannot parse: reported elsewhere
        return None
    if not host or host.startswith("[") or ":" in host:
        return None
    labels = host.rstrip(".").split(".")
    try:
        encoded = [label.encode("idna") if label else b"" for label in labels]
    except UnicodeError:
        return f"host {host!r} is not a valid internationalised domain name"
    if any(not label for label in encoded):
        return f"host {host!r} has an empty label"
    if any(len(label) > 63 for label in encoded):
        return f"host {host!r} has a label longer than 63 characters"
    return None


def number_problem(value: object, *, minimum: float = -math.inf, strict: bool = True) -> str | None:
    """Why a value must be refused as a finite number above ``minimum``, or ``None``.

    Args:
        value: The value.
        minimum: The lower bound.
        strict: ``minimum`` itself is refused too.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{type(value).__name__} is not a number"
    try:
        number = float(value)
    except OverflowError:
        return "too large for a float"
    low_enough = number <= minimum if strict else number < minimum
    if not math.isfinite(number) or low_enough:
        return f"{value!r} is not a finite number {'>' if strict else '>='} {minimum}"
    return None


def seconds_problem(
    value: object, *, positive: bool, optional: bool = False, bounded: bool = True
) -> str | None:
    """Why a number of seconds must be refused, or ``None`` if it can work.

    Args:
        value: The number of seconds.
        positive: Zero is refused too.
        optional: ``None`` is accepted.
        bounded: Seconds past what a sleep or socket timeout can express are refused.
    """
    if optional and value is None:
        return None
    problem = number_problem(value, minimum=0, strict=positive)
    if problem is None and bounded and float(value) > SLEEP_MAX:  # type: ignore[arg-type]
        return f"{value!r} s is past what a sleep or socket timeout can express"
    return problem


class GuardClock:
    """Real readings; sleeps are recorded and checked as ``time.sleep`` checks them, not waited.

    A sleep ``time.sleep`` would refuse raises what it would raise; a sleep longer than any the
    platform can express, which ``asyncio.sleep`` would accept and never finish, raises
    ``AssertionError``, so the call escapes with it and the test reports it.
    """

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if math.isnan(seconds):
            raise ValueError("Invalid value NaN (not a number)")
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if seconds > SLEEP_MAX:
            raise OverflowError("sleep length is too large")

    async def asleep(self, seconds: float) -> None:
        if not math.isnan(seconds) and seconds > SLEEP_MAX:
            raise AssertionError(f"asyncio.sleep({seconds!r}) would never return")
        self.sleep(seconds)


def flaky_then_ok() -> _support.Recorder:
    """A 503 without a hint (so the retry backs off), then a valid token."""
    return _support.Recorder(
        [
            httpx.Response(503, json=_support.envelope(503, message="busy")),
            httpx.Response(200, json=_support.envelope()),
        ]
    )


# Deprecation warnings are expected from the deprecated twin; nothing else is.
EXPECTED_WARNINGS = (AuthingDeprecationWarning,)
