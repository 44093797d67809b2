"""The mock server's decisions (``MockAuthingServer.answer``), rule by rule, served in-process."""

from __future__ import annotations

import datetime
import json
import logging
import threading
import uuid
from typing import Any

import httpx
import pytest
from authing_wechat.testing import (
    CLOUDS,
    DEPRECATED_PATH,
    PATHS,
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
)

from tests._support import MOCK_BODY, MOCK_HEADERS, SECRET, mock_post
from tests.contract._spec_tools import assert_response_conforms

USER_TOKEN = "CANARY-user-token-55aa"

# --- success ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_valid_request_gets_a_token(path: str) -> None:
    clock = FakeClock(start=1_750_000_000.5)
    response = mock_post(MockAuthingServer(clock=clock), path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert (body["statusCode"], body["message"]) == (200, "操作成功")
    uuid.UUID(body["requestId"])
    assert "apiCode" not in body
    assert body["data"]["accessToken"]
    assert body["data"]["expiresAt"] == str(1_750_000_000 + 7200)
    assert SECRET not in response.text
    assert_response_conforms(response)


def test_genauth_headers_work_like_authing_ones_and_the_token_is_raw() -> None:
    server = MockAuthingServer()
    headers = {"x-genauth-app-id": "genauth-app", "x-genauth-lang": "en-US"}
    response = mock_post(server, headers={**headers, "Authorization": USER_TOKEN})
    assert response.status_code == 200
    assert response.json()["message"] == "Success"
    assert server.requests[0].headers["authorization"] == USER_TOKEN


def test_tokens_are_cached_per_app_id_until_they_expire() -> None:
    clock = FakeClock(start=1_000)
    server = MockAuthingServer(clock=clock, expires_in=60)
    first = mock_post(server).json()["data"]
    clock.advance(59)
    again = mock_post(server, DEPRECATED_PATH).json()["data"]
    other = mock_post(server, body={"appId": "wx-other", "appSecret": "x"}).json()["data"]
    assert again == first == {"accessToken": first["accessToken"], "expiresAt": "1060"}
    assert other["accessToken"] != first["accessToken"]
    assert server.tokens_issued == 2
    clock.advance(1)
    renewed = mock_post(server).json()["data"]
    assert renewed["accessToken"] not in {first["accessToken"], other["accessToken"]}
    assert renewed["expiresAt"] == "1120"
    assert server.tokens_issued == 3


def test_credentials_when_configured_must_match() -> None:
    server = MockAuthingServer(credentials={MOCK_BODY["appId"]: SECRET})
    assert mock_post(server).status_code == 200
    wrong = mock_post(server, body={"appId": MOCK_BODY["appId"], "appSecret": "nope"})
    unknown = mock_post(server, body={"appId": "wx-else", "appSecret": SECRET})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["apiCode"] != unknown.json()["apiCode"]
    assert SECRET not in wrong.text + unknown.text
    assert_response_conforms(wrong)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_cloud_requires_its_own_app_id_header_and_ignores_the_others(cloud: str) -> None:
    other = next(name for name in CLOUDS if name != cloud)
    server = MockAuthingServer(cloud=cloud)  # type: ignore[arg-type]
    own = mock_post(server, headers={f"x-{cloud}-app-id": "app", f"x-{other}-lang": "fr"})
    assert own.status_code == 200
    foreign = mock_post(server, headers={f"x-{other}-app-id": "app", f"x-{cloud}-lang": "en-US"})
    assert foreign.status_code == 400
    assert foreign.json()["message"] == f"x-{cloud}-app-id is required"
    either = MockAuthingServer()
    assert mock_post(either, headers={f"x-{other}-app-id": "app"}).status_code == 200
    assert "or" in mock_post(either, headers={}).json()["message"]


# --- rejections -----------------------------------------------------------------------------

HEADER_CASES = {
    "no app id": {},
    "blank authing app id": {"x-authing-app-id": " "},
    "blank genauth app id next to a good one": {**MOCK_HEADERS, "x-genauth-app-id": ""},
    "authing app id with a space": {"x-authing-app-id": "app id"},
    "unknown authing lang": {**MOCK_HEADERS, "x-authing-lang": "fr-FR"},
    "unknown genauth lang": {**MOCK_HEADERS, "x-genauth-lang": "zh-cn"},
}
BODY_CASES: dict[str, bytes] = {
    "empty body": b"",
    "not JSON": b"<xml/>",
    "a JSON array": b"[]",
    "appId missing": b'{"appSecret": "s"}',
    "appId a number": b'{"appId": 1, "appSecret": "s"}',
    "appId blank": b'{"appId": " \\t", "appSecret": "s"}',
    "appSecret missing": b'{"appId": "wx"}',
    "appSecret null": b'{"appId": "wx", "appSecret": null}',
    "appSecret blank": b'{"appId": "wx", "appSecret": ""}',
}


def test_each_bad_header_gets_its_own_400() -> None:
    server = MockAuthingServer()
    codes = {}
    for case, headers in HEADER_CASES.items():
        response = mock_post(server, headers=headers)
        assert response.status_code == 400, case
        assert response.json()["statusCode"] == 400, case
        uuid.UUID(response.json()["requestId"])
        codes[case] = response.json()["apiCode"]
    # Blank headers share a code, as do bad langs; missing and malformed differ from both.
    assert len(set(codes.values())) == 4


def test_each_bad_body_gets_a_distinct_api_code() -> None:
    server = MockAuthingServer()
    codes = {}
    for case, content in BODY_CASES.items():
        response = mock_post(server, content=content)
        assert response.status_code == 400, case
        assert SECRET not in response.text
        assert_response_conforms(response)
        codes[case] = response.json()["apiCode"]
    assert len(set(codes.values())) == len(BODY_CASES), codes


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/json;charset=UTF-8", 200),  # the Go SDK's
        ("Application/JSON", 200),
        ("application/merge-patch+json", 200),
    ],
)
def test_a_body_of_another_media_type_gets_415(content_type: str, status: int) -> None:
    headers = {**MOCK_HEADERS, "content-type": content_type}
    response = mock_post(
        MockAuthingServer(), content=json.dumps(MOCK_BODY).encode(), headers=headers
    )
    assert response.status_code == status
    assert response.json()["statusCode"] == status


