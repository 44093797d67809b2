"""Prism in proxy mode, with each cloud's contract, in front of servers: validating both ways.

``prism proxy <contract> <upstream> --errors`` checks every request against the contract (422
when it breaks it) and every answer of the upstream (500 when that breaks it, with the reasons
in ``sl-violations``). The contracts are the shipped per-cloud documents
(``authing_wechat.testing.contract_path``). Two upstreams:

- the mock server of each cloud in its varied mode (``requestId``/``apiCode`` absent, unknown
  fields, charsets, no deprecation headers, ``data`` null on failures), answering the client's
  calls and its scripted faults;
- a small scripted server of these tests' own (``http.server``), sending the answers real
  servers and the proxies in front of them send: legacy answers without deprecation headers,
  ``Deprecation: true`` or an HTTP-date, 404/408 with the envelope, HTML 403/429 from a WAF,
  plain-text 5xx from a load balancer, ``data`` null or ``{}`` in a failure.

Every call of the client, both clouds, both endpoints, with and without ``lang`` and
``access_token``, must pass untouched, and so must the request shapes of the official SDKs.
Four Prism processes serve the whole module. Prism comes from ``make node``; the tests fail, not
skip, without it, so CI cannot pass them by accident.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import attrs
import httpx
import pytest
from authing_wechat import (
    AuthingAPIError,
    AuthingDeprecationWarning,
    WechatAccessToken,
)
from authing_wechat.testing import Fault, MockAuthingServer, contract_path, run_mock_server

from tests._support import POLL_SECONDS, SECRET, TOKEN, Driver
from tests.contract._processes import REPO, free_port, running_process
from tests.contract._spec_tools import DEPRECATED_PATH, SUCCESSOR_PATH, assert_request_conforms

PRISM = REPO / "node_modules" / ".bin" / "prism"
READY_LINE = "Prism is listening on"
AUTHING_APP_ID = "62b4a8a1e2c1f0a1b2c3d4e5"
WECHAT_APP_ID = "wx1234567890abcdef"
Cloud = Literal["authing", "genauth"]
CLOUDS: tuple[Cloud, ...] = ("authing", "genauth")
Upstream = Literal["mock", "scripted"]
Flavour = Literal["sync", "async"]
FLAVOURS: tuple[Flavour, ...] = ("sync", "async")
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


# --- the scripted server -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Scripted:
    """One answer of the scripted server.

    ``deprecation_headers`` go out on the deprecated path only, as a server announces it there.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    deprecation_headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class Received:
    """A request as the scripted server received it (after Prism)."""

    path: str
    headers: httpx.Headers = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)


def _envelope(status_code: int, message: str = "ok", **fields: Any) -> bytes:
    return json.dumps({"statusCode": status_code, "message": message, **fields}).encode()


SCRIPTED_TOKEN = "scripted-access-token"
SCRIPTED_EXPIRES_AT = "4102444800"  # 2100-01-01
SUCCESS = Scripted(
    status=200,
    body=_envelope(
        200,
        requestId="req-1",
        data={"accessToken": SCRIPTED_TOKEN, "expiresAt": SCRIPTED_EXPIRES_AT},
    ),
)


class ScriptedServer:
    """``http.server`` on 127.0.0.1: each POST gets the next scripted answer, else a success."""

    def __init__(self) -> None:
        self._answers: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(POLL_SECONDS,), daemon=True
        )
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def script(self, answer: Scripted) -> None:
        """Answer the next request with ``answer``."""
        with self._lock:
            self._answers.append(answer)

    def _next(self, received: Received) -> Scripted:
        with self._lock:
            self.received.append(received)
            return self._answers.popleft() if self._answers else SUCCESS

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Prism's pool expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                path = self.path.split("?", 1)[0]
                headers = httpx.Headers(list(self.headers.items()))
                answer = server._next(Received(path=path, headers=headers, body=body))
                self.send_response(answer.status)
                self.send_header("content-type", answer.content_type)
                self.send_header("content-length", str(len(answer.body)))
                extra = answer.headers
                if path == DEPRECATED_PATH:
                    extra += answer.deprecation_headers
                for name, value in extra:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read ``received`` instead."""

        return Handler

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)


# --- Prism -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PrismProxy:
    """A running ``prism proxy`` with one cloud's contract in front of one upstream."""

    url: str
    cloud: Cloud
    log: list[str] = attrs.field(repr=False)

    def log_tail(self, lines: int = 15) -> str:
        """Prism's last log lines (its validation messages), for assertion messages."""
        return "\n".join(self.log[-lines:])


