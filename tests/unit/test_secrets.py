"""The app secret and the access token never reach a str, repr, log line or traceback."""

from __future__ import annotations

import logging
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import authing_wechat
import httpx
import pytest
from authing_wechat import AuthingAPIError, AuthingError, RetryPolicy
from authing_wechat.testing import FakeClock

from tests._support import SECRET, TOKEN, USER_TOKEN, Driver, Recorder, envelope

Scenario = Callable[[httpx.Request], httpx.Response]


def _echo(status: int) -> Scenario:
    def handler(request: httpx.Request) -> httpx.Response:
        # A careless server or proxy that echoes the request body back in its message.
        echoed = request.content.decode()
        return httpx.Response(status, json=envelope(status, message=f"bad request: {echoed}"))

    return handler


def _raise(exc: Exception) -> Scenario:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


SCENARIOS: dict[str, Scenario] = {
    "echo 400": _echo(400),
    "echo 503": _echo(503),
    "echo in 200": lambda r: httpx.Response(
        200, json=envelope(500, message=f"failed for {r.content.decode()}")
    ),
    "html 502": lambda r: httpx.Response(502, content=b"<html>" + r.content + b"</html>"),
    "malformed token": lambda r: httpx.Response(
        200, json=envelope(data={"accessToken": TOKEN, "expiresAt": "soon"})
    ),
    "secret as reason phrase": lambda r: httpx.Response(
        503, content=b"down", extensions={"reason_phrase": SECRET.encode()}
    ),
    "secret as requestId": lambda r: httpx.Response(
        500, json=envelope(500, message="boom", request_id=f"id-{SECRET}")
    ),
    "secret as requestId in 200": lambda r: httpx.Response(
        200, json=envelope(503, message="busy", request_id=SECRET)
    ),
    "secret in a Link header": lambda r: httpx.Response(
        500, json=envelope(500), headers={"link": f"<https://x/{SECRET}>; rel=successor-version"}
    ),
    "connect error": _raise(httpx.ConnectError("refused")),
    "error quoting the secret": _raise(httpx.RemoteProtocolError(f"bad header {SECRET}")),
    "closed client": _raise(RuntimeError("Cannot send a request, as the client has been closed")),
    "read timeout": _raise(httpx.ReadTimeout("timed out")),
}

# Servers that send the secret back: their answer (ours to hold, not to print) has it.
ECHOING = [
    SCENARIOS[name]
    for name in SCENARIOS
    if name.startswith(("echo", "html", "secret as", "secret in"))
]
UNRETRIED = [SCENARIOS["closed client"], SCENARIOS["malformed token"]]


