"""Hypothesis-generated bad input for every public constructor and method.

The rules, from the README and issue 10:

- a constructor refuses what cannot work with a ``ValueError`` or ``TypeError`` whose message
  names the argument; no other exception; bools are bools, a clock is a clock, every number of
  seconds is finite and within what a sleep or socket timeout can express, a host can resolve;
- what a constructor accepts works: a call then returns a token or raises an ``AuthingError``;
- a call raises only ``AuthingError``, or the documented ``ValueError`` / ``TypeError`` for its
  own arguments before any request is sent;
- no message, ``repr`` or traceback (with locals) of what is raised holds the app secret, a
  password from ``app_host`` or the user's access token.

Requests go to ``httpx.MockTransport``: nothing leaves the process. Retry sleeps go to a
``GuardClock`` that checks them as ``time.sleep`` would without waiting. Hypothesis runs bounded
and derandomized here; ``AUTHING_WECHAT_FUZZ_EXAMPLES`` (``make fuzz``) runs it long and random.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingError,
    RetryBudget,
    RetryPolicy,
    WechatAccessToken,
    WechatTokenClient,
)
from authing_wechat._cli import main as cli_main
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
    parse_fault_spec,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import _support
from tests.contract._spec_tools import fuzz_settings
from tests.hardening._hostile import (
    PASSWORD,
    USER_TOKEN,
    GuardClock,
    bools,
    cannot_be_a_host,
    flaky_then_ok,
    number_problem,
    numbers,
    seconds_problem,
    secrets,
    texts,
    urls,
)
from tests.hardening._soak import traceback_with_locals

T = TypeVar("T")
FLAVOURS = ("sync", "async")
_CANARIES = (_support.SECRET, PASSWORD, USER_TOKEN)
_SETTINGS = fuzz_settings(25)


def _leaks(error: BaseException, *, deep: bool = False) -> list[str]:
    """The canaries in the error's message or ``repr``; with ``deep``, the app secret in its
    traceback with locals too (what an error tracker sends)."""
    found = [c for c in _CANARIES if c in str(error) or c in repr(error)]
    if deep and _support.SECRET in traceback_with_locals(error):
        found.append(f"{_support.SECRET} (in the traceback's locals)")
    return found


def _attempt(call: Callable[[], T]) -> tuple[T | None, Exception | None]:
    try:
        return call(), None
    except Exception as error:  # judged by the caller
        return None, error


def _refused(argument: str, error: Exception) -> None:
    """A refusal is a ValueError or TypeError that names the argument and holds no secret."""
    if not isinstance(error, ValueError | TypeError):
        raise error  # hypothesis reports the raw exception with its own traceback
    message = str(error)
    assert argument in message, (
        f"the {type(error).__name__} does not name {argument!r}: {message!r}"
    )
    assert not _leaks(error), f"the {type(error).__name__} for {argument!r} leaks a secret"


def _construct(argument: str, build: Callable[[], T], problem: str | None) -> T | None:
    """Build; a refusal is judged, an acceptance must be of a value that can work."""
    made, error = _attempt(build)
    if error is not None:
        _refused(argument, error)
        return None
    assert problem is None, f"{argument}: accepted a value that cannot work ({problem})"
    return made


def _run(flavour: str, value: Any) -> Any:
    return asyncio.run(_awaited(value)) if flavour == "async" else value


async def _awaited(value: Any) -> Any:
    return await value


def _outcome(call: Callable[[], object], recorder: _support.Recorder, argument: str = "") -> None:
    """A call's outcome: a token, an ``AuthingError``, or (for ``argument``) a refusal before
    any request; nothing holds a secret."""
    result, error = _attempt(call)
    if isinstance(error, AuthingError):
        assert not _leaks(error, deep=True), f"{type(error).__name__} leaks a secret: {error!r}"
    elif error is not None:
        if not argument:
            raise error  # a call with good arguments raises only AuthingError
        assert not recorder.requests, (
            f"{type(error).__name__} raised after {len(recorder.requests)} request(s)"
        )
        _refused(argument, error)
    else:
        assert isinstance(result, WechatAccessToken), f"returned {type(result).__name__}"


def _client(flavour: str, recorder: _support.Recorder | None = None, **kwargs: Any) -> Any:
    transport = httpx.MockTransport(recorder or flaky_then_ok())
    kwargs.setdefault(
        "http_client",
        httpx.Client(transport=transport)
        if flavour == "sync"
        else httpx.AsyncClient(transport=transport),
    )
    kwargs.setdefault("clock", GuardClock())
    kwargs.setdefault("retry", RetryPolicy(jitter=False))
    cls = WechatTokenClient if flavour == "sync" else AsyncWechatTokenClient
    return cls(
        kwargs.pop("app_host", _support.APP_HOST), kwargs.pop("authing_app_id", "app"), **kwargs
    )


def _fetch(
    flavour: str, client: Any, *, legacy: bool = False, **kwargs: Any
) -> Callable[[], object]:
    kwargs.setdefault("app_id", "wx123")
    kwargs.setdefault("app_secret", _support.SECRET)
    name = "get_wechat_mp_access_token" if legacy else "get_wechat_mp_access_token_info"

    def call() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecated twin warns, as it should
            return _run(flavour, getattr(client, name)(**kwargs))

    return call


def _exercise(flavour: str, build: Callable[[_support.Recorder], Any]) -> None:
    """Make a call on a client built with a value the constructor accepted."""
    recorder = flaky_then_ok()
    client = build(recorder)
    _outcome(_fetch(flavour, client), recorder)


# --- client constructors ---------------------------------------------------------------------


def _text(value: object) -> str | None:
    # Any str may be refused (blank, control characters) or accepted and then must work.
    return None if isinstance(value, str) else "not a str"


def _choice(*choices: object) -> Callable[[object], str | None]:
    def problem(value: object) -> str | None:
        return None if value in choices else f"{value!r} is not one of {choices}"

    return problem


def _bool(value: object) -> str | None:
    return None if isinstance(value, bool) else "not a bool"


def _never(why: str) -> Callable[[object], str | None]:
    return lambda value: why


# Each argument: the hostile values to draw, and why a value must be refused (None: it may be
# accepted, and then a call must work).
_CLIENT_ARGUMENTS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str | None]]] = {
    "app_host": (urls(), lambda v: cannot_be_a_host(v) if isinstance(v, str) else "not a str"),
    "authing_app_id": (texts(), _text),
    "access_token": (
        st.builds(lambda a: a + USER_TOKEN + a, st.sampled_from(["", "\n", " ", "é"])) | texts(),
        lambda v: None if v is None else _text(v),  # None: no user token, the default
    ),
    "timeout": (numbers(), lambda v: seconds_problem(v, positive=True)),
    "allow_insecure_http": (bools(), _bool),
    # The time module has time(), monotonic() and sleep() but no asleep().
    "clock": (st.sampled_from([object(), "clock", 1, FakeClock, time]), _never("not a Clock")),
    "brand": (texts(), _choice("authing", "genauth")),
    "lang": (texts(), _choice(None, "zh-CN", "en-US")),
    "deprecated": (texts(), _choice("warn", "error", "migrate")),
    "on_deprecation": (st.sampled_from([1, "print", object(), b"x"]), _never("not callable")),
}


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("argument", sorted(_CLIENT_ARGUMENTS))
@_SETTINGS
@given(data=st.data())
def test_client_constructor_refuses_or_works(
    flavour: str, argument: str, data: st.DataObject
) -> None:
    strategy, rule = _CLIENT_ARGUMENTS[argument]
    value = data.draw(strategy, label=argument)
    kwargs = {argument: value}
    made = _construct(argument, lambda: _client(flavour, **kwargs), rule(value))
    if made is not None:
        _exercise(flavour, lambda recorder: _client(flavour, recorder, **kwargs))


# --- retry settings --------------------------------------------------------------------------

_RETRY_SECONDS = {
    "initial_backoff": False,
    "max_backoff": False,
    "max_retry_after": False,
    "deadline": True,
}


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("argument", [*sorted(_RETRY_SECONDS), "max_attempts", "jitter"])
@_SETTINGS
@given(data=st.data())
def test_retry_policy_refuses_or_works(flavour: str, argument: str, data: st.DataObject) -> None:
    value = data.draw(bools() if argument == "jitter" else numbers(), label=argument)
    kwargs: dict[str, Any] = {argument: value, "jitter": False}
    if argument == "jitter":
        kwargs["jitter"] = value
        problem = None if isinstance(value, bool) else "not a bool"
    elif argument == "max_attempts":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        problem = None if ok else "not an int >= 1"
    else:
        problem = seconds_problem(
            value, positive=_RETRY_SECONDS[argument], optional=argument == "deadline"
        )
    if argument == "initial_backoff" and problem is None:
        kwargs["max_backoff"] = max(float(value), 4.0)
    if argument == "max_backoff" and problem is None and float(value) < 0.25:
        kwargs["initial_backoff"] = float(value)
    policy = _construct(argument, lambda: RetryPolicy(**kwargs), problem)
    if policy is not None:
        _exercise(flavour, lambda recorder: _client(flavour, recorder, retry=policy))


@pytest.mark.parametrize("argument", ["max_tokens", "token_ratio"])
@_SETTINGS
@given(value=numbers())
def test_retry_budget_refuses_or_works(argument: str, value: Any) -> None:
    problem = number_problem(value, minimum=0)
    budget = _construct(argument, lambda: RetryBudget(**{argument: value}), problem)
    if budget is not None:
        policy = RetryPolicy(budget=budget)
        _exercise("sync", lambda recorder: _client("sync", recorder, retry=policy))


# --- with_options and token_provider ----------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("argument", ["timeout", "retry", "deprecated", "lang", "access_token"])
@_SETTINGS
@given(data=st.data())
def test_with_options_refuses_or_works(flavour: str, argument: str, data: st.DataObject) -> None:
    strategy = {"timeout": numbers(), "retry": texts() | numbers()}.get(argument, texts())
    value = data.draw(strategy, label=argument)
    if argument == "timeout":
        problem = seconds_problem(value, positive=True, optional=True)
    elif argument == "retry":
        problem = None if value is None else "not a RetryPolicy"
    elif argument == "access_token":
        problem = None if value is None or isinstance(value, str) else "not a str"
    else:
        allowed = {
            "deprecated": (None, "warn", "error", "migrate"),
            "lang": (None, "zh-CN", "en-US"),
        }
        problem = None if value in allowed[argument] else "not a documented choice"
    base = _client(flavour)
    derived = _construct(argument, lambda: base.with_options(**{argument: value}), problem)
    if derived is not None:
        _outcome(_fetch(flavour, derived), flaky_then_ok())


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    "argument", ["refresh_margin", "min_refresh_interval", "app_id", "app_secret"]
)
@_SETTINGS
@given(data=st.data())
def test_token_provider_refuses_or_works(flavour: str, argument: str, data: st.DataObject) -> None:
    strategy = {"app_id": texts(), "app_secret": secrets()}.get(argument, numbers())
    value = data.draw(strategy, label=argument)
    kwargs: dict[str, Any] = {"app_id": "wx123", "app_secret": _support.SECRET, argument: value}
    if argument in ("app_id", "app_secret"):
        problem = None  # a str may be refused (blank) or accepted; judged below
        if not isinstance(value, str):
            problem = "not a str"
    else:
        problem = seconds_problem(value, positive=False)
    recorder = flaky_then_ok()
    client = _client(flavour, recorder)
    provider = _construct(argument, lambda: client.token_provider(**kwargs), problem)
    if provider is not None:
        _outcome(lambda: _run(flavour, provider.get()), recorder)
        with contextlib.suppress(TypeError):  # a non-token may be refused, nothing else
            provider.invalidate(None)


@pytest.mark.parametrize("flavour", FLAVOURS)
@_SETTINGS
@given(value=texts() | st.sampled_from([object(), 1, b"token"]))
def test_provider_invalidate_refuses_or_works(flavour: str, value: Any) -> None:
    fresh = {"accessToken": _support.TOKEN, "expiresAt": str(int(time.time()) + 7200)}
    answer = httpx.Response(200, json=_support.envelope(data=fresh))
    client = _client(flavour, _support.Recorder(lambda request: answer))
    provider = client.token_provider(app_id="wx123", app_secret=_support.SECRET)
    _run(flavour, provider.get())  # a cached token, which invalidate() compares with
    problem = None if value is None else "not a WechatAccessToken or None"  # None drops any
    _construct("token", lambda: provider.invalidate(value), problem)


# --- the calls ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("legacy", [False, True], ids=["info", "deprecated"])
@pytest.mark.parametrize("argument", ["app_id", "app_secret"])
@_SETTINGS
@given(data=st.data())
def test_call_raises_authing_error_or_refuses_before_any_request(
    flavour: str, legacy: bool, argument: str, data: st.DataObject
) -> None:
    value = data.draw(secrets() if argument == "app_secret" else texts(), label=argument)
    recorder = flaky_then_ok()
    client = _client(flavour, recorder, deprecated="migrate" if legacy else "warn")
    _outcome(_fetch(flavour, client, legacy=legacy, **{argument: value}), recorder, argument)


# --- testing tools: FakeClock and Fault -----------------------------------------------------------


@_SETTINGS
@given(start=numbers(), seconds=numbers())
def test_fake_clock_refuses_or_works(start: Any, seconds: Any) -> None:
    problem = number_problem(start)
    clock = _construct("start", lambda: FakeClock(start=start), problem) or FakeClock()
    # A fake sleep of any finite length is fine: nothing waits.
    problem = seconds_problem(seconds, positive=False, bounded=False)
    _construct("seconds", lambda: clock.sleep(seconds), problem)
    _construct("seconds", lambda: clock.advance(seconds), problem)


def _optional(kind: type) -> Callable[[object], str | None]:
    def problem(value: object) -> str | None:
        ok = value is None or (isinstance(value, kind) and not isinstance(value, bool))
        return None if ok else f"not a {kind.__name__} or None"

    return problem


def _delay(value: object) -> str | None:
    # A fake clock makes any finite delay instant.
    return seconds_problem(value, positive=False, bounded=False)


# Each argument of the Fault constructors: how to build one with it, and why a value must be
# refused (``None``: may be accepted; the status ranges are the constructors' to check).
_FAULT_ARGUMENTS: dict[str, tuple[Callable[[Any], Fault], Callable[[Any], str | None]]] = {
    "status": (Fault.status, lambda v: None),
    "retry_after": (lambda v: Fault.status(503, retry_after=v), _optional(str)),
    "retry_after_ms": (lambda v: Fault.html(502, retry_after_ms=v), _optional(str)),
    "delay": (lambda v: Fault.drop(delay=v), _delay),
    "seconds": (Fault.delay, _delay),
    "status_code": (Fault.envelope_error, lambda v: None),
    "api_code": (lambda v: Fault.envelope_error(500, api_code=v), _optional(int)),
    "message": (lambda v: Fault.status(500, message=v), _optional(str)),
}


@pytest.mark.parametrize("argument", sorted(_FAULT_ARGUMENTS))
@_SETTINGS
@given(data=st.data())
def test_fault_constructors_refuse_or_work(argument: str, data: st.DataObject) -> None:
    build, rule = _FAULT_ARGUMENTS[argument]
    value = data.draw(texts() | numbers(), label=argument)
    fault = _construct(argument, lambda: build(value), rule(value))
    if fault is None:
        return
    server = MockAuthingServer(clock=FakeClock())
    server.add_fault(SUCCESSOR_PATH, fault)
    client = WechatTokenClient(
        _support.APP_HOST,
        "app",
        http_client=httpx.Client(transport=MockAuthingTransport(server)),
        clock=FakeClock(),
        retry=None,
    )
    _outcome(_fetch("sync", client), _support.Recorder())


@_SETTINGS
@given(text=texts() | st.text(max_size=60))
def test_parse_fault_spec_raises_only_value_or_type_error(text: Any) -> None:
    with contextlib.suppress(ValueError, TypeError):
        parse_fault_spec(text)


# --- the command line ------------------------------------------------------------------------

_FLAGS = [
    "--app-secret", "--app-sec", "--app-s", "--secret", "--app-secret-std", "--app", "-s",
    "--app-secret=", "--timeout", "--max-attempts", "--brand", "--lang", "--app-id",
]  # fmt: skip


@settings(_SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.lists(st.sampled_from(_FLAGS), min_size=1, max_size=3), glue=st.booleans())
def test_cli_never_echoes_the_secret(
    flags: list[str], glue: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AUTHING_APP_HOST", "AUTHING_APP_ID", "WECHAT_APP_ID", "WECHAT_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    argv = ["token"]
    for flag in flags:
        argv += [flag + _support.SECRET] if glue and flag.endswith("=") else [flag, _support.SECRET]
    output = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    # argparse's usage errors exit.
    redirect = contextlib.redirect_stdout(output), contextlib.redirect_stderr(output)
    with redirect[0], redirect[1], contextlib.suppress(SystemExit):
        cli_main(argv)
    assert _support.SECRET not in output.getvalue(), f"{argv[:-1]} echoes the secret"
