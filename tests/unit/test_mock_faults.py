"""The mock server's scripted faults: constructors, the CLI's text syntax, answers, queueing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    FaultSpec,
    MockAuthingServer,
    parse_fault_spec,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._support import mock_post as post

# --- constructors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [399, 600, 200, 302, True, "503"])
def test_status_and_envelope_faults_take_error_statuses_only(status: Any) -> None:
    with pytest.raises(ValueError, match="400 to 599"):
        Fault.status(status)
    with pytest.raises(ValueError, match="400 to 599"):
        Fault.envelope_error(status)


@pytest.mark.parametrize("status", [199, 204, 205, 304, 600])
def test_page_faults_need_a_status_that_carries_a_body(status: int) -> None:
    with pytest.raises(ValueError, match="has a body"):
        Fault.html(status)
    with pytest.raises(ValueError, match="has a body"):
        Fault.truncated_json(status=status)


@pytest.mark.parametrize("seconds", [-0.1, float("nan"), float("inf")])
def test_delays_must_be_finite_and_not_negative(seconds: float) -> None:
    with pytest.raises(ValueError, match=r"^seconds must be (a finite|>= 0)"):
        Fault.delay(seconds)
    with pytest.raises(ValueError, match=r"^delay must be (a finite|>= 0)"):
        Fault.drop(delay=seconds)


# The wrong types are the point: what a caller without a type checker passes.
_UNTYPED_FAULT: Any = Fault


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: _UNTYPED_FAULT.status(503, retry_after=1.5), "retry_after"),
        (lambda: _UNTYPED_FAULT.html(502, retry_after_ms="\x00"), "retry_after_ms"),
        (lambda: _UNTYPED_FAULT.envelope_error(500, api_code=b"1"), "api_code"),
        (lambda: _UNTYPED_FAULT.status(500, message=b"1"), "message"),
        (lambda: _UNTYPED_FAULT.status(500, message="\ud800"), "message"),
        (lambda: _UNTYPED_FAULT.drop(delay=""), "delay"),
        (lambda: _UNTYPED_FAULT.delay(10**400), "seconds"),
        (lambda: _UNTYPED_FAULT.status("503"), "status"),
    ],
)
def test_a_fault_argument_that_cannot_work_is_refused_by_name(build: Any, name: str) -> None:
    with pytest.raises((TypeError, ValueError), match=f"^{name} "):
        build()


def test_hint_headers_are_kept_verbatim_but_cannot_break_the_framing() -> None:
    # Malformed hints are a legitimate input for testing a client's parser.
    assert Fault.status(503, retry_after="soon").retry_after == "soon"
    with pytest.raises(ValueError, match="printable ASCII"):
        Fault.status(503, retry_after="1\r\nX-Injected: yes")
    with pytest.raises(ValueError, match="printable ASCII"):
        Fault.html(502, retry_after_ms="é")


def test_constructors_fill_in_the_kind() -> None:
    assert Fault.status(520).kind == "status"
    assert Fault.html().status_code == 502
    assert Fault.truncated_json().status_code == 200
    assert Fault.envelope_error().status_code == 500
    assert Fault.delay(2).delay_seconds == 2.0
    assert Fault.drop().kind == "drop"


# --- the text syntax ------------------------------------------------------------------------

HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("info:503", FaultSpec(SUCCESSOR_PATH, Fault.status(503), 1)),
        (
            "info:503:retry-after=2:x3",
            FaultSpec(SUCCESSOR_PATH, Fault.status(503, retry_after="2"), 3),
        ),
        ("legacy:html502", FaultSpec(DEPRECATED_PATH, Fault.html(502), 1)),
        ("info:drop", FaultSpec(SUCCESSOR_PATH, Fault.drop(), 1)),
        ("info:delay=1.5", FaultSpec(SUCCESSOR_PATH, Fault.delay(1.5), 1)),
        ("info:truncated", FaultSpec(SUCCESSOR_PATH, Fault.truncated_json(), 1)),
        ("info:envelope500:always", FaultSpec(SUCCESSOR_PATH, Fault.envelope_error(500), None)),
        (
            "info:429:retry-after-ms=250",
            FaultSpec(SUCCESSOR_PATH, Fault.status(429, retry_after_ms="250"), 1),
        ),
        (
            f"info:503:retry-after={HTTP_DATE}:x2",
            FaultSpec(SUCCESSOR_PATH, Fault.status(503, retry_after=HTTP_DATE), 2),
        ),
        (
            f"deprecated:envelope429:retry-after={HTTP_DATE}:retry-after-ms=10",
            FaultSpec(
                DEPRECATED_PATH,
                Fault.envelope_error(429, retry_after=HTTP_DATE, retry_after_ms="10"),
                1,
            ),
        ),
        (f"{SUCCESSOR_PATH}:520", FaultSpec(SUCCESSOR_PATH, Fault.status(520), 1)),
        ("successor:drop:delay=0.5:x2", FaultSpec(SUCCESSOR_PATH, Fault.drop(delay=0.5), 2)),
        ("legacy:html200:delay=1", FaultSpec(DEPRECATED_PATH, Fault.html(200, delay=1), 1)),
    ],
)
def test_fault_specs_parse(text: str, expected: FaultSpec) -> None:
    assert parse_fault_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "unknown endpoint"),
        ("nowhere:503", "unknown endpoint"),
        ("/api/v3/other:503", "unknown endpoint"),
        ("info", "unknown fault kind"),
        ("info:bogus", "unknown fault kind"),
        ("info:5033", "unknown fault kind"),
        ("info:200", "400 to 599"),
        ("info:503:x0", "unknown option"),
        ("info:503:frob=1", "unknown option"),
        ("info:503:retry-after=", "unknown option"),
        ("info:drop:retry-after=1", "retry hints"),
        ("info:truncated:retry-after-ms=1", "retry hints"),
        ("info:delay=1:retry-after=2", "takes no headers"),
        ("info:delay=abc", "bad delay"),
        ("info:delay=-1", "bad delay"),
        ("info:503:delay=nan", "bad delay"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_fault_spec(text)


@settings(max_examples=200, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from("info:legacy503html2xalwaysdrop=.-retry"), max_size=40))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        spec = parse_fault_spec(text)
    except ValueError:
        return
    assert isinstance(spec.fault, Fault)


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message", "api_code"),
    [
        (Fault.status(503, retry_after="2", retry_after_ms="1500"), "Service Unavailable", None),
        (Fault.status(499), "Client Error", None),  # statuses the standard library never named
        (Fault.status(520), "Server Error", None),
        (Fault.status(429, api_code=4290, message="slow down"), "slow down", 4290),
    ],
)
def test_status_fault_answers_the_error_envelope_with_its_hints(
    fault: Fault, message: str, api_code: int | None
) -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, fault)
    response = post(server)
    assert response.status_code == fault.status_code
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("retry-after") == fault.retry_after
    assert response.headers.get("retry-after-ms") == fault.retry_after_ms
    body = response.json()
    assert (body["statusCode"], body["message"], body.get("apiCode")) == (
        fault.status_code,
        message,
        api_code,
    )
    assert body["requestId"]
    assert "data" not in body


def test_html_fault_answers_a_proxy_page() -> None:
    server = MockAuthingServer()
    server.add_fault(DEPRECATED_PATH, Fault.html(502, retry_after="30"))
    response = post(server, DEPRECATED_PATH)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["retry-after"] == "30"
    assert "<h1>502 Bad Gateway</h1>" in response.text
    # A proxy's page is not the API's answer: no deprecation headers ride on it.
    assert "deprecation" not in response.headers
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncated_fault_answers_json_cut_short() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.truncated_json())
    response = post(server)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.text.startswith('{"statusCode":200')
    # Framed: the Content-Length is the short body's, so only the JSON is broken.
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_envelope_fault_answers_http_200_with_a_failed_envelope() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.envelope_error(500, api_code=5001))
    server.add_fault(SUCCESSOR_PATH, Fault.envelope_error(429, retry_after="1"))
    first, second = post(server), post(server)
    assert first.status_code == second.status_code == 200
    assert first.json()["statusCode"] == 500
    assert first.json()["apiCode"] == 5001
    assert "data" not in first.json()
    assert second.json()["statusCode"] == 429
    assert second.headers["retry-after"] == "1"


def test_delay_fault_waits_on_the_clock_then_answers_normally() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(1.5))
    server.add_fault(SUCCESSOR_PATH, Fault.status(503, delay=0.25))
    delayed, failed = post(server), post(server)
    assert delayed.status_code == 200
    assert delayed.json()["data"]["accessToken"]
    assert failed.status_code == 503
    assert clock.sleeps == [1.5, 0.25]


def test_delay_fault_still_validates_the_request() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(3))
    response = post(server, body={"appId": "wx"})
    assert response.status_code == 400
    assert clock.sleeps == [3.0]


def test_drop_fault_surfaces_as_a_transport_error() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.drop(delay=0.5))
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        post(server)
    assert isinstance(caught.value, httpx.TransportError)
    assert clock.sleeps == [0.5]
    assert server.requests[-1].status is None
    assert server.requests[-1].fault == Fault.drop(delay=0.5)
    assert post(server).status_code == 200


def test_faults_answer_before_validation() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    response = post(server, body="not an object", headers={})
    assert response.status_code == 503


def test_status_fault_on_the_deprecated_path_keeps_its_deprecation_headers() -> None:
    server = MockAuthingServer()
    server.add_fault(DEPRECATED_PATH, Fault.status(503))
    response = post(server, DEPRECATED_PATH)
    assert response.status_code == 503
    assert response.headers["deprecation"] == "@1735689600"


# --- queueing -----------------------------------------------------------------------------


def test_faults_answer_in_order_then_normal_answers_resume() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.status(503), times=2)
    server.add_fault(SUCCESSOR_PATH, Fault.html(502))
    statuses = [post(server).status_code for _ in range(5)]
    assert statuses == [503, 503, 502, 200, 200]
    assert [r.fault for r in server.requests] == [
        Fault.status(503),
        Fault.status(503),
        Fault.html(502),
        None,
        None,
    ]


def test_always_never_runs_out_and_hides_later_faults() -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.status(500), times=None)
    server.add_fault(SUCCESSOR_PATH, Fault.html(502))
    statuses = {post(server).status_code for _ in range(20)}
    assert statuses == {500}
    server.reset()
    assert post(server).status_code == 200


def test_faults_belong_to_their_path_and_to_post_only() -> None:
    server = MockAuthingServer()
    server.add_fault(DEPRECATED_PATH, Fault.status(503))
    assert post(server, SUCCESSOR_PATH).status_code == 200
    assert post(server, DEPRECATED_PATH, method="GET").status_code == 405
    assert post(server, DEPRECATED_PATH).status_code == 503
    assert post(server, DEPRECATED_PATH).status_code == 200


@pytest.mark.parametrize("times", [0, -1, True, 1.5])
def test_add_fault_rejects_bad_counts(times: Any) -> None:
    with pytest.raises(ValueError, match="times"):
        MockAuthingServer().add_fault(SUCCESSOR_PATH, Fault.drop(), times=times)


def test_add_fault_rejects_paths_the_server_does_not_serve() -> None:
    with pytest.raises(ValueError, match="path must be one of"):
        MockAuthingServer().add_fault("/api/v3/other", Fault.drop())
