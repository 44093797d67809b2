#!/usr/bin/env python3
"""Measure authing-wechat and the official Python SDKs on the same scripted faults.

    python scripts/compare_official_sdks.py [--output docs/comparison.md]

Installs ``authing==5.1.0``, ``genauth==5.1.0`` and ``websockets`` (both SDKs import it) into a
throwaway venv with pip, then runs every scenario against a fresh reference mock server
(``authing_wechat.testing``) on loopback, which counts requests and TCP connections and serves
HTTPS with a throwaway ``trustme`` certificate where a row asks: once with ``WechatTokenClient``
in this process, and once per SDK in a subprocess of the throwaway venv (``sdk_driver.py``),
killed after ``--harness-timeout`` seconds because the SDKs set no timeout of their own. Prints
a markdown table (rows: scenarios, columns: clients) and writes it to ``--output`` when given.

Not part of ``make test``: it needs the package registry. Exit status 2 when the SDKs cannot be
installed or imported (no table is made then), 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import ssl
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import trustme
from authing_wechat import (
    AuthingAPIError,
    AuthingError,
    RetryPolicy,
    WechatAccessToken,
    WechatTokenClient,
)
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    Fault,
    MockAuthingServer,
    MockServerHandle,
    run_mock_server,
)

SDK_VERSION: Final = "5.1.0"
SDKS: Final = ("authing", "genauth")
# Fake credentials: the mock server accepts any non-blank pair. Still never printed.
WECHAT_APP_ID: Final = "wx-compare"
WECHAT_APP_SECRET: Final = "compare-wechat-secret"  # noqa: S105 - a fake for the mock server
AUTHING_APP_ID: Final = "compare-app"
AUTHING_APP_SECRET: Final = "compare-authing-secret"  # noqa: S105 - a fake for the mock server
SLOW_DELAY: Final = 30.0
OUR_SHORT_TIMEOUT: Final = 1.0
MIN_SHOWN_SECONDS: Final = 1.0
TITLE: Final = "# authing-wechat and the official Python SDKs, on the same faults"
OUR_TIMEOUT_NOTE: Final = "10 s per attempt (connect, read, write, pool wait), 3 attempts"

DRIVER: Final = Path(__file__).with_name("sdk_driver.py")


class SetupError(Exception):
    """The throwaway venv or the SDKs in it do not work; no table can be made."""


@attrs.frozen(kw_only=True)
class Scenario:
    """One row of the table: a fault scripted on the mock server, or a property measured.

    Attributes:
        label: The row's label in the table.
        fault: The fault queued on ``path``, or ``None`` for normal answers.
        times: How many requests the fault answers; ``None`` for all.
        path: The endpoint called.
        our_timeout: ``timeout=`` of our client.
        calls: How many calls each client makes (one client object for all of them).
        tls: Serve HTTPS with a certificate of an authority no client was told to trust.
        count_connections: The row reports TCP connections, counted by the mock server.
        report_timeout: The row reports the default timeout, not a call's outcome.
    """

    label: str
    fault: Fault | None = None
    times: int | None = 1
    path: str = SUCCESSOR_PATH
    our_timeout: float = 10.0
    calls: int = 1
    tls: bool = False
    count_connections: bool = False
    report_timeout: bool = False

    @property
    def deprecated(self) -> bool:
        """Whether the row calls the deprecated endpoint."""
        return self.path == DEPRECATED_PATH


SCENARIOS: Final = (
    Scenario(label="Success"),
    Scenario(label="HTTP 503 once, then OK", fault=Fault.status(503)),
    Scenario(label="HTTP 503 on every request", fault=Fault.status(503), times=None),
    Scenario(
        label="HTTP 429 `Retry-After: 1` once, then OK", fault=Fault.status(429, retry_after="1")
    ),
    Scenario(label="HTML 502 page (proxy) on every request", fault=Fault.html(502), times=None),
    Scenario(label="Truncated JSON in HTTP 200", fault=Fault.truncated_json(), times=None),
    Scenario(label="HTTP 200, envelope `statusCode` 500, once", fault=Fault.envelope_error(500)),
    Scenario(label="HTTP 520 once, then OK", fault=Fault.status(520)),
    Scenario(label="HTTP 529 on every request", fault=Fault.status(529), times=None),
    Scenario(label="Connection dropped once, then OK", fault=Fault.drop()),
    Scenario(
        label=f"Server stalls {SLOW_DELAY:.0f} s (our `timeout={OUR_SHORT_TIMEOUT:g}`)",
        fault=Fault.delay(SLOW_DELAY),
        times=None,
        our_timeout=OUR_SHORT_TIMEOUT,
    ),
    Scenario(label="Deprecated endpoint (server sends `Deprecation`)", path=DEPRECATED_PATH),
    Scenario(label="TCP connections for 3 calls", calls=3, count_connections=True),
    Scenario(
        label="Certificate of an unknown authority (SDKs built with `use_unverified_ssl=False`)",
        tls=True,
    ),
    Scenario(label="Default timeout", report_timeout=True),
)


@attrs.frozen(kw_only=True)
class Observation:
    """What one client did in one scenario.

    Attributes:
        token: The call returned a token.
        returned: For an SDK that returned without a token: the type returned.
        status_code: The ``statusCode`` of a returned dict.
        error: The exception raised, as a short phrase (no secret in it).
        requests: Requests the mock server saw.
        seconds: Wall time of the calls.
        killed: The harness killed the SDK subprocess at its timeout.
        warnings: Warning categories emitted during the call.
        connections: TCP connections the mock server accepted.
        deprecation_exposed: Our token carried the server's deprecation notice.
        request_kwargs: ``verify`` / ``timeout`` the SDK passed to ``requests.request``.
    """

    token: bool = False
    returned: str | None = None
    status_code: int | None = None
    error: str | None = None
    requests: int = 0
    seconds: float = 0.0
    killed: bool = False
    warnings: tuple[str, ...] = ()
    connections: int = 0
    deprecation_exposed: bool = False
    request_kwargs: tuple[dict[str, str | None], ...] = ()


def _scrub_hosts(text: str) -> str:
    # Install errors are shown to the user; they must not name the registry's hosts.
    text = re.sub(r"\b[a-zA-Z][\w+.-]*://\S+", "<index>", text)
    return re.sub(r"host='[^']*'", "host=<index>", text)


def make_sdk_venv(root: Path) -> Path:
    """Create a venv under ``root`` with both SDKs and websockets; return its python.

    Raises:
        SetupError: The venv cannot be created or the install fails.
    """
    venv = root / "sdk-venv"
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        raise SetupError(f"could not create the throwaway venv:\n{created.stderr[-2000:]}")
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"authing=={SDK_VERSION}",
            f"genauth=={SDK_VERSION}",
            "websockets",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        tail = "\n".join(_scrub_hosts(installed.stderr).splitlines()[-15:])
        raise SetupError(
            f"pip could not install authing=={SDK_VERSION}, genauth=={SDK_VERSION} and "
            f"websockets from the package registry (exit {installed.returncode}):\n{tail}"
        )
    return python


def make_tls_context() -> ssl.SSLContext:
    """A server-side context with a certificate for 127.0.0.1 from a fresh, untrusted CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    return context


