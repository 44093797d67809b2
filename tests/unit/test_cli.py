"""``authing-wechat token`` and ``authing-wechat demo``, against the mock server on loopback."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from authing_wechat._cli import main
from authing_wechat._cli._demo import run_demo
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    Fault,
    MockAuthingServer,
    MockServerHandle,
    run_mock_server,
)

from tests._support import SECRET, interruptible_cli, sigint_ignored

ENV = ("AUTHING_APP_HOST", "AUTHING_APP_ID", "AUTHING_BRAND", "WECHAT_APP_ID",
       "WECHAT_APP_SECRET", "AUTHING_LANG", "AUTHING_ACCESS_TOKEN")  # fmt: skip


@pytest.fixture
def mock() -> Iterator[MockServerHandle]:
    with run_mock_server(MockAuthingServer()) as handle:
        yield handle


@pytest.fixture
def configured(mock: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> MockServerHandle:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTHING_APP_HOST", mock.url)
    monkeypatch.setenv("AUTHING_APP_ID", "cli-app")
    monkeypatch.setenv("WECHAT_APP_ID", "wx-cli")
    monkeypatch.setenv("WECHAT_APP_SECRET", SECRET)
    return mock


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["token", "--max-attempts", "1", *argv])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "Traceback" not in err
    return code, out, err


def test_prints_the_bare_token(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys)
    assert code == 0
    (line,) = out.splitlines()  # the token, alone on stdout
    assert line.startswith("mock")
    assert err == ""
    request = configured.server.requests[-1]
    assert request.path == SUCCESSOR_PATH
    assert request.body == {"appId": "wx-cli", "appSecret": SECRET}
    assert request.headers["x-authing-app-id"] == "cli-app"


def test_json_output(configured: MockServerHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"accessToken", "expiresAt", "expiresAtEpoch", "requestId", "attempts",
                         "deprecation"}  # fmt: skip
    assert data["attempts"] == 1
    assert data["deprecation"] is None
    assert data["expiresAt"].endswith("+00:00")


def test_flags_override_the_environment_and_genauth_headers(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _run(capsys, "--brand", "genauth", "--authing-app-id", "gen-app",
                      "--lang", "en-US")  # fmt: skip
    assert code == 0
    headers = configured.server.requests[-1].headers
    assert headers["x-genauth-app-id"] == "gen-app"
    assert headers["x-genauth-lang"] == "en-US"
    assert "x-authing-app-id" not in headers


def test_secret_from_stdin(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WECHAT_APP_SECRET")
    monkeypatch.setattr(sys, "stdin", io.StringIO("stdin-secret\n"))
    code, _, _ = _run(capsys, "--app-secret-stdin")
    assert code == 0
    assert configured.server.requests[-1].body["appSecret"] == "stdin-secret"


def test_the_secret_is_never_an_argument(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "--app-secret", "x"])
    assert exit_info.value.code == 2


def test_missing_configuration_is_a_usage_error(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WECHAT_APP_SECRET")
    monkeypatch.delenv("WECHAT_APP_ID")
    code, out, err = _run(capsys)
    assert code == 2
    assert out == ""
    (line,) = err.splitlines()
    assert "WECHAT_APP_ID" in line
    assert "WECHAT_APP_SECRET" in line
    assert configured.server.request_count() == 0


def test_bad_configuration_is_a_usage_error(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHING_APP_HOST", "http://authing.example.com")
    code, _, err = _run(capsys)
    assert code == 2
    assert "environment variable AUTHING_APP_HOST" in err
    assert "pass --allow-insecure-http" in err
    assert configured.server.request_count() == 0


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """What ``main(argv)`` writes on stderr, having exited 2 (as argparse does) with no output."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    out, err = capsys.readouterr()
    assert (caught.value.code, out) == (2, "")
    return err


# What the client's messages call a setting, which a command line user never typed.
PYTHON_WORDS = ("app_host", "authing_app_id", "app_id", "app_secret", "allow_insecure_http",
                "max_attempts", "access_token", "=True", "_port", "Traceback")  # fmt: skip


