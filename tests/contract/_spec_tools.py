"""Spec-driven tools for the client-side contract tests: request checks, body strategies, settings.

schemathesis 4.32.5 validates *responses* (``APIOperation.validate_response``) but has no check
for a request that someone else built: its request-side checks all judge a server's answer to a
request schemathesis generated itself. So ``request_violations`` checks a captured
``httpx.Request`` piece by piece with what schemathesis does offer: it finds the operation with
``find_operation_by_path``, and validates the body and every header parameter with the
operation's own resolved schemas and validators (``OpenApiBody.get_validator()``,
``OpenApiParameter.is_valid()``, jsonschema-rs underneath). Nothing is re-modelled by hand.

Violation messages name locations and schema keywords, never values: the body holds the WeChat
app secret, and the live tests run this against a real one.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import os
from pathlib import Path
from typing import Any, Final, TypeAlias

import httpx
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.errors import FailureGroup

__all__ = [
    "DEPRECATED_PATH",
    "FUZZ_ENV",
    "SPEC_PATH",
    "SUCCESSOR_PATH",
    "VENDOR_HEADER_PREFIXES",
    "Operation",
    "assert_request_conforms",
    "assert_response_conforms",
    "business_failure_bodies",
    "fuzz_settings",
    "invalid_response_bodies",
    "load_spec",
    "operation",
    "raw_spec",
    "request_violations",
    "response_violations",
    "spec_example",
    "success_bodies",
]

SPEC_PATH: Final = Path(__file__).resolve().parents[2] / "openapi" / "authing-wechat.yaml"
SUCCESSOR_PATH: Final = "/api/v3/get-wechat-access-token-info"
DEPRECATED_PATH: Final = "/api/v3/get-wechat-access-token"
VENDOR_HEADER_PREFIXES: Final = ("x-authing-", "x-genauth-")
FUZZ_ENV: Final = "AUTHING_WECHAT_FUZZ_EXAMPLES"

_BODY_PATH: Final = "/__response-body__"
Operation: TypeAlias = schemathesis.APIOperation[Any, Any, Any, Any]


@functools.cache
def load_spec() -> Any:
    """The spec, loaded once by schemathesis (``schemathesis.openapi.from_path``)."""
    return schemathesis.openapi.from_path(str(SPEC_PATH))


@functools.cache
def raw_spec() -> dict[str, Any]:
    """The spec as plain YAML data, for the parts schemathesis does not expose."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def operation(path: str) -> Operation:
    """The spec's ``POST`` operation at ``path``."""
    found: Operation = load_spec()[path]["POST"]
    return found


def spec_example(name: str) -> Any:
    """A deep copy of ``components/examples/<name>/value``."""
    return copy.deepcopy(raw_spec()["components"]["examples"][name]["value"])


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def request_violations(request: httpx.Request) -> list[str]:
    """Everything in ``request`` that the spec does not allow; empty when it conforms.

    Checked: the method and path name an operation; the ``Content-Type`` is one the operation
    accepts; the body parses and validates against the request body schema; each declared
    header parameter is present when required, sent once, and valid for its schema; the only
    ``x-authing-*`` / ``x-genauth-*`` headers are declared ones; ``Authorization`` appears only
    where a security scheme declares it; and, as the header parameters' descriptions say, the
    headers are one cloud's: exactly one app-id header, and a lang header of the same cloud.

    Args:
        request: A request as the client sent it (its body already read).

    Returns:
        One message per violation, naming the location and the rule, never a value.
    """
    op = load_spec().find_operation_by_path(request.method, request.url.path)
    if op is None:
        return [f"{request.method} {request.url.path} is not an operation of the spec"]
    problems: list[str] = []
    problems += _body_violations(op, request)
    problems += _header_violations(op, request.headers)
    problems += _cloud_violations(op, request.headers)
    return problems


def _body_violations(op: Operation, request: httpx.Request) -> list[str]:
    media = _media_type(request.headers.get("content-type"))
    bodies = {alternative.media_type: alternative for alternative in op.body}
    if media not in bodies:
        return [f"body: Content-Type {media!r} is not one of {sorted(bodies)}"]
    try:
        body = json.loads(request.content)
    except ValueError:
        return ["body: not JSON"]
    validator = bodies[media].get_validator()
    return [
        f"body/{'/'.join(map(str, error.instance_path))}: fails "
        f"{'/'.join(map(str, error.schema_path))}"
        for error in validator.iter_errors(body)
    ]


def _header_violations(op: Operation, headers: httpx.Headers) -> list[str]:
    problems: list[str] = []
    declared = {parameter.name.lower(): parameter for parameter in op.headers}
    security = {
        parameter.name.lower()
        for parameter in op.security.iter_parameters()
        if str(parameter.location.value) == "header"
    }
    for name, parameter in declared.items():
        values = headers.get_list(name)
        if not values:
            if parameter.is_required:
                problems.append(f"header {name}: required but missing")
            continue
        if len(values) > 1:
            problems.append(f"header {name}: sent {len(values)} times")
        if not all(parameter.is_valid(value) for value in values):
            problems.append(f"header {name}: does not match its schema")
    for name in {key.lower() for key in headers}:
        if name.startswith(VENDOR_HEADER_PREFIXES) and name not in declared:
            problems.append(f"header {name}: not declared by the operation")
    if "authorization" in headers and "authorization" not in security:
        problems.append("header authorization: no security scheme of the operation declares it")
    return problems


