"""The mock server's normal answers, rule by rule, in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

import asyncio
import datetime
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from authing_wechat.testing import (
    DEPRECATED_PATH,
    PATHS,
    SUCCESSOR_PATH,
    FakeClock,
    MockAuthingServer,
)

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "authing-wechat.yaml"
SECRET = "CANARY-mock-secret-7d1e"
USER_TOKEN = "CANARY-user-token-55aa"
HEADERS = {"x-authing-app-id": "authing-app"}
BODY = {"appId": "wx-app", "appSecret": SECRET}
SPEC = schemathesis.openapi.from_path(str(SPEC_PATH))


async def post(
    server: MockAuthingServer,
    path: str = SUCCESSOR_PATH,
    *,
    method: str = "POST",
    body: Any = BODY,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        sent = HEADERS if headers is None else headers
        if content is not None:
            return await client.request(method, path, content=content, headers=sent)
        return await client.request(method, path, json=body, headers=sent)


def conforms(response: httpx.Response) -> None:
    """Fail unless ``response`` is one the spec documents for its operation.

    schemathesis re-encodes the request with ``requests``, which refuses some of the odd
    headers these tests send on purpose; only the method and URL matter to the check.
    """
    url = response.request.url
    clean = httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content,
        request=httpx.Request("POST", url),
    )
    clean.elapsed = datetime.timedelta(0)
    SPEC[url.path]["POST"].validate_response(clean)


# --- success ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("path", PATHS)
async def test_a_valid_request_gets_a_token(path: str) -> None:
    clock = FakeClock(start=1_750_000_000.5)
    response = await post(MockAuthingServer(clock=clock), path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["statusCode"] == 200
    assert body["message"] == "操作成功"
    uuid.UUID(body["requestId"])
    assert "apiCode" not in body
    assert body["data"]["accessToken"]
    assert body["data"]["expiresAt"] == str(1_750_000_000 + 7200)
    assert SECRET not in response.text
    conforms(response)


@pytest.mark.anyio
async def test_genauth_headers_work_like_authing_ones() -> None:
    headers = {"x-genauth-app-id": "genauth-app", "x-genauth-lang": "en-US"}
    response = await post(MockAuthingServer(), headers=headers)
    assert response.status_code == 200
    assert response.json()["message"] == "Success"


@pytest.mark.anyio
async def test_the_user_token_is_optional_and_taken_raw() -> None:
    server = MockAuthingServer()
    response = await post(server, headers={**HEADERS, "Authorization": USER_TOKEN})
    assert response.status_code == 200
    assert server.requests[0].headers["authorization"] == USER_TOKEN


@pytest.mark.anyio
async def test_tokens_are_cached_per_app_id_until_they_expire() -> None:
    clock = FakeClock(start=1_000)
    server = MockAuthingServer(clock=clock, expires_in=60)
    first = (await post(server)).json()["data"]
    clock.advance(59)
    again = (await post(server, DEPRECATED_PATH)).json()["data"]
    other = (await post(server, body={"appId": "wx-other", "appSecret": "x"})).json()["data"]
    assert again == first == {"accessToken": first["accessToken"], "expiresAt": "1060"}
    assert other["accessToken"] != first["accessToken"]
    assert server.tokens_issued == 2
    clock.advance(1)
    renewed = (await post(server)).json()["data"]
    assert renewed["accessToken"] not in {first["accessToken"], other["accessToken"]}
    assert renewed["expiresAt"] == "1120"
    assert server.tokens_issued == 3


@pytest.mark.anyio
async def test_credentials_when_configured_must_match() -> None:
    server = MockAuthingServer(credentials={"wx-app": SECRET})
    assert (await post(server)).status_code == 200
    wrong = await post(server, body={"appId": "wx-app", "appSecret": "nope"})
    unknown = await post(server, body={"appId": "wx-else", "appSecret": SECRET})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["apiCode"] != unknown.json()["apiCode"]
    assert SECRET not in wrong.text + unknown.text
    conforms(wrong)


# --- rejections -----------------------------------------------------------------------------

HEADER_CASES = {
    "no app id": {},
    "blank authing app id": {"x-authing-app-id": " "},
    "blank genauth app id next to a good one": {**HEADERS, "x-genauth-app-id": ""},
    "authing app id with a space": {"x-authing-app-id": "app id"},
    "unknown authing lang": {**HEADERS, "x-authing-lang": "fr-FR"},
    "unknown genauth lang": {**HEADERS, "x-genauth-lang": "zh-cn"},
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


@pytest.mark.anyio
async def test_each_bad_header_gets_its_own_400() -> None:
    server = MockAuthingServer()
    codes = {}
    for case, headers in HEADER_CASES.items():
        response = await post(server, headers=headers)
        assert response.status_code == 400, case
        body = response.json()
        assert body["statusCode"] == 400, case
        uuid.UUID(body["requestId"])
        conforms(response)
        codes[case] = body["apiCode"]
    # Blank headers share a code, as do bad langs; missing and malformed differ from both.
    assert len(set(codes.values())) == 4


@pytest.mark.anyio
async def test_each_bad_body_gets_a_distinct_api_code() -> None:
    server = MockAuthingServer()
    codes = {}
    for case, content in BODY_CASES.items():
        response = await post(server, content=content)
        assert response.status_code == 400, case
        assert SECRET not in response.text
        conforms(response)
        codes[case] = response.json()["apiCode"]
    assert len(set(codes.values())) == len(BODY_CASES), codes


@pytest.mark.anyio
async def test_the_lang_header_chooses_the_message_language() -> None:
    server = MockAuthingServer()
    english = await post(server, content=b"[]", headers={**HEADERS, "x-authing-lang": "en-US"})
    chinese = await post(server, content=b"[]", headers={**HEADERS, "x-authing-lang": "zh-CN"})
    default = await post(server, content=b"[]")
    assert english.json()["message"] == "request body must be a JSON object"
    assert chinese.json()["message"] == default.json()["message"] == "请求体必须是 JSON 对象"


@pytest.mark.anyio
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
async def test_other_methods_get_405_with_allow(path: str, method: str) -> None:
    response = await post(MockAuthingServer(), path, method=method, body=None)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "deprecation" not in response.headers
    if method != "HEAD":
        assert response.json()["statusCode"] == 405
        assert response.json()["apiCode"]


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/", "/api/v3/get-wechat-access-token-info/", "/api/v3/x"])
async def test_unknown_paths_get_a_404_envelope(path: str) -> None:
    response = await post(MockAuthingServer(), path)
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


# --- deprecation headers ------------------------------------------------------------------


@pytest.mark.anyio
async def test_only_the_deprecated_path_announces_its_deprecation() -> None:
    server = MockAuthingServer()
    legacy, successor = await post(server, DEPRECATED_PATH), await post(server)
    assert legacy.headers["deprecation"] == "@1735689600"
    assert legacy.headers["link"] == (
        '</api/v3/get-wechat-access-token-info>; rel="successor-version"'
    )
    assert "sunset" not in legacy.headers
    assert not {"deprecation", "link", "sunset"} & set(successor.headers)
    rejected = await post(server, DEPRECATED_PATH, content=b"")
    assert rejected.headers["deprecation"] == "@1735689600"
    conforms(legacy)


@pytest.mark.anyio
async def test_sunset_is_an_http_date_in_gmt() -> None:
    east8 = datetime.timezone(datetime.timedelta(hours=8))
    sunset = datetime.datetime(2026, 1, 1, 7, 59, 59, tzinfo=east8)
    server = MockAuthingServer(sunset=sunset, deprecated_since=1_700_000_000)
    response = await post(server, DEPRECATED_PATH)
    assert response.headers["sunset"] == "Wed, 31 Dec 2025 23:59:59 GMT"
    assert response.headers["deprecation"] == "@1700000000"
    verbatim = MockAuthingServer(sunset="Wed, 31 Dec 2025 23:59:59 UTC")
    assert (await post(verbatim, DEPRECATED_PATH)).headers["sunset"].endswith("UTC")


@pytest.mark.anyio
async def test_deprecation_headers_can_be_switched_off() -> None:
    server = MockAuthingServer(deprecated_since=None, sunset="Wed, 31 Dec 2025 23:59:59 GMT")
    response = await post(server, DEPRECATED_PATH)
    assert response.status_code == 200
    assert not {"deprecation", "link", "sunset"} & set(response.headers)


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", [0, -1, True, 1.5])
def test_expires_in_must_be_a_positive_int(expires_in: Any) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        MockAuthingServer(expires_in=expires_in)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        MockAuthingServer(sunset=datetime.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="max_recorded"):
        MockAuthingServer(max_recorded=-1)


# --- recording ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_requests_are_recorded_without_showing_secrets() -> None:
    server = MockAuthingServer()
    await post(server, headers={**HEADERS, "Authorization": USER_TOKEN})
    await post(server, DEPRECATED_PATH, method="GET", body=None)
    first, second = server.requests
    assert (first.method, first.path, first.status, first.fault) == (
        "POST",
        SUCCESSOR_PATH,
        200,
        None,
    )
    assert first.body == BODY
    assert first.app_id == "wx-app"
    assert first.headers["X-Authing-App-Id"] == "authing-app"
    assert (second.method, second.status, second.body, second.app_id) == ("GET", 405, None, None)
    shown = repr(server.requests) + repr(server) + str(first)
    assert SECRET not in shown
    assert USER_TOKEN not in shown


@pytest.mark.anyio
async def test_counts_stay_exact_beyond_what_is_kept() -> None:
    server = MockAuthingServer(max_recorded=2)
    for path in (SUCCESSOR_PATH, SUCCESSOR_PATH, DEPRECATED_PATH, "/nope"):
        await post(server, path)
    assert [r.path for r in server.requests] == [DEPRECATED_PATH, "/nope"]
    assert server.request_count() == 4
    assert server.request_count(SUCCESSOR_PATH) == 2
    assert server.request_count(DEPRECATED_PATH) == 1
    silent = MockAuthingServer(max_recorded=0)
    await post(silent)
    assert silent.requests == []
    assert silent.request_count() == 1


@pytest.mark.anyio
async def test_reset_forgets_requests_counts_and_tokens() -> None:
    server = MockAuthingServer()
    token = (await post(server)).json()["data"]["accessToken"]
    server.reset()
    assert (server.requests, server.request_count(), server.tokens_issued) == ([], 0, 0)
    assert (await post(server)).json()["data"]["accessToken"] == token  # the counter restarted


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
    assert server.request_count() == 1600
    assert len(server.requests) == 1600
    assert server.tokens_issued == 1
    assert len(tokens) == 1


@pytest.mark.anyio
async def test_a_thousand_concurrent_requests_make_one_token() -> None:
    server = MockAuthingServer()
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        responses = await asyncio.gather(
            *(client.post(SUCCESSOR_PATH, json=BODY, headers=HEADERS) for _ in range(1000))
        )
    assert {r.json()["data"]["accessToken"] for r in responses} == {"mock-access-token-1"}
    assert server.request_count(SUCCESSOR_PATH) == 1000


# --- ASGI -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_it_speaks_the_lifespan_protocol_and_refuses_other_scopes() -> None:
    server = MockAuthingServer()
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await server({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with pytest.raises(ValueError, match="websocket"):
        await server({"type": "websocket"}, receive, send)


def test_routes_name_the_two_paths_and_post() -> None:
    assert MockAuthingServer().routes() == {
        SUCCESSOR_PATH: frozenset({"POST"}),
        DEPRECATED_PATH: frozenset({"POST"}),
    }
