"""The mock server against the spec: schemathesis in-process and over HTTP, and the CLI.

The OpenAPI document cannot say "one of ``x-authing-app-id`` / ``x-genauth-app-id`` is
required" (each is optional on its own), so every schemathesis run supplies one of them as a
fixed header, the way a real caller supplies its app id; runs cover both clouds.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import schemathesis
import yaml
from authing_wechat._cli import main
from authing_wechat.testing import (
    DEPRECATED_PATH,
    PATHS,
    SUCCESSOR_PATH,
    Answer,
    MockAuthingServer,
    run_mock_server,
)
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS, CheckFunction, load_all_checks
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import JsonSchemaError, UndefinedContentType

from tests._support import interruptible_cli, sigint_ignored

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "authing-wechat.yaml"
BIN = Path(sys.executable).parent
APP_ID = "mock-authing-app"
CLOUD_HEADERS = ("x-authing-app-id", "x-genauth-app-id")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

load_all_checks()
# Every built-in check: ``--checks all`` of the CLI. (Class-based checks, which
# ``call_and_validate`` does not take, are plugin extensions; none is installed.)
ALL_CHECKS: list[CheckFunction] = [c for c in CHECKS.get_all() if not isinstance(c, type)]
TestFunction = Callable[[schemathesis.Case[Any]], None]


def schema_for(app_id_header: str) -> schemathesis.BaseSchema:
    """The spec, with the app id sent in ``app_id_header`` on every request."""
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    schema.config.update(headers={app_id_header: APP_ID})
    return schema


def spec_cases(schema: schemathesis.BaseSchema) -> Callable[[TestFunction], TestFunction]:
    """``schema.parametrize()``, typed: one test per operation, every phase."""
    decorator: Callable[[TestFunction], TestFunction] = schema.parametrize()
    return decorator


AUTHING = schema_for("x-authing-app-id")
GENAUTH = schema_for("x-genauth-app-id")
SERVER = MockAuthingServer(max_recorded=0)
CONTRACT = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

# --- every phase (examples, coverage, fuzzing), in-process -------------------------------------


@spec_cases(AUTHING)
@CONTRACT
def test_mock_conforms_to_the_spec_for_authing_callers(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(app=SERVER, checks=ALL_CHECKS)


@spec_cases(GENAUTH)
@CONTRACT
def test_mock_conforms_to_the_spec_for_genauth_callers(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(app=SERVER, checks=ALL_CHECKS)


# --- the same checks bite: broken copies of the server fail them ------------------------------


def fuzz(app: MockAuthingServer) -> None:
    """Positive and negative data for both operations, every check; raises ``FailureGroup``."""
    for path in PATHS:
        operation = AUTHING[path]["POST"]
        for mode in GenerationMode:

            @settings(CONTRACT, report_multiple_bugs=False, phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(app=app, checks=ALL_CHECKS)

            check()


def _rewrite_json(answer: Answer, change: Any) -> Answer:
    envelope = json.loads(answer.body)
    change(envelope)
    return attrs.evolve(answer, body=json.dumps(envelope).encode())


class ExpiresAtAsInt(MockAuthingServer):
    """Sends ``expiresAt`` as a number, as a careless server might."""

    def answer(self, *args: Any) -> Answer:
        answer = super().answer(*args)
        if answer.status != 200:
            return answer

        def change(envelope: dict[str, Any]) -> None:
            envelope["data"]["expiresAt"] = int(envelope["data"]["expiresAt"])

        return _rewrite_json(answer, change)


class NoStatusCode(MockAuthingServer):
    """Leaves the required ``statusCode`` out of every envelope."""

    def answer(self, *args: Any) -> Answer:
        return _rewrite_json(super().answer(*args), lambda envelope: envelope.pop("statusCode"))


class AcceptsAnything(MockAuthingServer):
    """Never validates: every POST gets a token."""

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        valid = b'{"appId": "wx", "appSecret": "s"}'
        return super().answer(method, path, [(b"x-authing-app-id", b"app")], valid)


class PlainTextErrors(MockAuthingServer):
    """Labels its JSON error envelopes ``text/plain``."""

    def answer(self, *args: Any) -> Answer:
        answer = super().answer(*args)
        if answer.status < 400:
            return answer
        return attrs.evolve(answer, headers=((b"content-type", b"text/plain"),))


def test_the_fuzz_contract_passes_the_mock() -> None:
    fuzz(MockAuthingServer())


@pytest.mark.parametrize(
    ("broken", "failure"),
    [
        (ExpiresAtAsInt, JsonSchemaError),
        (NoStatusCode, JsonSchemaError),
        (AcceptsAnything, AcceptedNegativeData),
        (PlainTextErrors, UndefinedContentType),
    ],
)
def test_the_fuzz_contract_rejects_a_broken_server(
    broken: type[MockAuthingServer], failure: type[Failure]
) -> None:
    with pytest.raises(FailureGroup) as caught:
        fuzz(broken())
    assert any(isinstance(error, failure) for error in caught.value.exceptions)


# --- drift guard ----------------------------------------------------------------------------


def test_the_mock_serves_exactly_the_spec_operations() -> None:
    raw = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    spec_routes = {
        path: frozenset(method.upper() for method in item if method in HTTP_METHODS)
        for path, item in raw["paths"].items()
    }
    assert MockAuthingServer().routes() == spec_routes
    assert set(PATHS) == set(spec_routes)
    assert raw["paths"][DEPRECATED_PATH]["post"].get("deprecated") is True
    assert not raw["paths"][SUCCESSOR_PATH]["post"].get("deprecated", False)


def test_the_mock_sends_the_deprecation_headers_the_spec_declares() -> None:
    raw = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    declared = raw["paths"][DEPRECATED_PATH]["post"]["responses"]["200"]["headers"]
    server = MockAuthingServer(sunset="Wed, 31 Dec 2025 23:59:59 GMT")
    body = b'{"appId": "wx", "appSecret": "s"}'
    answer = server.answer("POST", DEPRECATED_PATH, [(b"x-authing-app-id", b"a")], body)
    sent = {name.decode() for name, _ in answer.headers} - {"content-type"}
    assert sent == {name.lower() for name in declared}


# --- the CLI, as a real process, under schemathesis' own CLI -------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def cli_mock_server(*options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``authing-wechat mock-server --port <free port> *options``; killed if left running."""
    port = free_port()
    command = interruptible_cli("mock-server", "--port", str(port), *options)  # stopped by SIGINT
    with sigint_ignored():  # as under `make test &`: the child must not depend on it
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    try:
        assert process.stdout is not None
        url = f"http://127.0.0.1:{port}"
        assert process.stdout.readline() == f"mock server listening on {url}\n"
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_the_cli_server_passes_schemathesis_run_and_stops_on_sigterm(tmp_path: Path) -> None:
    with cli_mock_server() as (process, url):
        for header in CLOUD_HEADERS:
            run = subprocess.run(
                [
                    str(BIN / "schemathesis"),
                    "run",
                    str(SPEC_PATH),
                    "--url",
                    url,
                    "--checks",
                    "all",
                    "--max-examples",
                    "25",
                    "--generation-deterministic",
                    "--header",
                    f"{header}: {APP_ID}",
                    "--no-color",
                ],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 0, run.stdout + run.stderr
            counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
            assert counts is not None, run.stdout
            assert counts[1] == counts[2]
            assert int(counts[1]) >= 50
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert process.stderr.read() == ""


def test_the_cli_serves_its_faults_and_settings_and_stops_on_sigint() -> None:
    sunset = "Wed, 31 Dec 2025 23:59:59 GMT"
    options = ("--fault", "info:503:retry-after=2:x2", "--fault", "legacy:html502")
    with (
        cli_mock_server(*options, "--expires-in", "60", "--sunset", sunset) as (process, url),
        httpx.Client(base_url=url) as client,
    ):
        headers = {"x-authing-app-id": APP_ID}
        body = {"appId": "wx-cli", "appSecret": "cli-secret"}
        before = int(time.time())
        statuses = [client.post(SUCCESSOR_PATH, json=body, headers=headers) for _ in range(3)]
        after = int(time.time())
        assert [r.status_code for r in statuses] == [503, 503, 200]
        assert statuses[0].headers["retry-after"] == "2"
        expires_at = int(statuses[2].json()["data"]["expiresAt"])
        assert before + 60 <= expires_at <= after + 60
        legacy = client.post(DEPRECATED_PATH, json=body, headers=headers)
        assert legacy.status_code == 502
        assert legacy.headers["content-type"].startswith("text/html")
        legacy = client.post(DEPRECATED_PATH, json=body, headers=headers)
        assert legacy.headers["sunset"] == sunset
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_the_cli_takes_a_cloud_credentials_the_varied_mode_and_a_request_log() -> None:
    options = ("--cloud", "genauth", "--credentials", "wx-cli=cli-secret", "--log-requests")
    with (
        cli_mock_server(*options, "--varied", "--seed", "5") as (process, url),
        httpx.Client(base_url=url) as client,
    ):
        headers = {"x-genauth-app-id": APP_ID}
        body = {"appId": "wx-cli", "appSecret": "cli-secret"}
        answers = [client.post(SUCCESSOR_PATH, json=body, headers=headers) for _ in range(8)]
        assert {r.status_code for r in answers} == {200}
        assert len({r.headers["content-type"] for r in answers}) > 1
        wrong = client.post(SUCCESSOR_PATH, json={**body, "appSecret": "x"}, headers=headers)
        assert wrong.status_code == 401
        other_cloud = client.post(SUCCESSOR_PATH, json=body, headers={"x-authing-app-id": "a"})
        assert other_cloud.status_code == 400
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=10)
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"  # ISO 8601, UTC, milliseconds
    lines = log.splitlines()
    assert all(re.fullmatch(stamp + " .*", line) for line in lines), lines
    assert [line.split(" ", 1)[1] for line in lines] == [
        f"POST {SUCCESSOR_PATH} -> {s}" for s in [200] * 8 + [401, 400]
    ]
    first = datetime.strptime(lines[0].split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(first.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() < 600
    assert "cli-secret" not in log


@pytest.mark.parametrize(
    ("option", "error"),
    [
        (("--port", "70000"), "0-65535"),
        (("--expires-in", "0"), "positive"),
        (("--cloud", "aws"), "invalid choice"),
        (("--credentials", "wx"), "APP_ID=APP_SECRET"),
        (("--fault", "info:bogus"), "unknown fault kind 'bogus'"),
    ],
)
def test_bad_options_are_usage_errors(
    option: tuple[str, str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["mock-server", *option])
    assert caught.value.code == 2
    assert error in capsys.readouterr().err


def test_a_taken_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with run_mock_server() as running:
        assert main(["mock-server", "--port", str(running.port)]) == 1
    assert "cannot listen" in capsys.readouterr().err
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_help_documents_the_fault_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["mock-server", "--help"])
    assert caught.value.code == 0
    shown = capsys.readouterr().out
    for example in ("info:503:retry-after=2:x3", "legacy:html502", "info:drop", "always"):
        assert example in shown


def test_python_dash_m_runs_the_same_cli_and_importing_it_is_cheap() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "authing_wechat", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "mock-server" in shown
    probe = "import sys, authing_wechat._cli; print('authing_wechat.testing' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "False"
