"""Client-side contract: what the overlay clients send and accept, judged by the spec alone.

Inputs come from the spec through schemathesis (the request body schema, the header parameters'
schemas and examples); requests are captured with respx and checked by
``_spec_tools.request_violations``; response bodies are generated from the 200 response schema,
valid and invalid, and the clients must read exactly the valid ones. Hypothesis runs bounded and
derandomized here; ``AUTHING_WECHAT_FUZZ_EXAMPLES=2000`` (``make fuzz``) runs it long and random.

The rules for a response body sent with HTTP 200:

- valid, ``statusCode`` 200, ``data`` present: a ``WechatAccessToken`` with the body's fields,
  unless the client refuses the value on purpose (an empty ``accessToken``, an ``expiresAt``
  past what ``datetime`` holds, ``statusCode``/``apiCode`` written as a float like ``200.0``):
  then ``AuthingResponseError``;
- valid, ``statusCode`` not 200: ``AuthingAPIError`` carrying the envelope's fields (or
  ``AuthingResponseError`` for an integer written as a float, as above);
- invalid: ``AuthingResponseError``, or ``AuthingAPIError`` only when the body is an object whose
  ``statusCode`` is an integer other than 200 (a business failure is reported as such even when
  another field is malformed); never a token, never any other exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import httpx
import pytest
import respx
from authing_wechat import (
    AuthingAPIError,
    AuthingDeprecationWarning,
    AuthingResponseError,
    WechatAccessToken,
    WechatTokenClient,
)
from authing_wechat.testing import Fault, MockAuthingServer, MockAuthingTransport
from hypothesis import assume, given
from hypothesis import strategies as st

from tests._support import SECRET, TOKEN, Driver
from tests.contract._spec_tools import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    assert_request_conforms,
    assert_response_conforms,
    business_failure_bodies,
    fuzz_settings,
    invalid_response_bodies,
    operation,
    request_violations,
    response_violations,
    spec_example,
    success_bodies,
)

APP_HOST = "https://example.authing.cn"
Flavour = Literal["sync", "async"]
Endpoint = Literal["successor", "deprecated", "migrated"]
Brand = Literal["authing", "genauth"]
BRANDS: tuple[Brand, ...] = ("authing", "genauth")
FLAVOURS: tuple[Flavour, ...] = ("sync", "async")
# Where each way of calling must land.
ENDPOINT_PATHS: dict[Endpoint, str] = {
    "successor": SUCCESSOR_PATH,
    "deprecated": DEPRECATED_PATH,
    "migrated": SUCCESSOR_PATH,
}
# datetime's last second (9999-12-31T23:59:59Z): the latest expiry a WechatAccessToken can hold.
MAX_EXPIRES_AT = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
FIELD_VALUE_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@attrs.frozen(kw_only=True)
class ClientInputs:
    """What a user passes: the constructor's cloud settings and the call's credentials."""

    brand: Brand
    authing_app_id: str
    lang: str | None
    access_token: str | None
    app_id: str
    app_secret: str = attrs.field(repr=False)


@st.composite
def client_inputs(draw: st.DrawFn) -> ClientInputs:
    """Inputs drawn from the spec: a generated request of the successor operation.

    The body gives ``appId``/``appSecret``; the generated ``x-*-app-id`` / ``x-*-lang`` headers
    (either cloud's: both have the same schema) give the app id and lang, the parameter's
    ``example`` standing in when none was generated. The access token (an ``apiKey`` scheme,
    no schema) is a token-like run of visible ASCII, as the official SDKs send it.
    """
    case = draw(operation(SUCCESSOR_PATH).as_strategy())
    brand = draw(st.sampled_from(BRANDS))
    headers = {name.lower(): value for name, value in (case.headers or {}).items()}
    parameters = {parameter.name: parameter for parameter in operation(SUCCESSOR_PATH).headers}
    authing_app_id = (
        headers.get(f"x-{brand}-app-id")
        or headers.get("x-authing-app-id")
        or headers.get("x-genauth-app-id")
        or parameters[f"x-{brand}-app-id"].definition["example"]
    )
    lang = (
        headers.get(f"x-{brand}-lang")
        or headers.get("x-authing-lang")
        or headers.get("x-genauth-lang")
    )
    access_token = draw(st.none() | st.text(FIELD_VALUE_CHARS, min_size=1, max_size=48))
    body = case.body
    assert isinstance(body, dict)
    app_id, app_secret = body["appId"], body["appSecret"]
    assert isinstance(app_id, str)
    assert isinstance(app_secret, str)
    return ClientInputs(
        brand=brand,
        authing_app_id=authing_app_id,
        lang=lang,
        access_token=access_token,
        app_id=app_id,
        app_secret=app_secret,
    )


def make_client(
    flavour: Flavour,
    inputs: ClientInputs,
    *,
    deprecated: Literal["warn", "migrate"] = "warn",
    http_client: Any = None,
    app_host: str = APP_HOST,
) -> Any:
    """A client as a user would make it (one attempt: these tests judge single exchanges)."""
    return Driver(flavour).client_class(
        app_host,
        inputs.authing_app_id,
        brand=inputs.brand,
        lang=inputs.lang,
        access_token=inputs.access_token,
        retry=None,
        deprecated=deprecated,
        http_client=http_client,
    )


def fetch(
    flavour: Flavour,
    inputs: ClientInputs,
    endpoint: Endpoint,
    *,
    http_client: Any = None,
    app_host: str = APP_HOST,
) -> WechatAccessToken:
    """One call of ``endpoint`` by a fresh client; the deprecated one must warn."""
    deprecated: Literal["warn", "migrate"] = "migrate" if endpoint == "migrated" else "warn"
    client = make_client(
        flavour, inputs, deprecated=deprecated, http_client=http_client, app_host=app_host
    )

    def call() -> WechatAccessToken:
        return Driver(flavour).fetch_once(
            client,
            legacy=endpoint != "successor",
            app_id=inputs.app_id,
            app_secret=inputs.app_secret,
        )

    if endpoint != "deprecated":
        return call()
    # No ``match=``: pytest re-emits unmatched warnings, and a server's Deprecation headers
    # add a second one (the server's notice) that names the successor path, not the method.
    with pytest.warns(AuthingDeprecationWarning) as warned:
        token = call()
    messages = [str(warning.message) for warning in warned]
    assert any("use get_wechat_mp_access_token_info()" in m for m in messages), messages
    return token


def sent_as_configured(
    request: httpx.Request, inputs: ClientInputs, endpoint: Endpoint
) -> list[str]:
    """Where ``request`` differs from what the user's arguments ask for (beyond the spec)."""
    problems: list[str] = []
    if request.url.path != ENDPOINT_PATHS[endpoint]:
        problems.append(f"{endpoint} call went to {request.url.path}")
    if json.loads(request.content) != {"appId": inputs.app_id, "appSecret": inputs.app_secret}:
        problems.append("body is not exactly {appId, appSecret} as given")
    own, other = inputs.brand, "genauth" if inputs.brand == "authing" else "authing"
    if request.headers.get_list(f"x-{own}-app-id") != [inputs.authing_app_id]:
        problems.append(f"x-{own}-app-id is not the app id given")
    if request.headers.get_list(f"x-{own}-lang") != ([] if inputs.lang is None else [inputs.lang]):
        problems.append(f"x-{own}-lang does not follow lang")
    if any(name.startswith(f"x-{other}-") for name in request.headers):
        problems.append(f"x-{other}-* header sent with brand={own!r}")
    expected_auth = [] if inputs.access_token is None else [inputs.access_token]
    if request.headers.get_list("authorization") != expected_auth:
        problems.append("Authorization is not exactly the raw access_token (or absent without one)")
    return problems


def _captured(router: respx.MockRouter) -> list[httpx.Request]:
    return [call.request for call in router.calls]


def _all_calls(
    inputs: ClientInputs, respond: Callable[[httpx.Request], httpx.Response]
) -> list[tuple[Endpoint, httpx.Request]]:
    """Every flavour and endpoint called once under respx; the requests they sent."""
    sent: list[tuple[Endpoint, httpx.Request]] = []
    for flavour in FLAVOURS:
        for endpoint in ENDPOINT_PATHS:
            with respx.mock(assert_all_called=False) as router:
                router.route().mock(side_effect=respond)
                fetch(flavour, inputs, endpoint)
                requests = _captured(router)
            assert len(requests) == 1, f"{flavour} {endpoint}: {len(requests)} requests"
            sent.append((endpoint, requests[0]))
    return sent


def _success(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=spec_example("Success"))


# --- requests --------------------------------------------------------------------------------


@fuzz_settings(25)
@given(inputs=client_inputs())
def test_every_request_conforms_to_the_spec(inputs: ClientInputs) -> None:
    if not (inputs.app_id.strip() and inputs.app_secret.strip()):
        # Python's str.strip() counts U+001C..U+001F as blank; the spec's "\S" does not. The
        # client's documented rule (blank raises ValueError, before any request) wins here.
        with respx.mock(assert_all_called=False) as router:
            router.route().mock(side_effect=_success)
            with pytest.raises(ValueError, match="must not be empty or blank"):
                fetch("sync", inputs, "successor")
            assert not router.calls
        return
    for endpoint, request in _all_calls(inputs, _success):
        assert_request_conforms(request)
        assert not sent_as_configured(request, inputs, endpoint), sent_as_configured(
            request, inputs, endpoint
        )


EXAMPLE_INPUTS = ClientInputs(
    brand="authing",
    authing_app_id="62b4a8a1e2c1f0a1b2c3d4e5",
    lang="en-US",
    access_token=TOKEN,
    app_id="wx1234567890abcdef",
    app_secret=SECRET,
)


class _Tamper(httpx.BaseTransport):
    """A broken request builder: rewrites each request before respx (the network) sees it."""

    def __init__(self, rewrite: Callable[[httpx.Request], httpx.Request]) -> None:
        self._rewrite = rewrite
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._inner.handle_request(self._rewrite(request))


def _rebuilt(
    request: httpx.Request,
    *,
    body: Any = None,
    drop: tuple[str, ...] = (),
    add: dict[str, str] | None = None,
    path: str | None = None,
) -> httpx.Request:
    headers = httpx.Headers([(k, v) for k, v in request.headers.multi_items() if k not in drop])
    headers.pop("content-length", None)
    headers.update(add or {})
    url = request.url if path is None else request.url.copy_with(path=path)
    content = request.content if body is None else json.dumps(body).encode()
    return httpx.Request(request.method, url, headers=headers, content=content)


def _renamed_secret(request: httpx.Request) -> httpx.Request:
    body = json.loads(request.content)
    body["app_secret"] = body.pop("appSecret")
    return _rebuilt(request, body=body)


TAMPERING: dict[str, tuple[Callable[[httpx.Request], httpx.Request], str]] = {
    "appSecret renamed": (_renamed_secret, "fails required"),
    "appId blank": (
        lambda r: _rebuilt(r, body={**json.loads(r.content), "appId": " "}),
        "body/appId: fails properties/appId/pattern",
    ),
    "body not an object": (lambda r: _rebuilt(r, body=["wx", "secret"]), "fails type"),
    "app-id header dropped": (
        lambda r: _rebuilt(r, drop=("x-authing-app-id",)),
        "exactly one of x-authing-app-id, x-genauth-app-id",
    ),
    "both clouds' app-id headers": (
        lambda r: _rebuilt(r, add={"x-genauth-app-id": "62b4a8a1e2c1f0a1b2c3d4e5"}),
        "exactly one of x-authing-app-id, x-genauth-app-id",
    ),
    "app-id header misspelt": (
        lambda r: _rebuilt(r, drop=("x-authing-app-id",), add={"x-authing-appid": "x"}),
        "x-authing-appid: not declared",
    ),
    "lang outside the enum": (
        lambda r: _rebuilt(r, add={"x-authing-lang": "en"}),
        "x-authing-lang: does not match its schema",
    ),
    "lang of the other cloud": (
        lambda r: _rebuilt(r, drop=("x-authing-lang",), add={"x-genauth-lang": "en-US"}),
        "x-genauth-lang: belongs to the other cloud",
    ),
    "form-encoded body": (
        lambda r: _rebuilt(r, add={"content-type": "application/x-www-form-urlencoded"}),
        "Content-Type 'application/x-www-form-urlencoded'",
    ),
    "wrong path": (lambda r: _rebuilt(r, path="/api/v3/get-wechat-token"), "not an operation"),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_the_request_validator_rejects_a_broken_request_builder(tampering: str) -> None:
    rewrite, expected = TAMPERING[tampering]
    with (
        respx.mock(assert_all_called=False) as router,
        httpx.Client(transport=_Tamper(rewrite)) as http,
    ):
        router.route().mock(side_effect=_success)
        fetch("sync", EXAMPLE_INPUTS, "successor", http_client=http)
        (request,) = _captured(router)
    problems = request_violations(request)
    assert any(expected in problem for problem in problems), problems
    assert not any(SECRET in problem for problem in problems)


def test_the_untampered_example_request_passes_the_same_harness() -> None:
    # The control for the test above: the harness itself does not manufacture violations.
    with (
        respx.mock(assert_all_called=False) as router,
        httpx.Client(transport=_Tamper(lambda r: r)) as http,
    ):
        router.route().mock(side_effect=_success)
        fetch("sync", EXAMPLE_INPUTS, "successor", http_client=http)
        (request,) = _captured(router)
    assert request_violations(request) == []
    assert sent_as_configured(request, EXAMPLE_INPUTS, "successor") == []


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        pytest.param("authing_app_id", " 62b4a8a1e2c1f0a1b2c3d4e5", id="app-id-leading-space"),
        pytest.param("authing_app_id", "应用", id="app-id-non-ascii"),
        pytest.param("authing_app_id", "62b4\ta8", id="app-id-tab"),
        pytest.param("access_token", "token ", id="token-trailing-space"),
        pytest.param("access_token", "tøken", id="token-non-ascii"),
    ],
)
def test_header_values_http_cannot_carry_are_refused_up_front(argument: str, value: str) -> None:
    # Not as a transport error on every call (h11 refuses them), nor as httpx's UnicodeEncodeError.
    arguments: dict[str, Any] = {"authing_app_id": "62b4a8a1e2c1f0a1b2c3d4e5", "access_token": None}
    arguments[argument] = value
    with pytest.raises(ValueError, match=argument):
        WechatTokenClient(
            APP_HOST, arguments["authing_app_id"], access_token=arguments["access_token"]
        )