def test_the_lang_header_chooses_the_message_language() -> None:
    server = MockAuthingServer()
    english = mock_post(server, content=b"[]", headers={**MOCK_HEADERS, "x-authing-lang": "en-US"})
    chinese = mock_post(server, content=b"[]", headers={**MOCK_HEADERS, "x-authing-lang": "zh-CN"})
    default = mock_post(server, content=b"[]")
    assert english.json()["message"] == "request body must be a JSON object"
    assert chinese.json()["message"] == default.json()["message"] == "请求体必须是 JSON 对象"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_get_405_with_allow(path: str, method: str) -> None:
    response = mock_post(MockAuthingServer(), path, method=method, body=None)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "deprecation" not in response.headers
    assert response.json()["statusCode"] == 405


@pytest.mark.parametrize("path", ["/", "/api/v3/get-wechat-access-token-info/", "/api/v3/x"])
def test_unknown_paths_get_a_404_envelope(path: str) -> None:
    response = mock_post(MockAuthingServer(), path)
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


# --- deprecation headers ------------------------------------------------------------------


def test_only_the_deprecated_path_announces_its_deprecation() -> None:
    server = MockAuthingServer()
    legacy, successor = mock_post(server, DEPRECATED_PATH), mock_post(server)
    assert legacy.headers["deprecation"] == "@1735689600"
    assert legacy.headers["link"] == f'<{SUCCESSOR_PATH}>; rel="successor-version"'
    assert "sunset" not in legacy.headers
    assert not {"deprecation", "link", "sunset"} & set(successor.headers)
    assert mock_post(server, DEPRECATED_PATH, content=b"").headers["deprecation"]
    assert_response_conforms(legacy)