@attrs.frozen(kw_only=True)
class Upstreams:
    """The module's servers and the Prism in front of each, per cloud."""

    mocks: dict[Cloud, MockAuthingServer]
    scripted: ScriptedServer
    prisms: dict[tuple[Upstream, Cloud], PrismProxy]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    """Each cloud's varied mock and the scripted server on loopback, a Prism in front of each."""
    if not PRISM.exists():
        pytest.fail(
            f"{PRISM.relative_to(REPO)} is missing: run `make node` to install the npm tools "
            "(package-lock.json) before the contract tests"
        )
    mocks = {
        cloud: MockAuthingServer(cloud=cloud, varied=True, sunset=datetime(2030, 1, 1, tzinfo=UTC))
        for cloud in CLOUDS
    }
    with contextlib.ExitStack() as stack:
        scripted = stack.enter_context(ScriptedServer())
        mock_urls = {
            cloud: stack.enter_context(run_mock_server(mocks[cloud])).url for cloud in CLOUDS
        }
        prisms: dict[tuple[Upstream, Cloud], PrismProxy] = {}
        for upstream in ("mock", "scripted"):
            for cloud in CLOUDS:
                url = mock_urls[cloud] if upstream == "mock" else scripted.url
                port = free_port()
                command = [str(PRISM), "proxy", str(contract_path(cloud)), url, "--errors"]
                command += ["--host", "127.0.0.1", "--port", str(port)]
                log = stack.enter_context(running_process(command, ready_line=READY_LINE))
                prisms[upstream, cloud] = PrismProxy(
                    url=f"http://127.0.0.1:{port}", cloud=cloud, log=log
                )
        yield Upstreams(mocks=mocks, scripted=scripted, prisms=prisms)


def _violations(response: httpx.Response) -> str:
    """What Prism said was wrong: its problem document and ``sl-violations`` header."""
    detail: Any = response.text
    with contextlib.suppress(ValueError, AttributeError):  # not Prism's problem document
        detail = response.json().get("validation", detail)
    return f"{detail} / sl-violations: {response.headers.get('sl-violations')}"


Outcome = WechatAccessToken | AuthingAPIError


def _call(
    prism: PrismProxy,
    flavour: Flavour,
    endpoint: Endpoint,
    *,
    lang: str | None,
    access_token: str | None,
    tamper: Callable[[httpx.Request], None] | None = None,
) -> tuple[Outcome, httpx.Response]:
    """One call through Prism by a client of Prism's cloud; its outcome and the one response.

    Fails the test, with Prism's reasons, if Prism objected to the request (422) or the answer
    (500 with ``sl-violations``).
    """
    responses: list[httpx.Response] = []
    kwargs: dict[str, Any] = {
        "brand": prism.cloud,
        "lang": lang,
        "access_token": access_token,
        "retry": None,  # a Prism 500 must surface, not be retried away
        "deprecated": "migrate" if endpoint == "migrated" else "warn",
    }
    driver = Driver(flavour)

    def run() -> WechatAccessToken:
        http = driver.http_client(on_request=tamper, on_response=responses.append)
        client = driver.client_class(prism.url, AUTHING_APP_ID, http_client=http, **kwargs)
        return driver.fetch_once(
            client,
            legacy=endpoint != "successor",
            app_id=WECHAT_APP_ID,
            app_secret=SECRET,
            http=http,
        )

    outcome: Outcome
    try:
        if endpoint == "deprecated":
            # The client warns, and so does the server's (or Prism's) Deprecation header.
            with pytest.warns(AuthingDeprecationWarning):
                outcome = run()
        else:
            outcome = run()
    except AuthingAPIError as error:
        outcome = error
    (response,) = responses
    if response.status_code == 422 or "sl-violations" in response.headers:
        pytest.fail(
            f"Prism refused the {flavour} {endpoint} call through the {prism.cloud} contract "
            f"(HTTP {response.status_code}): {_violations(response)}\n{prism.log_tail()}"
        )
    return outcome, response