def test_an_app_id_the_spec_forbids_is_refused_up_front() -> None:
    parameter = next(p for p in operation(SUCCESSOR_PATH).headers if p.name == "x-authing-app-id")
    assert not parameter.is_valid("62b4 a8")
    with pytest.raises(ValueError, match="authing_app_id"):
        WechatTokenClient(APP_HOST, "62b4 a8")


# --- responses -------------------------------------------------------------------------------


def _answer_with(body: Any) -> Callable[[httpx.Request], httpx.Response]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    return respond


def _outcomes(body: Any) -> Iterator[tuple[Flavour, httpx.Response, WechatAccessToken | Exception]]:
    """Each flavour's result (token or exception) for ``body`` sent with HTTP 200."""
    for flavour in FLAVOURS:
        with respx.mock(assert_all_called=False) as router:
            router.route().mock(side_effect=_answer_with(body))
            try:
                outcome: WechatAccessToken | Exception = fetch(flavour, EXAMPLE_INPUTS, "successor")
            except Exception as exc:  # which one is the assertion
                outcome = exc
            (call,) = router.calls
        yield flavour, call.response, outcome


def _integer_written_as_float(body: dict[str, Any]) -> bool:
    # JSON Schema counts 500.0 as an integer; the client wants JSON integers (500) for the
    # envelope's integer fields and refuses the body otherwise.
    return any(isinstance(body.get(key), float) for key in ("statusCode", "apiCode"))