def _cloud_violations(op: Operation, headers: httpx.Headers) -> list[str]:
    # The schema makes each cloud's headers optional because either cloud's will do; the
    # parameters' descriptions carry the rule a schema cannot: one cloud per request, its app-id
    # header present ("Required by the Authing (China) cloud; GenAuth uses x-genauth-app-id").
    names = [parameter.name.lower() for parameter in op.headers]
    app_id_names = [name for name in names if name.endswith("-app-id")]
    sent = [name for name in app_id_names if name in headers]
    if len(sent) != 1:
        return [f"headers: exactly one of {', '.join(app_id_names)} must be sent, got {sent}"]
    cloud = sent[0].removesuffix("app-id")
    return [
        f"header {name}: belongs to the other cloud than {sent[0]}"
        for name in names
        if name in headers and not name.startswith(cloud)
    ]


def assert_request_conforms(request: httpx.Request) -> None:
    """Fail the test with every violation of ``request_violations``."""
    problems = request_violations(request)
    assert not problems, f"{request.method} {request.url.path} breaks the spec: {problems}"


def _settled(response: httpx.Response) -> httpx.Response:
    # schemathesis reads ``elapsed``, which httpx only sets when it closes a stream; responses
    # that were built already read (respx, MockAuthingTransport's sync path) never get one.
    try:
        _ = response.elapsed
    except RuntimeError:
        response.elapsed = datetime.timedelta(0)
    return response


def response_violations(response: httpx.Response, *, redact: tuple[str, ...] = ()) -> list[str]:
    """Why ``response`` breaks the spec's response for its request's operation; empty if not.

    Uses ``APIOperation.validate_response`` (schemathesis' own conformance checks).

    Args:
        response: A response whose ``request`` is set.
        redact: Strings (a secret, a live token) to blank out of the messages.
    """
    request = response.request
    op = load_spec().find_operation_by_path(request.method, request.url.path)
    if op is None:
        return [f"{request.method} {request.url.path} is not an operation of the spec"]
    try:
        op.validate_response(_settled(response))
    except FailureGroup as group:
        messages = [str(failure) for failure in group.exceptions]
    except AssertionError as failure:  # a single failure (schemathesis' Failure) comes bare
        messages = [str(failure)]
    else:
        return []
    for text in redact:
        if text:
            messages = [message.replace(text, "[redacted]") for message in messages]
    return messages


def assert_response_conforms(response: httpx.Response, *, redact: tuple[str, ...] = ()) -> None:
    """Fail the test with every violation of ``response_violations``."""
    problems = response_violations(response, redact=redact)
    assert not problems, f"HTTP {response.status_code} breaks the spec: {problems}"


def _response_schema_ref() -> dict[str, Any]:
    # The schema of the successor's 200 response, as the spec writes it (a $ref into components).
    post = raw_spec()["paths"][SUCCESSOR_PATH]["post"]
    schema: dict[str, Any] = post["responses"]["200"]["content"]["application/json"]["schema"]
    return copy.deepcopy(schema)


@functools.cache
def _body_operation(refinement: str) -> Operation:
    """A one-operation spec whose request body is the 200 response schema (maybe refined).

    schemathesis generates request bodies, not response bodies; posing the response schema as
    a request body lets its own generator (positive and negative) produce response bodies
    straight from the spec's schema and components.
    """
    schema: dict[str, Any] = _response_schema_ref()
    if refinement == "success":
        schema = {
            "allOf": [schema, {"required": ["data"], "properties": {"statusCode": {"const": 200}}}]
        }
    elif refinement == "failure":
        schema = {"allOf": [schema, {"properties": {"statusCode": {"not": {"const": 200}}}}]}
    document = {
        "openapi": raw_spec()["openapi"],
        "info": {"title": "response bodies", "version": "1"},
        "paths": {
            _BODY_PATH: {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schema}},
                    },
                    "responses": {"200": {"description": "unused"}},
                }
            }
        },
        "components": {"schemas": copy.deepcopy(raw_spec()["components"]["schemas"])},
    }
    built: Operation = schemathesis.openapi.from_dict(document)[_BODY_PATH]["POST"]
    return built


def _bodies(refinement: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    return _body_operation(refinement).as_strategy(generation_mode=mode).map(lambda c: c.body)


def success_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Valid 200 response bodies with ``statusCode`` 200 and ``data`` present."""
    return _bodies("success", GenerationMode.POSITIVE)


def business_failure_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Valid 200 response bodies whose ``statusCode`` is not 200."""
    return _bodies("failure", GenerationMode.POSITIVE)


def invalid_response_bodies() -> st.SearchStrategy[Any]:
    """Bodies that break the 200 response schema (schemathesis' negative generation).

    They are JSON values, or raw ``bytes`` when schemathesis sends a body that is not JSON.
    """
    return _bodies("plain", GenerationMode.NEGATIVE)


def fuzz_settings(examples: int) -> settings:
    """Bounded, derandomized hypothesis settings; ``AUTHING_WECHAT_FUZZ_EXAMPLES`` runs long.

    With the variable set (``make fuzz``), its value is ``max_examples`` and runs are random;
    otherwise ``examples`` derandomized examples, for a fast, repeatable suite.
    """
    fuzz = os.environ.get(FUZZ_ENV, "").strip()
    return settings(
        max_examples=int(fuzz) if fuzz else examples,
        derandomize=not fuzz,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