# --- the client in front of the mock -----------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(ENDPOINT_PATHS))
@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_call_to_the_mock_passes_prism(
    upstreams: Upstreams, flavour: Flavour, cloud: Cloud, endpoint: Endpoint
) -> None:
    prism, mock = upstreams.prisms["mock", cloud], upstreams.mocks[cloud]
    for lang, access_token in OPTIONS:
        before = mock.request_count()
        token, response = _call(prism, flavour, endpoint, lang=lang, access_token=access_token)
        assert isinstance(token, WechatAccessToken), token
        assert response.request.url.path == ENDPOINT_PATHS[endpoint]
        assert_request_conforms(response.request)
        # It went all the way: the mock answered this very request, as the client sent it.
        assert mock.request_count() == before + 1
        received = mock.requests[-1]
        assert received.path == ENDPOINT_PATHS[endpoint]
        assert received.headers.get(f"x-{cloud}-app-id") == AUTHING_APP_ID
        assert received.headers.get(f"x-{cloud}-lang") == lang
        assert received.headers.get("authorization") == access_token
        assert token.access_token.startswith("mock-access-token-")
        if endpoint != "deprecated":
            assert token.deprecation is None
        elif "link" in response.headers:
            # Deprecation, Sunset and Link survived Prism's response validation.
            assert token.deprecation is not None
            assert token.deprecation.successor == SUCCESSOR_PATH
            assert token.deprecation.sunset == datetime(2030, 1, 1, tzinfo=UTC)
        else:
            # The varied mock left the headers out; Prism added its own `deprecation: true`.
            assert response.headers["deprecation"] == "true"
            assert token.deprecation is not None
            assert token.deprecation.deprecated_at is None


MOCK_FAULTS: dict[str, Fault] = {
    "503 with Retry-After": Fault.status(503, retry_after="2", api_code=5003),
    "429 with retry-after-ms": Fault.status(429, retry_after_ms="150"),
    "401": Fault.status(401, api_code=2001),
    "520": Fault.status(520),
    "statusCode 500 in HTTP 200": Fault.envelope_error(500, api_code=5001),
    "HTML 502 from a proxy": Fault.html(502),
}


@pytest.mark.parametrize("fault", list(MOCK_FAULTS))
def test_the_mock_servers_error_answers_pass_prism(upstreams: Upstreams, fault: str) -> None:
    scripted = MOCK_FAULTS[fault]
    upstreams.mocks["authing"].add_fault(SUCCESSOR_PATH, scripted)
    error, _ = _call(
        upstreams.prisms["mock", "authing"], "sync", "successor", lang="en-US", access_token=None
    )
    assert isinstance(error, AuthingAPIError), error
    expected_http = 200 if scripted.kind == "envelope_error" else scripted.status_code
    assert error.http_status == expected_http
    assert error.status_code == scripted.status_code


# --- realistic answers of servers nobody here wrote --------------------------------------------


def _html(status: int, phrase: str) -> bytes:
    return (
        f"<html><head><title>{status} {phrase}</title></head><body>{phrase}</body></html>".encode()
    )


@attrs.frozen(kw_only=True)
class Expected:
    """What the client makes of an answer: a token, or ``AuthingAPIError(http, statusCode)``."""

    token: bool = False
    http_status: int | None = None
    status_code: int | None = None