def _assert_clean(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


PACKAGE = str(Path(authing_wechat.__file__).parent)


def _package_frames_in_pytest_report(error: BaseException) -> str:
    """pytest's failure report of our frames: their source lines and every argument.

    The test's own frames hold the canary as an argument; only the package's frames count.
    """
    from _pytest._code import ExceptionInfo
    from _pytest._code.code import ReprEntry

    report = ExceptionInfo.from_exception(error).getrepr(style="long", funcargs=True)
    shown = [
        str(entry)
        for entry in report.reprtraceback.reprentries
        if isinstance(entry, ReprEntry)
        and entry.reprfileloc is not None
        and str(Path(entry.reprfileloc.path).resolve()).startswith(PACKAGE)
    ]
    assert shown, "the traceback should go through the package"
    return "\n".join(shown)


def _package_frame_locals(error: BaseException) -> str:
    """Every local of our frames, as error trackers (Sentry and the like) capture them."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "\n".join(
        repr(frame.locals) for frame in summary.stack if frame.filename.startswith(PACKAGE)
    )


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_errors_logs_and_tracebacks_hold_no_secret(
    driver: Driver,
    scenario: Scenario,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    policy = RetryPolicy(max_attempts=2, jitter=False, budget=None)
    client = driver.client(Recorder(scenario), retry=policy, clock=FakeClock())
    with pytest.raises(AuthingError) as caught:
        driver.fetch(client)
    error = caught.value
    _assert_clean(str(error))
    _assert_clean(repr(error))
    _assert_clean(error.message)
    _assert_clean("".join(traceback.format_exception(error)))
    _assert_clean(_package_frames_in_pytest_report(error))
    if scenario not in ECHOING:
        # A server that echoes the secret back puts it in the response we hold as a local;
        # what we send is never a plain local.
        assert SECRET not in _package_frame_locals(error)
    _assert_clean(repr(error.request))
    # What debuggers and error trackers read: the request as sent, credentials redacted.
    assert error.request is not None
    _assert_clean(error.request.content.decode())
    assert b"[redacted]" in error.request.content
    if error.response is not None:
        _assert_clean(error.response.request.content.decode())
    cause = error.__cause__
    if isinstance(cause, httpx.RequestError):
        _assert_clean(cause.request.content.decode())
    if isinstance(error, AuthingAPIError):
        _assert_clean(repr(error.request_id))
    _assert_clean(repr(client))
    _assert_clean(caplog.text)
    if scenario not in UNRETRIED:
        assert caplog.records, "the retry should have logged"


def test_successful_call_logs_and_reprs_hold_no_secret(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = driver.client(Recorder(), access_token=USER_TOKEN)
    token = driver.fetch(client)
    _assert_clean(repr(token) + str(token) + repr(client) + caplog.text)
    assert USER_TOKEN not in repr(client) + caplog.text


def test_blank_input_errors_do_not_echo_values(driver: Driver) -> None:
    with pytest.raises(ValueError, match="app_id") as caught:
        driver.fetch(driver.client(), app_id=" ", app_secret=SECRET)
    _assert_clean("".join(traceback.format_exception(caught.value)))


@pytest.mark.parametrize("field", ["app_id", "app_secret"])
def test_text_utf8_cannot_encode_is_refused_without_echoing_it(driver: Driver, field: str) -> None:
    lone_surrogate = SECRET + "\ud800"
    arguments = {"app_id": "wx1", "app_secret": SECRET, field: lone_surrogate}
    recorder = Recorder()
    with pytest.raises(ValueError, match=f"^{field} holds characters") as caught:
        driver.fetch(
            driver.client(recorder), app_id=arguments["app_id"], app_secret=arguments["app_secret"]
        )
    assert not recorder.requests
    _assert_clean(repr(caught.value) + "".join(traceback.format_exception(caught.value)))


def test_the_user_access_token_is_redacted_from_the_request_errors_carry(driver: Driver) -> None:
    recorder = Recorder(lambda r: httpx.Response(400, json=envelope(400)))
    client = driver.client(recorder, access_token=USER_TOKEN)
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(client)
    assert recorder.requests[0].headers["authorization"] == USER_TOKEN  # was sent
    assert caught.value.request is not None
    assert caught.value.request.headers["authorization"] == "[redacted]"


_FILTERS_PROGRAM = """
import logging
import subprocess
import sys
import authing_wechat
from authing_wechat.testing import FakeClock  # the plugin's and helpers' imports: no filter yet

def filtered():
    return [bool(logging.getLogger(name).filters) for name in ("authing_wechat", "httpx")]

print(filtered())
{make}
print(filtered())
"""


@pytest.mark.parametrize(
    "make",
    [
        "authing_wechat.WechatTokenClient('https://a.authing.cn', 'app')",
        "authing_wechat.AsyncWechatTokenClient('https://a.authing.cn', 'app')",
        "class P:\n    def get(self): ...\n    def invalidate(self, t): ...\n"
        "    def record_rejection(self, e): ...\n"
        "authing_wechat.WechatAuth(P())",
    ],
    ids=["client", "async client", "WechatAuth"],
)
def test_the_log_filters_come_with_the_first_client_not_the_import(make: str) -> None:
    program = _FILTERS_PROGRAM.format(make=make)
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[False, False]", "[True, True]"]