@contextlib.contextmanager
def serve(scenario: Scenario, tls: ssl.SSLContext) -> Iterator[MockServerHandle]:
    """A fresh mock server with the scenario's fault, over HTTPS if the scenario says so."""
    server = MockAuthingServer()
    if scenario.fault is not None:
        server.add_fault(scenario.path, scenario.fault, times=scenario.times)
    with run_mock_server(server, ssl_context=tls if scenario.tls else None) as handle:
        yield handle


def _our_error(exc: AuthingError) -> str:
    name = type(exc).__name__
    if isinstance(exc, AuthingAPIError):
        if exc.http_status != exc.status_code:
            return f"{name}(http_status={exc.http_status}, status_code={exc.status_code})"
        return f"{name}(http_status={exc.http_status})"
    if "CERTIFICATE_VERIFY_FAILED" in exc.message or "certificate verify" in exc.message:
        return f"{name} (certificate verify failed)"
    return name


def run_ours(scenario: Scenario, tls: ssl.SSLContext) -> Observation:
    """Run the scenario with ``WechatTokenClient`` and its default ``RetryPolicy``."""
    with serve(scenario, tls) as handle:
        token: WechatAccessToken | None = None
        error: str | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = WechatTokenClient(
                handle.url, AUTHING_APP_ID, retry=RetryPolicy(), timeout=scenario.our_timeout
            )
            start = time.perf_counter()
            try:
                with client:
                    for _ in range(scenario.calls):
                        if scenario.deprecated:
                            # Calling the deprecated twin is what this row measures.
                            token = client.get_wechat_mp_access_token(  # type: ignore[deprecated]
                                app_id=WECHAT_APP_ID, app_secret=WECHAT_APP_SECRET
                            )
                        else:
                            token = client.get_wechat_mp_access_token_info(
                                app_id=WECHAT_APP_ID, app_secret=WECHAT_APP_SECRET
                            )
            except AuthingError as exc:
                error = _our_error(exc)
            seconds = time.perf_counter() - start
        return Observation(
            token=token is not None and error is None,
            error=error,
            requests=handle.server.request_count(scenario.path),
            seconds=seconds,
            warnings=tuple(sorted({w.category.__name__ for w in caught})),
            connections=handle.connections,
            deprecation_exposed=token is not None and token.deprecation is not None,
        )