def _client_refuses(body: dict[str, Any]) -> bool:
    """Valid per spec, refused by the client on purpose (AuthingResponseError).

    An integer field written as a float, an empty ``accessToken`` (no token to use), or an
    ``expiresAt`` later than ``datetime`` can hold.
    """
    data = body["data"]
    return (
        _integer_written_as_float(body)
        or data["accessToken"] == ""
        or int(data["expiresAt"]) > MAX_EXPIRES_AT
    )


@fuzz_settings(30)
@given(body=success_bodies())
def test_a_valid_success_body_parses_to_its_fields(body: dict[str, Any]) -> None:
    data = body["data"]
    for flavour, response, outcome in _outcomes(body):
        assert response_violations(response) == []
        if _client_refuses(body):
            assert isinstance(outcome, AuthingResponseError), (flavour, outcome)
            continue
        assert isinstance(outcome, WechatAccessToken), (flavour, outcome)
        assert outcome.access_token == data["accessToken"]
        assert outcome.expires_at == datetime.fromtimestamp(int(data["expiresAt"]), UTC)
        assert outcome.request_id == body.get("requestId")


@fuzz_settings(20)
@given(body=business_failure_bodies())
def test_a_valid_business_failure_raises_its_envelope(body: dict[str, Any]) -> None:
    for flavour, response, outcome in _outcomes(body):
        assert response_violations(response) == []
        if _integer_written_as_float(body):
            assert isinstance(outcome, AuthingResponseError), (flavour, outcome)
            continue
        assert isinstance(outcome, AuthingAPIError), (flavour, outcome)
        assert outcome.http_status == 200
        assert outcome.status_code == body["statusCode"]
        assert outcome.api_code == body.get("apiCode")
        assert outcome.request_id == body.get("requestId")