def test_sunset_is_an_http_date_in_gmt_and_the_headers_can_be_switched_off() -> None:
    east8 = datetime.timezone(datetime.timedelta(hours=8))
    sunset = datetime.datetime(2026, 1, 1, 7, 59, 59, tzinfo=east8)
    server = MockAuthingServer(sunset=sunset, deprecated_since=1_700_000_000)
    response = mock_post(server, DEPRECATED_PATH)
    assert response.headers["sunset"] == "Wed, 31 Dec 2025 23:59:59 GMT"
    assert response.headers["deprecation"] == "@1700000000"
    verbatim = MockAuthingServer(sunset="Wed, 31 Dec 2025 23:59:59 UTC")
    assert mock_post(verbatim, DEPRECATED_PATH).headers["sunset"].endswith("UTC")
    silent = MockAuthingServer(deprecated_since=None, sunset="Wed, 31 Dec 2025 23:59:59 GMT")
    assert not {"deprecation", "link", "sunset"} & set(mock_post(silent, DEPRECATED_PATH).headers)


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        *(({"expires_in": bad}, "expires_in") for bad in (0, -1, True, 1.5)),
        ({"cloud": "aws"}, "cloud"),
        ({"sunset": datetime.datetime(2026, 1, 1)}, "aware"),
        ({"max_recorded": -1}, "max_recorded"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        MockAuthingServer(**settings)


# --- the varied mode ------------------------------------------------------------------------


def _shapes(seed: int) -> list[tuple[Any, ...]]:
    """What varies, answer by answer: successes and failures on the deprecated path."""
    server = MockAuthingServer(varied=True, seed=seed, sunset="Wed, 31 Dec 2025 23:59:59 GMT")
    shapes = []
    for number in range(40):
        response = mock_post(server, DEPRECATED_PATH, content=b"{}" if number % 2 else None)
        body = response.json()
        shapes.append(
            (
                body["statusCode"],
                response.headers["content-type"],
                tuple(sorted(body)),
                tuple(sorted(body["data"])) if isinstance(body.get("data"), dict) else None,
                json.dumps(body.get("data", "absent")) if body["statusCode"] != 200 else None,
                "deprecation" in response.headers,
            )
        )
        if body["statusCode"] == 200:
            assert_response_conforms(response)
    return shapes


def test_the_varied_mode_varies_every_optional_part_and_repeats_with_its_seed() -> None:
    shapes = _shapes(seed=7)
    successes = [shape for shape in shapes if shape[0] == 200]
    failures = [shape for shape in shapes if shape[0] != 200]
    assert {shape[1] for shape in shapes} == {
        "application/json; charset=utf-8",
        "application/json",
        "application/json;charset=UTF-8",
    }
    for field in ("requestId", "unknownField"):
        assert {field in shape[2] for shape in successes} == {True, False}, field
    assert {shape[3] for shape in successes} == {
        ("accessToken", "expiresAt"),
        ("accessToken", "expiresAt", "unknownField"),
    }
    assert {"apiCode" in shape[2] for shape in failures} == {True, False}
    assert {shape[4] for shape in failures} == {'"absent"', "null", "{}"}
    assert {shape[5] for shape in shapes} == {True, False}
    assert _shapes(seed=7) == shapes
    assert _shapes(seed=8) != shapes
    plain = mock_post(MockAuthingServer(), DEPRECATED_PATH, content=b"{}")
    assert "data" not in plain.json()


# --- recording and the request log ----------------------------------------------------------


def test_requests_are_recorded_and_logged_without_showing_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = MockAuthingServer()
    server.add_fault(SUCCESSOR_PATH, Fault.drop())
    with caplog.at_level(logging.INFO, logger="authing_wechat.testing"):
        with pytest.raises(httpx.RemoteProtocolError):
            mock_post(server)
        mock_post(server, headers={**MOCK_HEADERS, "Authorization": USER_TOKEN})
        mock_post(server, DEPRECATED_PATH, method="GET", body=None)
    assert caplog.messages == [
        f"POST {SUCCESSOR_PATH} -> dropped (fault drop)",
        f"POST {SUCCESSOR_PATH} -> 200",
        f"GET {DEPRECATED_PATH} -> 405",
    ]
    dropped, first, second = server.requests
    assert (dropped.status, dropped.fault) == (None, Fault.drop())
    assert (first.method, first.path, first.status, first.fault) == (
        "POST",
        SUCCESSOR_PATH,
        200,
        None,
    )
    assert first.body == MOCK_BODY
    assert first.app_id == MOCK_BODY["appId"]
    assert first.headers["X-Authing-App-Id"] == "authing-app"
    assert (second.method, second.status, second.body, second.app_id) == ("GET", 405, None, None)
    shown = repr(server.requests) + repr(server) + str(first) + caplog.text
    assert SECRET not in shown
    assert USER_TOKEN not in shown


def test_counts_stay_exact_beyond_what_is_kept_and_reset_forgets() -> None:
    server = MockAuthingServer(max_recorded=2)
    token = mock_post(server).json()["data"]["accessToken"]
    for path in (SUCCESSOR_PATH, DEPRECATED_PATH, "/nope"):
        mock_post(server, path)
    assert [r.path for r in server.requests] == [DEPRECATED_PATH, "/nope"]
    assert server.request_count() == 4
    assert (server.request_count(SUCCESSOR_PATH), server.request_count(DEPRECATED_PATH)) == (2, 1)
    server.reset()
    assert (server.requests, server.request_count(), server.tokens_issued) == ([], 0, 0)
    assert mock_post(server).json()["data"]["accessToken"] == token  # the counter restarted
    silent = MockAuthingServer(max_recorded=0)
    mock_post(silent)
    assert (silent.requests, silent.request_count()) == ([], 1)


def test_answers_are_thread_safe() -> None:
    server = MockAuthingServer()
    body = b'{"appId": "wx-threads", "appSecret": "s"}'
    headers = [(b"x-authing-app-id", b"app")]
    tokens: set[bytes] = set()
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(200):
            answer = server.answer("POST", SUCCESSOR_PATH, headers, body)
            with lock:
                tokens.add(answer.body.split(b'"accessToken":')[1].split(b",")[0])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.request_count() == len(server.requests) == 1600
    assert server.tokens_issued == len(tokens) == 1


# --- ASGI ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_it_is_an_asgi_app_with_the_same_faults() -> None:
    clock = FakeClock()
    server = MockAuthingServer(clock=clock)
    server.add_fault(SUCCESSOR_PATH, Fault.delay(2))
    server.add_fault(SUCCESSOR_PATH, Fault.drop())
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        delayed = await client.post(SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS)
        assert (delayed.status_code, clock.sleeps) == (200, [2.0])
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS)

    async def unused(*_: Any) -> Any:
        raise AssertionError

    with pytest.raises(ValueError, match="websocket"):
        await server({"type": "websocket"}, unused, unused)


def test_routes_name_the_two_paths_and_post() -> None:
    assert MockAuthingServer().routes() == dict.fromkeys(PATHS, frozenset({"POST"}))