@pytest.mark.parametrize(
    ("env", "argv", "expected"),
    [
        ({"AUTHING_APP_ID": "a b"}, [], "environment variable AUTHING_APP_ID must not contain"),
        ({}, ["--authing-app-id", "a b"], "--authing-app-id must not contain spaces"),
        ({"AUTHING_BRAND": "aliyun"}, [],
         "environment variable AUTHING_BRAND must be one of authing, genauth"),
        ({"AUTHING_LANG": "fr"}, [], "environment variable AUTHING_LANG must be one of"),
        ({"AUTHING_APP_HOST": "https://example.authing.cn:99999"}, [],
         "environment variable AUTHING_APP_HOST's port must be 1-65535"),
        ({}, ["--app-host", "ftp://example.authing.cn"], "--app-host must be an https:// URL"),
        ({"WECHAT_APP_SECRET": "   "}, [],
         "environment variable WECHAT_APP_SECRET must not be empty or blank"),
        ({"WECHAT_APP_ID": "  "}, [], "environment variable WECHAT_APP_ID must not be empty"),
        ({"AUTHING_ACCESS_TOKEN": "a\tb"}, [], "environment variable AUTHING_ACCESS_TOKEN must"),
        ({}, ["--timeout", "nan"], "--timeout must be a finite number of seconds"),
        ({}, ["--timeout", "-1"], "--timeout must be > 0 seconds"),
        ({}, ["--max-attempts", "0"], "--max-attempts must be"),
    ],
)  # fmt: skip
def test_configuration_errors_name_the_flag_or_variable(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    env: dict[str, str],
    argv: list[str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["token", *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith("authing-wechat token: error: ")
    assert expected in line
    assert not [word for word in PYTHON_WORDS if word in line]
    assert not [value for value in env.values() if value.strip() and value in line]
    assert configured.server.request_count() == 0


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["token", "--timeout", "soon"], "argument --timeout: must be a number of seconds"),
        (["token", "--max-attempts", "many"], "argument --max-attempts: must be a whole number"),
        (["token", "--brand", "wechat"], "argument --brand: must be one of authing, genauth"),
        (["token", "--lang", "fr"], "argument --lang: must be one of en-US, zh-CN"),
        (["mock-server", "--port", "http"], "argument --port: a port is a number from 0 to"),
        (["mock-server", "--expires-in", "1h"], "argument --expires-in: must be a whole number"),
    ],
)
def test_malformed_numbers_are_usage_errors_in_cli_words(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    err = _usage_error(capsys, argv)
    assert err.startswith("usage: ")
    assert expected in err
    assert not [word for word in PYTHON_WORDS if word in err]
    assert "invalid" not in err  # argparse's "invalid _port value: ..."
    assert f"'{argv[-1]}'" not in err  # a value typed in the wrong place may be a secret


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"authing-wechat {version('authing-wechat')}\n"


def test_help_lists_every_variable_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "--help"])
    text = capsys.readouterr().out
    for name in ENV:
        assert f"\n  {name} " in text
    assert "seconds per attempt (default 10.0)" in text
    assert "(default 3; 1 disables" in text
    assert "(default authing)" in text
    assert "130  interrupted" in text