HTTP_DATE = "Wed, 01 Jan 2025 00:00:00 GMT"
SUNSET = ("sunset", "Thu, 31 Dec 2026 23:59:59 GMT")
SUCCESSOR_LINK = ("link", f'<{SUCCESSOR_PATH}>; rel="successor-version"')
TOKEN_OUT = Expected(token=True)
REALISTIC: dict[str, tuple[Scripted, Expected]] = {
    "a legacy success without deprecation headers": (SUCCESS, TOKEN_OUT),
    "Deprecation: true (earlier drafts)": (
        attrs.evolve(SUCCESS, deprecation_headers=(("deprecation", "true"),)),
        TOKEN_OUT,
    ),
    "Deprecation as an HTTP-date, Sunset, Link": (
        attrs.evolve(
            SUCCESS, deprecation_headers=(("deprecation", HTTP_DATE), SUNSET, SUCCESSOR_LINK)
        ),
        TOKEN_OUT,
    ),
    "Deprecation: @epoch (RFC 9745), Sunset in UTC": (
        attrs.evolve(
            SUCCESS,
            deprecation_headers=(
                ("deprecation", "@1735689600"),
                ("sunset", HTTP_DATE[:-3] + "UTC"),
            ),
        ),
        TOKEN_OUT,
    ),
    "a success with a charset, unknown fields, no requestId": (
        Scripted(
            status=200,
            content_type="application/json; charset=utf-8",
            body=_envelope(
                200,
                traceId="t-1",
                data={"accessToken": SCRIPTED_TOKEN, "expiresAt": SCRIPTED_EXPIRES_AT, "x": 1},
            ),
        ),
        TOKEN_OUT,
    ),
    "statusCode 500 in HTTP 200 without data": (
        Scripted(status=200, body=_envelope(500, "failed", apiCode=5001)),
        Expected(http_status=200, status_code=500),
    ),
    "statusCode 500 in HTTP 200 with a full data object": (
        Scripted(
            status=200,
            body=_envelope(
                500,
                "failed",
                apiCode=5001,
                data={"accessToken": SCRIPTED_TOKEN, "expiresAt": SCRIPTED_EXPIRES_AT},
            ),
        ),
        Expected(http_status=200, status_code=500),
    ),
    "statusCode 400 in HTTP 200, data null": (
        Scripted(status=200, body=_envelope(400, "bad", apiCode=1001, data=None)),
        Expected(http_status=200, status_code=400),
    ),
    "statusCode 429 in HTTP 200, data {}": (
        Scripted(status=200, body=_envelope(429, "slow down", data={})),
        Expected(http_status=200, status_code=429),
    ),
    "404 with the envelope": (
        Scripted(status=404, body=_envelope(404, "Not Found", requestId="r-404")),
        Expected(http_status=404, status_code=404),
    ),
    "408 with the envelope, data null": (
        Scripted(status=408, body=_envelope(408, "Request Timeout", data=None)),
        Expected(http_status=408, status_code=408),
    ),
    "401 with the envelope, data {}": (
        Scripted(status=401, body=_envelope(401, "Unauthorized", apiCode=2001, data={})),
        Expected(http_status=401, status_code=401),
    ),
    "HTML 403 from a WAF": (
        Scripted(status=403, content_type="text/html", body=_html(403, "Forbidden")),
        Expected(http_status=403, status_code=403),
    ),
    "HTML 429 from a gateway, with Retry-After": (
        Scripted(
            status=429,
            content_type="text/html; charset=utf-8",
            headers=(("retry-after", "1"),),
            body=_html(429, "Too Many Requests"),
        ),
        Expected(http_status=429, status_code=429),
    ),
    "HTML 502 from a proxy": (
        Scripted(status=502, content_type="text/html", body=_html(502, "Bad Gateway")),
        Expected(http_status=502, status_code=502),
    ),
    "plain-text 503 from a load balancer": (
        Scripted(status=503, content_type="text/plain", body=b"no healthy upstream"),
        Expected(http_status=503, status_code=503),
    ),
    "plain-text 504": (
        Scripted(
            status=504,
            content_type="text/plain; charset=utf-8",
            body=b"upstream request timeout",
        ),
        Expected(http_status=504, status_code=504),
    ),
}
# The sync client without the optional headers, the async one with both.
SCRIPTED_OPTIONS = (OPTIONS[0], OPTIONS[1])


@pytest.mark.parametrize("endpoint", ["successor", "deprecated"])
@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("answer", list(REALISTIC))
def test_realistic_answers_pass_prism_and_are_classified(
    upstreams: Upstreams, answer: str, cloud: Cloud, endpoint: Endpoint
) -> None:
    scripted, expected = REALISTIC[answer]
    prism = upstreams.prisms["scripted", cloud]
    for flavour, (lang, access_token) in zip(FLAVOURS, SCRIPTED_OPTIONS, strict=True):
        before = len(upstreams.scripted.received)
        upstreams.scripted.script(scripted)
        outcome, response = _call(prism, flavour, endpoint, lang=lang, access_token=access_token)
        # Prism passed the scripted answer through, untouched in status.
        assert len(upstreams.scripted.received) == before + 1
        assert response.status_code == scripted.status
        if expected.token:
            assert isinstance(outcome, WechatAccessToken), outcome
            assert outcome.access_token == SCRIPTED_TOKEN
        else:
            assert isinstance(outcome, AuthingAPIError), outcome
            assert (outcome.http_status, outcome.status_code) == (
                expected.http_status,
                expected.status_code,
            )


BROKEN: dict[str, Scripted] = {
    "a success without data": Scripted(status=200, body=_envelope(200)),
    "expiresAt as a number": Scripted(
        status=200, body=_envelope(200, data={"accessToken": "t", "expiresAt": 1735696800})
    ),
    # A failure may carry a token in data (the seeds show data on every answer), not a string.
    "a failure with a string in data": Scripted(
        status=200, body=_envelope(500, "failed", data="t")
    ),
    "an HTML 200": Scripted(status=200, content_type="text/html", body=_html(200, "OK")),
    "Deprecation: yes": attrs.evolve(SUCCESS, deprecation_headers=(("deprecation", "yes"),)),
}