def run_sdk(
    scenario: Scenario,
    sdk: str,
    *,
    python: Path,
    tls: ssl.SSLContext,
    harness_timeout: float,
) -> tuple[Observation, dict[str, Any]]:
    """Run the scenario with one official SDK in the throwaway venv; bounded by a timeout.

    Returns:
        The observation and the driver's raw report (empty when the driver was killed).

    Raises:
        SetupError: The SDK does not import, or the driver printed no report.
    """
    method = (
        "get_wechat_mp_access_token" if scenario.deprecated else "get_wechat_mp_access_token_info"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    with serve(scenario, tls) as handle:
        settings = {
            "sdk": sdk,
            "url": handle.url,
            "method": method,
            "calls": scenario.calls,
            "app_id": WECHAT_APP_ID,
            "app_secret": WECHAT_APP_SECRET,
            "authing_app_id": AUTHING_APP_ID,
            "authing_app_secret": AUTHING_APP_SECRET,
            # Asking for certificate checks explicitly shows the switch does not work.
            "ask_for_tls_checks": scenario.tls,
        }
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [str(python), str(DRIVER), json.dumps(settings)],
                capture_output=True,
                text=True,
                timeout=harness_timeout,
                cwd=python.parent,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Observation(
                killed=True,
                requests=handle.server.request_count(scenario.path),
                seconds=time.perf_counter() - start,
            ), {}
        lines = done.stdout.strip().splitlines()
        if not lines:
            raise SetupError(f"the {sdk} driver printed nothing:\n{done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(lines[-1])
        if "import_error" in report:
            raise SetupError(f"{sdk} {SDK_VERSION} does not import: {report['import_error']}")
        error = None
        if "raised" in report:
            error = f"{report['raised']}: {report['message']}"
        return Observation(
            token=bool(report.get("has_token")),
            returned=report.get("returned"),
            status_code=report.get("status_code"),
            error=error,
            requests=handle.server.request_count(scenario.path),
            seconds=float(report["seconds"]),
            warnings=tuple(report["warnings"]),
            connections=handle.connections,
            request_kwargs=tuple(report["request_kwargs"]),
        ), report


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _short_error(error: str) -> str:
    # "requests.exceptions.ConnectionError: ('Connection aborted.', RemoteDisconnected(...))"
    # becomes "requests ConnectionError (RemoteDisconnected)": type plus the root cause's name.
    qualified, _, message = error.partition(": ")
    module, _, name = qualified.rpartition(".")
    package = module.split(".")[0]
    prefix = f"{name}" if package in {"builtins", "authing_wechat"} else f"{package} {name}"
    cause = re.search(r"\b([A-Z]\w+(?:Error|Disconnected|Timeout))\(", message)
    if cause and cause.group(1) != name:
        return f"{prefix} ({cause.group(1)})"
    if "JSONDecodeError" in name:
        return f"{prefix} ({message.split(':')[0]})"
    return prefix


def _outcome(seen: Observation, *, ours: bool) -> str:
    requests = _plural(seen.requests, "request")
    if seen.token:
        phrase = f"{'token' if ours else 'token in a dict'} after {requests}"
    elif seen.error is not None:
        phrase = f"{seen.error if ours else _short_error(seen.error)}, {requests}"
    else:
        phrase = (
            f"returns {seen.returned} `{{statusCode: {seen.status_code}}}` (no exception), "
            f"{requests}"
        )
    if seen.seconds >= MIN_SHOWN_SECONDS:
        phrase += f", {seen.seconds:.1f} s"
    return phrase


def _deprecation_signals(seen: Observation, *, ours: bool) -> str:
    named = [name.rpartition(".")[2] for name in seen.warnings if "Deprecation" in name]
    phrase = f"; warns {', '.join(named)}" if named else "; no deprecation warning"
    if ours:
        return phrase + ("; `token.deprecation` set" if seen.deprecation_exposed else "")
    return phrase + "; headers dropped"


def _tls_signals(seen: Observation, *, ours: bool) -> str:
    if ours:
        handshakes = seen.connections
        return f" ({_plural(handshakes, 'TLS handshake')} refused)"
    verify = sorted({str(kwargs.get("verify")) for kwargs in seen.request_kwargs})
    phrase = f" (`verify={', '.join(verify)}`)"
    insecure = [name.rpartition(".")[2] for name in seen.warnings if "Insecure" in name]
    return phrase + (f", warns {insecure[0]}" if insecure else "")


def describe(scenario: Scenario, seen: Observation, *, ours: bool, timeout_note: str) -> str:
    """One table cell: what the client did, in a short phrase.

    Args:
        scenario: The row.
        seen: What the client did.
        ours: Whether the client is authing-wechat (an SDK otherwise).
        timeout_note: The cell of the default-timeout row.

    Returns:
        The cell's markdown.
    """
    if scenario.report_timeout:
        return timeout_note
    if seen.killed:
        return (
            f"hangs: killed by the harness after {seen.seconds:.0f} s, "
            f"{_plural(seen.requests, 'request')} seen"
        )
    if scenario.count_connections:
        return f"{_plural(seen.connections, 'TCP connection')} for {scenario.calls} calls"
    phrase = _outcome(seen, ours=ours)
    if scenario.deprecated:
        phrase += _deprecation_signals(seen, ours=ours)
    if scenario.tls:
        phrase += _tls_signals(seen, ours=ours)
    return phrase


def _source_line(package_dir: Path, relative: str, needle: str) -> str:
    path = package_dir / relative
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return f"`{package_dir.name}/{relative}:{number}`"
    return f"`{package_dir.name}/{relative}` (line not found)"


def sdk_source_facts(package_dir: Path) -> dict[str, str]:
    """Where the SDK's source sets up TLS verification and (not) the timeout."""
    http_client = "http/AuthenticationHttpClient.py"
    return {
        "unverified": _source_line(package_dir, http_client, "use_unverified_ssl or FALSE"),
        "verify": _source_line(package_dir, http_client, "verify = not self.use_unverified_ssl"),
        "request": _source_line(package_dir, http_client, "requests.request("),
        "timeout": _source_line(package_dir, "AuthenticationClient.py", "self.timeout = timeout"),
    }


def _timeout_note_sdk(seen: Observation, facts: dict[str, str]) -> str:
    passed = {kw.get("timeout") for kw in seen.request_kwargs}
    if passed == {None}:
        return (
            "none: `requests.request` gets no `timeout` (observed); the constructor's "
            f"`timeout=10.0` is stored ({facts['timeout']}) and never used (source)"
        )
    return f"`requests.request(timeout={', '.join(sorted(map(str, passed)))})` (observed)"


@attrs.frozen(kw_only=True)
class Measurements:
    """Everything one run measured, ready to render.

    Attributes:
        rows: ``(label, cells)`` per scenario; cells follow ``columns``.
        columns: Client names, ours first.
        versions: Installed versions of the SDKs and their HTTP stack.
        facts: Per SDK, source locations from ``sdk_source_facts``.
    """

    rows: list[tuple[str, list[str]]]
    columns: list[str]
    versions: dict[str, str]
    facts: dict[str, dict[str, str]]


def measure(harness_timeout: float) -> Measurements:
    """Run every scenario with every client.

    Raises:
        SetupError: The SDKs cannot be installed or imported.
    """
    columns = ["authing-wechat"] + [f"{sdk} {SDK_VERSION}" for sdk in SDKS]
    rows: list[tuple[str, list[str]]] = []
    versions: dict[str, str] = {}
    facts: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="compare-sdks-") as tmp:
        root = Path(tmp)
        print("creating a throwaway venv with the official SDKs ...", file=sys.stderr)
        python = make_sdk_venv(root)
        tls = make_tls_context()
        for scenario in SCENARIOS:
            print(f"  {scenario.label}", file=sys.stderr)
            ours = run_ours(scenario, tls)
            cells = [describe(scenario, ours, ours=True, timeout_note=OUR_TIMEOUT_NOTE)]
            for sdk in SDKS:
                seen, report = run_sdk(
                    scenario,
                    sdk,
                    python=python,
                    tls=tls,
                    harness_timeout=harness_timeout,
                )
                if report and sdk not in facts:
                    facts[sdk] = sdk_source_facts(Path(report["package_dir"]))
                    versions.update(report["versions"])
                note = _timeout_note_sdk(seen, facts[sdk]) if scenario.report_timeout else ""
                cells.append(describe(scenario, seen, ours=False, timeout_note=note))
            rows.append((scenario.label, cells))
    return Measurements(rows=rows, columns=columns, versions=versions, facts=facts)


def render(measured: Measurements, harness_timeout: float) -> str:
    """The markdown document: a header line saying how it was measured, the table, notes."""
    versions = measured.versions
    header = (
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d} by "
        f"`scripts/compare_official_sdks.py`: Python {platform.python_version()}; "
        f"authing-wechat {importlib.metadata.version('authing-wechat')} with its default "
        "`RetryPolicy()` (3 attempts, jittered backoff); "
        + ", ".join(f"{sdk} {versions.get(sdk, SDK_VERSION)}" for sdk in SDKS)
        + f" (requests {versions.get('requests')}, urllib3 {versions.get('urllib3')}, "
        f"websockets {versions.get('websockets')}) in a throwaway venv. Every cell ran "
        "against a fresh reference mock server (`authing_wechat.testing`) on loopback, which "
        "counted the requests and TCP connections (and served HTTPS with a throwaway trustme "
        "certificate in the TLS row); each SDK call ran in a subprocess killed after "
        f"{harness_timeout:g} s."
    )
    lines = [TITLE, "", header, "", "| scenario | " + " | ".join(measured.columns) + " |"]
    lines.append("|---" * (len(measured.columns) + 1) + "|")
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in measured.rows]
    where = {
        key: " and ".join(measured.facts[sdk][key] for sdk in SDKS if sdk in measured.facts)
        for key in ("unverified", "verify", "request")
    }
    notes = [
        "Notes (both SDKs share the same HTTP code):",
        "",
        f"- TLS (source): {where['unverified']} set "
        "`use_unverified_ssl = use_unverified_ssl or FALSE`, with `FALSE` imported from "
        "`pickle` (`b'I00\\n'`, truthy), then "
        f"{where['verify']} compute `verify = not self.use_unverified_ssl`: certificates "
        "are never checked, whatever `use_unverified_ssl` is set to.",
        f"- Connections and retries (source): {where['request']} call the module-level "
        "`requests.request(...)`, which builds a new `Session` per call, so a new TCP (and "
        "TLS) connection each time, with `requests`' default of no retries.",
        "- Errors (source): the SDKs return `r.json()` whatever the HTTP status, so an error "
        "envelope comes back as a plain dict and a non-JSON body raises "
        "`requests.exceptions.JSONDecodeError`; response headers (`Deprecation`, "
        "`Retry-After`) never reach the caller.",
        "",
        "Re-run with `.venv/bin/python scripts/compare_official_sdks.py --output "
        "docs/comparison.md` (needs the package registry; about 40 s).",
    ]
    return "\n".join([*lines, "", *notes, ""])


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table and optionally write it to a file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, help="also write the markdown here")
    parser.add_argument(
        "--harness-timeout",
        type=float,
        default=10.0,
        help="seconds before an official SDK's call is killed (default 10)",
    )
    args = parser.parse_args(argv)
    try:
        document = render(measure(args.harness_timeout), args.harness_timeout)
    except SetupError as exc:
        print(f"compare_official_sdks: {exc}", file=sys.stderr)
        return 2
    print(document, end="")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(document, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
