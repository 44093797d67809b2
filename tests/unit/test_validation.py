"""Constructor arguments: refused up front with a typed error that names the argument."""

from __future__ import annotations

import math
from typing import Any

import pytest
from authing_wechat import AsyncWechatTokenClient, RetryBudget, RetryPolicy, WechatTokenClient
from authing_wechat._core._validation import MAX_SECONDS, check_bool, check_clock, check_seconds
from authing_wechat.testing import FakeClock

from tests._support import APP_HOST, SECRET

CLIENTS = [WechatTokenClient, AsyncWechatTokenClient]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (True, TypeError),
        ("1", TypeError),
        (None, TypeError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-1, ValueError),
        (MAX_SECONDS + 1, ValueError),
        (1e10, ValueError),
        (10**400, ValueError),
    ],
)
def test_check_seconds_refuses_what_cannot_be_slept_or_timed(value: Any, error: type) -> None:
    with pytest.raises(error, match=r"^delay "):
        check_seconds("delay", value)


def test_check_seconds_accepts_ints_and_floats_in_range() -> None:
    assert check_seconds("delay", 0) == 0.0
    assert check_seconds("delay", MAX_SECONDS) == MAX_SECONDS
    with pytest.raises(ValueError, match="> 0"):
        check_seconds("delay", 0, positive=True)


def test_check_bool_refuses_truthy_strings() -> None:
    assert check_bool("flag", False) is False
    for value in ("false", "False", 0, 1, None):
        with pytest.raises(TypeError, match=r"^flag must be True or False"):
            check_bool("flag", value)


def test_check_clock_names_what_is_missing() -> None:
    check_clock("clock", FakeClock())
    check_clock("clock", None)
    with pytest.raises(TypeError, match=r"clock must be a Clock.*lacks monotonic, time, sleep"):
        check_clock("clock", object())
    with pytest.raises(TypeError, match="clock must be a Clock instance, not the class FakeClock"):
        check_clock("clock", FakeClock)


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"timeout": 1e10}, ValueError, "timeout"),
        ({"timeout": 10**400}, ValueError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"allow_insecure_http": "false"}, TypeError, "allow_insecure_http"),
        ({"clock": object()}, TypeError, "clock"),
        ({"on_deprecation": "print"}, TypeError, "on_deprecation"),
        ({"retry": {"max_attempts": 2}}, TypeError, "retry"),
        ({"brand": "wechat"}, ValueError, "brand"),
        ({"lang": "fr-FR"}, ValueError, "lang"),
        ({"deprecated": "ignore"}, ValueError, "deprecated"),
        ({"access_token": "a\nb"}, ValueError, "access_token"),
    ],
)
def test_the_constructor_names_the_argument_it_refuses(
    client_class: type, kwargs: dict[str, Any], error: type, name: str
) -> None:
    with pytest.raises(error, match=f"^'?{name}'? "):
        client_class(APP_HOST, "authing-app", **kwargs)


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize(
    "app_host",
    [
        "https://" + "a" * 64 + ".authing.cn",
        "https://a..b",
        "https://-a.authing.cn",
        "https://" + "a." * 127 + "cn",
        "https://example.authing.cn/%00",
        "https://example.authing.cn:99999",
        "https://example.authing.cn/?q=1",
        "ftp://example.authing.cn",
        "https://",
        "example.authing.cn",
    ],
)
def test_an_app_host_that_cannot_be_reached_is_refused(client_class: type, app_host: str) -> None:
    with pytest.raises(ValueError, match=r"^app_host"):
        client_class(app_host, "authing-app")


@pytest.mark.parametrize("client_class", CLIENTS)
def test_a_password_in_app_host_is_refused_and_never_echoed(client_class: type) -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        client_class(f"https://user:{SECRET}@example.authing.cn", "authing-app")
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_backoff": 1e300, "max_backoff": 1e300, "jitter": False},
        {"max_backoff": 10**400},
        {"max_retry_after": 1e10},
        {"deadline": 1e10},
        {"deadline": 0},
    ],
)
def test_a_retry_policy_that_would_overflow_a_sleep_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"^{next(iter(kwargs))} "):
        RetryPolicy(**kwargs)


def test_a_budget_with_an_unbounded_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^max_tokens "):
        RetryBudget(max_tokens=10**400)


@pytest.mark.parametrize("client_class", CLIENTS)
def test_with_options_checks_the_changed_values_again(client_class: type) -> None:
    client = client_class(APP_HOST, "authing-app")
    with pytest.raises(ValueError, match=r"^timeout "):
        client.with_options(timeout=1e10)
    with pytest.raises(TypeError, match=r"^retry "):
        client.with_options(retry="none")
    derived = client.with_options(timeout=2.0, retry=None)
    assert derived.retry is None
    assert client.retry is not None
    assert "timeout=2.0" in repr(derived)
    assert "timeout=10.0" in repr(client)
