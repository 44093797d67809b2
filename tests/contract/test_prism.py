"""Prism in proxy mode between the overlay clients and the mock server, validating both ways.

``prism proxy --errors`` checks every request against the spec (422 when it breaks it) and every
answer of the upstream (500 when that breaks it, with the reasons in ``sl-violations``). Each
call of either client, to either endpoint, for either cloud, with and without ``lang`` and
``access_token``, must pass untouched. Prism comes from ``make node`` (``node_modules/``); the
tests fail, not skip, without it, so CI cannot pass them by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, Literal

import attrs
import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingAPIError,
    AuthingDeprecationWarning,
    WechatAccessToken,
    WechatTokenClient,
)
from authing_wechat.testing import Fault, MockAuthingServer, run_mock_server

from tests._support import SECRET, TOKEN
from tests.contract._spec_tools import (
    DEPRECATED_PATH,
    SPEC_PATH,
    SUCCESSOR_PATH,
    assert_request_conforms,
)

REPO = SPEC_PATH.parents[1]
PRISM = REPO / "node_modules" / ".bin" / "prism"
STARTUP_TIMEOUT = 60.0
READY_LINE = "Prism is listening on"
AUTHING_APP_ID = "62b4a8a1e2c1f0a1b2c3d4e5"
WECHAT_APP_ID = "wx1234567890abcdef"
Flavour = Literal["sync", "async"]
Endpoint = Literal["successor", "deprecated", "migrated"]
ENDPOINT_PATHS: dict[Endpoint, str] = {
    "successor": SUCCESSOR_PATH,
    "deprecated": DEPRECATED_PATH,
    "migrated": SUCCESSOR_PATH,
}
# (lang, access_token): without either, with both, with lang alone, with the token alone.
OPTIONS: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    ("zh-CN", TOKEN),
    ("en-US", None),
    (None, TOKEN),
)


@attrs.frozen(kw_only=True)
class PrismProxy:
    """A running ``prism proxy`` in front of a loopback mock server."""

    url: str
    server: MockAuthingServer
    log: list[str] = attrs.field(repr=False)

    def log_tail(self, lines: int = 15) -> str:
        """Prism's last log lines (its validation messages), for assertion messages."""
        return "\n".join(self.log[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pump(stream: IO[str], log: list[str], ready: threading.Event) -> None:
    # Drains Prism's output (a full pipe would stall it) and spots the line that says it listens.
    for line in stream:
        log.append(line.rstrip())
        if READY_LINE in line:
            ready.set()
    ready.set()  # EOF: Prism exited; the fixture finds out from its return code.


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def prism() -> Iterator[PrismProxy]:
    """Mock server on loopback, ``prism proxy --errors`` in front of it; both stopped after."""
    if not PRISM.exists():
        pytest.fail(
            f"{PRISM.relative_to(REPO)} is missing: run `make node` to install the npm tools "
            "(package-lock.json) before the contract tests"
        )
    server = MockAuthingServer(sunset=datetime(2030, 1, 1, tzinfo=UTC))
    with run_mock_server(server) as mock:
        port = _free_port()
        command = [str(PRISM), "proxy", str(SPEC_PATH), mock.url, "--errors"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        log: list[str] = []
        ready = threading.Event()
        assert process.stdout is not None
        pump = threading.Thread(target=_pump, args=(process.stdout, log, ready), daemon=True)
        pump.start()
        try:
            if not ready.wait(STARTUP_TIMEOUT) or process.poll() is not None:
                pytest.fail(
                    f"prism proxy did not start (exit code {process.poll()}):\n" + "\n".join(log)
                )
            yield PrismProxy(url=f"http://127.0.0.1:{port}", server=server, log=log)
        finally:
            _stop(process)
            pump.join(timeout=10)
            process.stdout.close()


def _violations(response: httpx.Response) -> str:
    """What Prism said was wrong: its problem document and ``sl-violations`` header."""
    detail: Any = response.text
    with contextlib.suppress(ValueError, AttributeError):  # not Prism's problem document
        detail = response.json().get("validation", detail)
    return f"{detail} / sl-violations: {response.headers.get('sl-violations')}"


def _call(
    prism: PrismProxy,
    flavour: Flavour,
    endpoint: Endpoint,
    *,
    brand: Literal["authing", "genauth"],
    lang: str | None,
    access_token: str | None,
    tamper: Callable[[httpx.Request], None] | None = None,
) -> tuple[WechatAccessToken, list[httpx.Response]]:
    """One call through Prism; fails the test, with Prism's reasons, if Prism objects."""
    responses: list[httpx.Response] = []
    kwargs: dict[str, Any] = {
        "brand": brand,
        "lang": lang,
        "access_token": access_token,
        "retry": None,  # a Prism 500 must surface, not be retried away
        "deprecated": "migrate" if endpoint == "migrated" else "warn",
    }
    method = (
        "get_wechat_mp_access_token_info"
        if endpoint == "successor"
        else "get_wechat_mp_access_token"
    )

    def run() -> WechatAccessToken:
        if flavour == "sync":
            hooks: dict[str, Any] = {"response": [responses.append]}
            if tamper is not None:
                hooks["request"] = [tamper]
            with httpx.Client(event_hooks=hooks) as http:
                client = WechatTokenClient(prism.url, AUTHING_APP_ID, http_client=http, **kwargs)
                token: WechatAccessToken = getattr(client, method)(
                    app_id=WECHAT_APP_ID, app_secret=SECRET
                )
                return token

        async def keep(response: httpx.Response) -> None:
            responses.append(response)

        async def arun() -> WechatAccessToken:
            async with httpx.AsyncClient(event_hooks={"response": [keep]}) as http:
                aclient = AsyncWechatTokenClient(
                    prism.url, AUTHING_APP_ID, http_client=http, **kwargs
                )
                awaited: WechatAccessToken = await getattr(aclient, method)(
                    app_id=WECHAT_APP_ID, app_secret=SECRET
                )
                return awaited

        return asyncio.run(arun())

    try:
        if endpoint == "deprecated":
            # The client warns, and so does the server's Deprecation header passed through.
            with pytest.warns(AuthingDeprecationWarning):
                token = run()
        else:
            token = run()
    except AuthingAPIError as error:
        if error.http_status in (422, 500) and error.response is not None:
            pytest.fail(
                f"Prism refused the {flavour} {endpoint} call (HTTP {error.http_status}): "
                f"{_violations(error.response)}\n{prism.log_tail()}"
            )
        raise
    return token, responses


@pytest.mark.parametrize("endpoint", list(ENDPOINT_PATHS))
@pytest.mark.parametrize("brand", ["authing", "genauth"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_every_call_passes_prism(
    prism: PrismProxy, flavour: Flavour, brand: Literal["authing", "genauth"], endpoint: Endpoint
) -> None:
    for lang, access_token in OPTIONS:
        before = prism.server.request_count()
        token, responses = _call(
            prism, flavour, endpoint, brand=brand, lang=lang, access_token=access_token
        )
        (response,) = responses
        assert "sl-violations" not in response.headers, _violations(response)
        assert response.request.url.path == ENDPOINT_PATHS[endpoint]
        assert_request_conforms(response.request)
        # It went all the way: the mock answered this very request, as the client sent it.
        assert prism.server.request_count() == before + 1
        received = prism.server.requests[-1]
        assert received.path == ENDPOINT_PATHS[endpoint]
        assert received.headers.get(f"x-{brand}-app-id") == AUTHING_APP_ID
        assert received.headers.get(f"x-{brand}-lang") == lang
        assert received.headers.get("authorization") == access_token
        assert token.access_token.startswith("mock-access-token-")
        if endpoint == "deprecated":
            # Deprecation, Sunset and Link survived Prism's response validation.
            assert token.deprecation is not None
            assert token.deprecation.successor == SUCCESSOR_PATH
            assert token.deprecation.sunset == datetime(2030, 1, 1, tzinfo=UTC)
        else:
            assert token.deprecation is None


INVALID_REQUESTS: dict[str, tuple[dict[str, str], Any, str]] = {
    "appSecret missing": (
        {"x-authing-app-id": AUTHING_APP_ID},
        {"appId": WECHAT_APP_ID},
        "appSecret",
    ),
    "appId blank": (
        {"x-authing-app-id": AUTHING_APP_ID},
        {"appId": " ", "appSecret": SECRET},
        "appId",
    ),
    "lang outside the enum": (
        {"x-authing-app-id": AUTHING_APP_ID, "x-authing-lang": "fr-FR"},
        {"appId": WECHAT_APP_ID, "appSecret": SECRET},
        "x-authing-lang",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_REQUESTS))
def test_prism_rejects_a_request_that_breaks_the_spec(prism: PrismProxy, case: str) -> None:
    headers, body, named = INVALID_REQUESTS[case]
    before = prism.server.request_count()
    response = httpx.post(prism.url + SUCCESSOR_PATH, headers=headers, json=body)
    assert response.status_code == 422, (response.status_code, response.text)
    assert named in json.dumps(response.json()["validation"])
    assert prism.server.request_count() == before, "Prism forwarded an invalid request"


ERROR_FAULTS: dict[str, Fault] = {
    "503 with Retry-After": Fault.status(503, retry_after="2", api_code=5003),
    "429 with retry-after-ms": Fault.status(429, retry_after_ms="150"),
    "401": Fault.status(401, api_code=2001),
    "520": Fault.status(520),
    "statusCode 500 in HTTP 200": Fault.envelope_error(500, api_code=5001),
    "HTML 502 from a proxy": Fault.html(502),
}


@pytest.mark.parametrize("fault", list(ERROR_FAULTS))
def test_the_mock_servers_error_answers_pass_prism(prism: PrismProxy, fault: str) -> None:
    scripted = ERROR_FAULTS[fault]
    prism.server.add_fault(SUCCESSOR_PATH, scripted)
    with pytest.raises(AuthingAPIError) as caught:
        _call(prism, "sync", "successor", brand="authing", lang="en-US", access_token=None)
    error = caught.value
    assert error.response is not None
    assert "sl-violations" not in error.response.headers, _violations(error.response)
    expected_http = 200 if scripted.kind == "envelope_error" else scripted.status_code
    assert error.http_status == expected_http, _violations(error.response)
    assert error.status_code == scripted.status_code


def test_a_call_prism_refuses_fails_with_prisms_reasons(prism: PrismProxy) -> None:
    # The harness bites: a request altered on its way out makes the call fail, saying why.
    def wrong_lang(request: httpx.Request) -> None:
        request.headers["x-authing-lang"] = "fr-FR"

    with pytest.raises(pytest.fail.Exception, match=r"(?s)HTTP 422.*x-authing-lang"):
        _call(
            prism,
            "sync",
            "successor",
            brand="authing",
            lang="en-US",
            access_token=None,
            tamper=wrong_lang,
        )