def test_json_covers_errors_on_stderr(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.server.add_fault(SUCCESSOR_PATH, Fault.status(401, api_code=2001))
    code, out, err = _run(capsys, "--json")
    assert (code, out) == (1, "")
    (line,) = err.splitlines()
    error = json.loads(line)["error"]
    assert error.pop("requestId")
    assert error.pop("message").startswith("HTTP 401")
    assert error == {"type": "AuthingAPIError", "exitCode": 1, "httpStatus": 401,
                     "statusCode": 401, "apiCode": 2001, "attempts": 1,
                     "retryAfter": None}  # fmt: skip


@pytest.mark.parametrize(
    "argv", [["token", "--json", "--unknown"], ["token", "--json", "--timeout", "x"]]
)
def test_json_covers_usage_errors(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (line,) = _usage_error(capsys, argv).splitlines()
    error = json.loads(line)["error"]
    assert error["type"] == "UsageError"
    assert error["exitCode"] == 2


def test_json_covers_configuration_errors(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WECHAT_APP_ID")
    code, out, err = _run(capsys, "--json")
    assert (code, out) == (2, "")
    assert json.loads(err)["error"] == {
        "type": "UsageError",
        "exitCode": 2,
        "message": "missing --app-id / WECHAT_APP_ID",
    }


def test_a_retry_after_longer_than_the_limit_is_named(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.server.add_fault(SUCCESSOR_PATH, Fault.status(429, retry_after="120"))
    code = main(["token"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    (line,) = err.splitlines()
    assert "HTTP 429" in line
    assert "not retried: the server asked to wait 120 s (Retry-After)" in line
    assert "longer than the 30 s this command waits" in line
    assert configured.server.request_count() == 1


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    # A server that accepts and never answers: the command is inside its call when the
    # signal arrives, which the test knows from having read the request.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(60)
        env = {k: v for k, v in os.environ.items() if k not in ENV}
        env.update(AUTHING_APP_HOST=f"http://127.0.0.1:{listener.getsockname()[1]}",
                   AUTHING_APP_ID="a", WECHAT_APP_ID="wx1", WECHAT_APP_SECRET=SECRET)  # fmt: skip
        for extra, expected in (
            ([], "authing-wechat: error: interrupted\n"),
            (["--json"], '{"error": {"message": "interrupted", "exitCode": 130, '
                         '"type": "KeyboardInterrupt"}}\n'),
        ):  # fmt: skip
            with sigint_ignored():  # as under `make test &`: the child must not inherit it
                process = subprocess.Popen(
                    interruptible_cli("token", *extra), env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                )  # fmt: skip
            connection, _ = listener.accept()
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=60)
            assert (process.returncode, out, err) == (130, "", expected)


def test_api_error_is_one_line_with_the_request_id(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.server.add_fault(SUCCESSOR_PATH, Fault.status(401, api_code=2001))
    code, out, err = _run(capsys)
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert "statusCode 401" in line
    assert "apiCode 2001" in line
    assert "request id " in line
    assert "1 attempt" in line


def test_connection_error_exit_code(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("AUTHING_APP_HOST", f"http://127.0.0.1:{closed_port}")
    code, _, err = _run(capsys)
    assert code == 3
    assert len(err.splitlines()) == 1


def test_malformed_response_exit_code(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.server.add_fault(SUCCESSOR_PATH, Fault.truncated_json())
    code, _, err = _run(capsys)
    assert code == 4
    assert len(err.splitlines()) == 1


def test_legacy_warns_on_stderr_and_prints_the_token(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--legacy")
    assert code == 0
    assert len(out.splitlines()) == 1
    assert configured.server.requests[-1].path == DEPRECATED_PATH
    assert "get_wechat_mp_access_token_info" in err
    assert all(line.startswith("authing-wechat token: warning:") for line in err.splitlines())


def test_retries_are_reported_on_stderr(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    # Retry-After: 0 keeps the one retry's sleep at zero.
    configured.server.add_fault(SUCCESSOR_PATH, Fault.status(503, retry_after="0"))
    code = main(["token", "--max-attempts", "2"])
    out, err = capsys.readouterr()
    assert code == 0
    # At INFO, which the command shows for the call and then puts back as it was.
    assert "retrying get_wechat_mp_access_token_info after attempt 1 of 2" in err
    assert len(out.splitlines()) == 1
    logger = logging.getLogger("authing_wechat")
    assert logger.level == logging.NOTSET
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]


def test_demo_shows_the_whole_product() -> None:
    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    assert "mock Authing server on http://127.0.0.1:" in text
    assert "AuthingDeprecationWarning: get_wechat_mp_access_token() calls a deprecated" in text
    assert "the server saw: POST /api/v3/get-wechat-access-token-info" in text
    assert "retrying get_wechat_mp_access_token_info after attempt 1 of 3" in text
    assert "got the token after 2 attempts" in text
    assert "1000 callers got the same token; upstream requests: 1" in text
    assert "7 WeChat requests (1 answered 40001, resent once), 2 Authing requests" in text
    assert "someone else fetched a token: WechatTokenRejectedError" in text
    assert "11 calls while Authing serves the replaced token: 1 WeChat request(s)" in text
    assert "Authing answered 503 to a cold start: 3 WeChat calls made with the stable" in text
    assert "(1 stable_token request, normal mode, after 1 Authing request)" in text
    assert "log WARNING authing_wechat: Authing is unavailable: the provider of" in text
    assert "Authing is back: the next refresh took its token (fallback=False)" in text
    assert "log INFO authing_wechat: the provider of wx-demo-app is back on Authing's" in text


def test_console_script_end_to_end(mock: MockServerHandle) -> None:
    mock.server.add_fault(SUCCESSOR_PATH, Fault.status(403))
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env.update(AUTHING_APP_HOST=mock.url, AUTHING_APP_ID="a", WECHAT_APP_ID="wx1")
    script = Path(sys.executable).parent / "authing-wechat"
    result = subprocess.run(
        [str(script), "token", "--app-secret-stdin"],
        input=SECRET + "\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["token", "--app-secret", SECRET],  # a guessed flag: was read as --app-secret-stdin
        ["token", f"--app-secret={SECRET}"],
        ["token", "--app-sec", SECRET],
        ["token", SECRET],
    ],
)
def test_no_abbreviations_and_an_unknown_arguments_value_is_never_echoed(
    configured: MockServerHandle, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    out, err = capsys.readouterr()
    assert caught.value.code == 2
    assert "unrecognized arguments" in err
    assert SECRET not in out + err


def test_empty_stdin_is_named_as_such(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = _run(capsys, "--app-secret-stdin")
    assert code == 2
    assert "standard input was empty" in err
    assert configured.server.request_count() == 0


@pytest.mark.parametrize("argv", [["--app-secret", "CANARY-argv"], ["--app-secret=CANARY-argv"]])
def test_a_secret_on_the_command_line_is_refused_with_where_it_comes_from(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    err = _usage_error(capsys, ["token", *argv])
    assert "CANARY-argv" not in err
    assert "WECHAT_APP_SECRET" in err
    assert "--app-secret-stdin" in err
    assert "never from the command line" in err


@pytest.mark.parametrize("path", ["/api", "/api/v3/"])
def test_a_404_from_an_app_host_with_a_path_says_it_is_the_base_url(
    configured: MockServerHandle,
    capsys: pytest.CaptureFixture[str],
    path: str,
) -> None:
    code, _, err = _run(capsys, "--app-host", configured.url + path)
    assert code != 0
    assert "--app-host is the base URL of your app, with no path" in err
    assert repr(path) in err
    code, _, err = _run(capsys)  # the same mock at its base URL: no hint
    assert code == 0
    assert "base URL" not in err