@pytest.mark.parametrize("answer", list(BROKEN))
def test_prism_flags_an_answer_that_breaks_the_contract(upstreams: Upstreams, answer: str) -> None:
    # The control: the same harness reports violations, so the passes above mean something.
    upstreams.scripted.script(BROKEN[answer])
    response = httpx.post(
        upstreams.prisms["scripted", "authing"].url + DEPRECATED_PATH,
        headers={"x-authing-app-id": AUTHING_APP_ID},
        json={"appId": WECHAT_APP_ID, "appSecret": SECRET},
    )
    assert response.status_code == 500, (response.status_code, response.text)
    assert "sl-violations" in response.headers


# --- the official SDKs' request shapes ---------------------------------------------------------


def _sdk_headers(sdk: str, cloud: Cloud) -> dict[str, str]:
    app_id = {f"x-{cloud}-app-id": AUTHING_APP_ID}
    if sdk == "node":
        return {**app_id, "content-type": "application/json", "authorization": TOKEN}
    if sdk == "python":
        return {
            **app_id,
            "content-type": "application/json",
            f"x-{cloud}-sdk-version": "python:5.1.0",
            f"x-{cloud}-request-from": "sdk",
            f"x-{cloud}-lang": "zh-CN",
            "authorization": TOKEN,
        }
    if sdk == "go":
        return {
            **app_id,
            "content-type": "application/json;charset=UTF-8",
            "x-authing-sdk-version": "go:3.0.0",
        }
    return {  # java
        **app_id,
        "content-type": "application/json",
        "x-authing-request-from": "java-sdk",
        "x-authing-sdk-version": "java:3.0.0",
        "authorization": f"Bearer {TOKEN}",
    }


SDKS: list[tuple[str, Cloud]] = [
    ("node", "authing"),
    ("node", "genauth"),
    ("python", "authing"),
    ("python", "genauth"),
    ("go", "authing"),
    ("java", "authing"),
]


@pytest.mark.parametrize("path", [SUCCESSOR_PATH, DEPRECATED_PATH])
@pytest.mark.parametrize(("sdk", "cloud"), SDKS)
def test_the_official_sdks_requests_pass_prism(
    upstreams: Upstreams, sdk: str, cloud: Cloud, path: str
) -> None:
    headers = _sdk_headers(sdk, cloud)
    body = json.dumps({"appId": WECHAT_APP_ID, "appSecret": SECRET}).encode()
    before = len(upstreams.scripted.received)
    response = httpx.post(
        upstreams.prisms["scripted", cloud].url + path, headers=headers, content=body
    )
    assert response.status_code == 200, _violations(response)
    assert "sl-violations" not in response.headers, _violations(response)
    (received,) = upstreams.scripted.received[before:]
    assert received.path == path
    for name, value in headers.items():
        assert received.headers.get(name) == value, name


# --- requests Prism must refuse ----------------------------------------------------------------


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
    "no app id": ({}, {"appId": WECHAT_APP_ID, "appSecret": SECRET}, "x-authing-app-id"),
    "the other cloud's app id": (
        {"x-genauth-app-id": AUTHING_APP_ID},
        {"appId": WECHAT_APP_ID, "appSecret": SECRET},
        "x-authing-app-id",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_REQUESTS))
def test_prism_rejects_a_request_that_breaks_the_contract(upstreams: Upstreams, case: str) -> None:
    headers, body, named = INVALID_REQUESTS[case]
    mock = upstreams.mocks["authing"]
    before = mock.request_count()
    response = httpx.post(
        upstreams.prisms["mock", "authing"].url + SUCCESSOR_PATH, headers=headers, json=body
    )
    assert response.status_code == 422, (response.status_code, response.text)
    assert named in json.dumps(response.json()["validation"])
    assert mock.request_count() == before, "Prism forwarded an invalid request"


def test_a_call_prism_refuses_fails_with_prisms_reasons(upstreams: Upstreams) -> None:
    # The harness bites: a request altered on its way out makes the call fail, saying why.
    def wrong_lang(request: httpx.Request) -> None:
        request.headers["x-authing-lang"] = "fr-FR"

    with pytest.raises(pytest.fail.Exception, match=r"(?s)HTTP 422.*x-authing-lang"):
        _call(
            upstreams.prisms["mock", "authing"],
            "sync",
            "successor",
            lang="en-US",
            access_token=None,
            tamper=wrong_lang,
        )