def _is_business_failure(body: Any) -> bool:
    code = body.get("statusCode") if isinstance(body, dict) else None
    return type(code) is int and code != 200


def _check_refused(body: Any) -> None:
    for flavour, response, outcome in _outcomes(body):
        assert response_violations(response), "the spec's validator accepted a broken body"
        allowed: tuple[type[Exception], ...] = (AuthingResponseError,)
        if _is_business_failure(body):
            allowed = (AuthingResponseError, AuthingAPIError)
        assert type(outcome) in allowed, (flavour, type(outcome), outcome)


@fuzz_settings(30)
@given(body=invalid_response_bodies())
def test_a_body_that_breaks_the_schema_is_refused(body: Any) -> None:
    # schemathesis' negative generation aims to break the schema; keep only what truly does.
    assume(response_violations(_as_response(body)))
    _check_refused(body)


def _as_response(body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request("POST", APP_HOST + SUCCESSOR_PATH)
    return httpx.Response(
        200, content=content, request=request, headers={"content-type": "application/json"}
    )


def _success_with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = spec_example("Success")
    data = body["data"]
    for key, value in changes.items():
        target = data if key in ("accessToken", "expiresAt") else body
        if value is _DROP:
            target.pop(key)
        else:
            target[key] = value
    return body


_DROP = object()
HAND_BROKEN: dict[str, Any] = {
    "expiresAt as an int": _success_with(expiresAt=1735696800),
    "expiresAt not digits": _success_with(expiresAt="2025-01-01T02:00:00Z"),
    "expiresAt negative": _success_with(expiresAt="-1"),
    "accessToken missing": _success_with(accessToken=_DROP),
    "accessToken not a string": _success_with(accessToken=12345),
    "data missing": _success_with(data=_DROP),
    "data null": _success_with(data=None),
    "data {}": _success_with(data={}),
    "data a string": _success_with(data="token"),
    "statusCode missing": _success_with(statusCode=_DROP),
    "statusCode a string": _success_with(statusCode="200"),
    "statusCode true": _success_with(statusCode=True),
    "message missing": _success_with(message=_DROP),
    "requestId a number": _success_with(requestId=7),
    "apiCode a string": _success_with(apiCode="5001"),
    "an array": [spec_example("Success")],
    "a string": "ok",
    "null": None,
    "not JSON": b"<html><body>502 Bad Gateway</body></html>",
    "failure without message": {"statusCode": 500, "apiCode": 5001},
}


@pytest.mark.parametrize("case", list(HAND_BROKEN))
def test_named_schema_breaks_are_refused(case: str) -> None:
    _check_refused(HAND_BROKEN[case])


@pytest.mark.parametrize("status_code", [400, 429, 500, 503])
def test_a_failure_whose_data_holds_a_token_is_valid_and_still_a_failure(
    status_code: int,
) -> None:
    # The seeds show data on every answer: the contract accepts it, the client never uses it.
    body = {**spec_example("Success"), "statusCode": status_code, "message": "failed"}
    for flavour, response, outcome in _outcomes(body):
        assert response_violations(response) == []
        assert isinstance(outcome, AuthingAPIError), (flavour, outcome)
        assert (outcome.http_status, outcome.status_code) == (200, status_code)


def test_the_spec_rejects_expires_at_as_an_int() -> None:
    # data is "the token or no data" (anyOf), so the validator names data, not expiresAt's type.
    problems = response_violations(_as_response(HAND_BROKEN["expiresAt as an int"]))
    assert any('"expiresAt": 1735696800' in problem for problem in problems), problems
    assert response_violations(_as_response(_success_with(expiresAt="1735696800"))) == []


FAILURE_DATA: dict[str, dict[str, Any]] = {
    "data absent": {},
    "data null": {"data": None},
    "data {}": {"data": {}},
}


@pytest.mark.parametrize("case", list(FAILURE_DATA))
def test_a_failure_without_a_token_in_data_is_valid_and_raises_its_envelope(case: str) -> None:
    body = {"statusCode": 500, "message": "failed", "apiCode": 5001, **FAILURE_DATA[case]}
    for flavour, response, outcome in _outcomes(body):
        assert response_violations(response) == []
        assert isinstance(outcome, AuthingAPIError), (flavour, outcome)
        assert (outcome.http_status, outcome.status_code, outcome.api_code) == (200, 500, 5001)


# --- the mock server's answers ---------------------------------------------------------------


def _through_mock(
    flavour: Flavour, inputs: ClientInputs, endpoint: Endpoint, server: MockAuthingServer
) -> tuple[list[httpx.Response], WechatAccessToken | Exception]:
    responses: list[httpx.Response] = []
    driver = Driver(flavour)
    http = driver.http_client(transport=MockAuthingTransport(server), on_response=responses.append)
    try:
        outcome: WechatAccessToken | Exception = fetch(
            flavour, inputs, endpoint, http_client=http, app_host="http://127.0.0.1"
        )
    except Exception as exc:  # the test looks at which
        outcome = exc
    finally:
        driver.close(http)
    return responses, outcome


@fuzz_settings(15)
@given(inputs=client_inputs())
def test_the_mock_servers_answers_to_the_client_conform(inputs: ClientInputs) -> None:
    assume(inputs.app_id.strip() and inputs.app_secret.strip())
    server = MockAuthingServer(sunset=datetime(2030, 1, 1, tzinfo=UTC))
    for flavour in FLAVOURS:
        for endpoint in ENDPOINT_PATHS:
            responses, outcome = _through_mock(flavour, inputs, endpoint, server)
            assert isinstance(outcome, WechatAccessToken), (flavour, endpoint, outcome)
            (response,) = responses
            assert_response_conforms(response)


MOCK_FAULTS: dict[str, Fault] = {
    "HTML 502 from a proxy": Fault.html(502),
    "503 with Retry-After": Fault.status(503, retry_after="2", api_code=5003),
    "429 with retry-after-ms": Fault.status(429, retry_after_ms="150"),
    "400": Fault.status(400, api_code=1001, message="appId is required"),
    "401": Fault.status(401, api_code=2001),
    "403": Fault.status(403),
    "520": Fault.status(520),
    "statusCode 500 in HTTP 200": Fault.envelope_error(500, api_code=5001),
    "statusCode 429 in HTTP 200": Fault.envelope_error(429),
}


@pytest.mark.parametrize("endpoint", ["successor", "deprecated"])
@pytest.mark.parametrize("fault", list(MOCK_FAULTS))
def test_the_mock_servers_error_answers_conform(fault: str, endpoint: Endpoint) -> None:
    server = MockAuthingServer()
    server.add_fault(ENDPOINT_PATHS[endpoint], MOCK_FAULTS[fault])
    responses, outcome = _through_mock("sync", EXAMPLE_INPUTS, endpoint, server)
    assert isinstance(outcome, AuthingAPIError), outcome
    (response,) = responses
    assert_response_conforms(response)


def test_the_mock_servers_own_rejection_conforms() -> None:
    server = MockAuthingServer(credentials={EXAMPLE_INPUTS.app_id: "another secret"})
    responses, outcome = _through_mock("async", EXAMPLE_INPUTS, "successor", server)
    assert isinstance(outcome, AuthingAPIError)
    assert outcome.http_status == 401
    (response,) = responses
    assert_response_conforms(response)
