"""``authing-wechat token`` and ``authing-wechat demo``, against the mock server on loopback."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from authing_wechat._cli import main
from authing_wechat._demo import run_demo
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    Fault,
    MockAuthingServer,
    MockServerHandle,
    run_mock_server,
)

from tests._support import SECRET

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
    assert "allow_insecure_http" in err


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
    assert "retrying get_wechat_mp_access_token_info after attempt 1 of 2" in err
    assert len(out.splitlines()) == 1


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
