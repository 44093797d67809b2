"""The overlay clients: requests, results, errors, input and constructor rules (sync + async)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingAPIError,
    AuthingConnectionError,
    AuthingError,
    AuthingResponseError,
    AuthingTimeoutError,
    DeprecatedEndpointError,
    RetryPolicy,
    WechatTokenClient,
)
from authing_wechat.testing import SUCCESSOR_PATH

from tests._support import (
    APP_HOST,
    EXPIRES_AT,
    SECRET,
    TOKEN,
    USER_TOKEN,
    Driver,
    Recorder,
    envelope,
)


def test_success_is_a_typed_token(driver: Driver) -> None:
    token = driver.fetch(driver.client())
    assert token.access_token == TOKEN
    assert token.expires_at == datetime.fromtimestamp(EXPIRES_AT, tz=UTC)
    assert token.expires_at.tzinfo is not None
    assert token.expires_at.utcoffset() == UTC.utcoffset(None)
    assert token.request_id == "req-1"
    assert token.deprecation is None
    assert (token.attempts, token.retries) == (1, 0)
    assert TOKEN not in repr(token)
    assert TOKEN not in str(token)
    assert TOKEN[:4] in repr(token)
    with pytest.raises(AttributeError):
        token.access_token = "x"  # type: ignore[misc]


def test_request_is_built_from_the_spec(driver: Driver) -> None:
    recorder = Recorder()
    driver.fetch(driver.client(recorder), app_id="wx-app")
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == APP_HOST + SUCCESSOR_PATH
    assert recorder.bodies == [{"appId": "wx-app", "appSecret": SECRET}]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-authing-app-id"] == "authing-app"
    # Nothing is sent unasked: no other cloud's header, no lang, no Authorization.
    unasked = {"x-genauth-app-id", "x-authing-lang", "x-genauth-lang", "authorization"}
    assert unasked.isdisjoint(request.headers.keys())


@pytest.mark.parametrize(
    ("brand", "sent", "absent"),
    [
        ("authing", ("x-authing-app-id", "x-authing-lang"), ("x-genauth-app-id", "x-genauth-lang")),
        ("genauth", ("x-genauth-app-id", "x-genauth-lang"), ("x-authing-app-id", "x-authing-lang")),
    ],
)
def test_brand_lang_and_user_token_map_to_their_headers(
    driver: Driver, brand: str, sent: tuple[str, str], absent: tuple[str, str]
) -> None:
    recorder = Recorder()
    client = driver.client(recorder, brand=brand, lang="en-US", access_token="user-token")
    driver.fetch(client)
    headers = recorder.requests[0].headers
    assert headers[sent[0]] == "authing-app"
    assert headers[sent[1]] == "en-US"
    assert headers["authorization"] == "user-token"  # raw, no Bearer prefix
    assert not set(absent) & set(headers.keys())


def test_base_path_of_app_host_is_kept(driver: Driver) -> None:
    recorder = Recorder()
    driver.fetch(driver.client(recorder, app_host="https://gw.example.com/authing/"))
    assert str(recorder.requests[0].url) == "https://gw.example.com/authing" + SUCCESSOR_PATH


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 408, 429, 499, 500, 501, 502, 503, 520, 529]
)
def test_http_error_with_envelope(driver: Driver, status: int) -> None:
    body = envelope(status, message="boom", api_code=2001, request_id="req-err")
    client = driver.client(Recorder(lambda r: httpx.Response(status, json=body)))
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(client)
    error = caught.value
    assert type(error) is AuthingAPIError
    assert (error.http_status, error.status_code, error.api_code) == (status, status, 2001)
    assert error.request_id == "req-err"
    assert "boom" in error.message
    assert error.attempts == 1


@pytest.mark.parametrize("status", [502, 503, 520, 404])
def test_html_error_page_is_classified_by_http_status(driver: Driver, status: int) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    handler = Recorder(
        lambda r: httpx.Response(status, content=page, headers={"content-type": "text/html"})
    )
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(handler))
    assert caught.value.http_status == status
    assert caught.value.status_code == status
    assert caught.value.api_code is None
    assert "non-JSON" in caught.value.message


def test_error_status_with_json_but_no_envelope(driver: Driver) -> None:
    handler = Recorder(lambda r: httpx.Response(503, json=["not", "an", "envelope"]))
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(handler))
    assert caught.value.status_code == 503


@pytest.mark.parametrize("business", [400, 403, 429, 500, 503])
def test_envelope_error_inside_http_200(driver: Driver, business: int) -> None:
    body = envelope(business, message="微信接口错误", api_code=5001, request_id="req-200")
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(Recorder(lambda r: httpx.Response(200, json=body))))
    error = caught.value
    assert (error.http_status, error.status_code, error.api_code) == (200, business, 5001)
    assert error.request_id == "req-200"


@pytest.mark.parametrize("business", [400, 500])
def test_envelope_error_with_a_full_data_object_is_still_a_failure(
    driver: Driver, business: int
) -> None:
    # The contract allows it (the seeds show data on every answer); only statusCode 200
    # makes a token, whatever data holds.
    data = {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT)}
    body = envelope(business, message="failed", api_code=5001, data=data)
    handler = Recorder(lambda r: httpx.Response(200, json=body))
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(handler))
    assert (caught.value.http_status, caught.value.status_code) == (200, business)
    assert TOKEN not in str(caught.value)


def _raw(content: bytes, status: int = 200) -> Recorder:
    return Recorder(lambda r: httpx.Response(status, content=content))


MALFORMED_2XX: dict[str, bytes] = {
    "html": b"<html>maintenance</html>",
    "empty": b"",
    "truncated": b'{"statusCode": 200, "message": "ok", "data": {"accessT',
    "list": b"[1, 2]",
    "string": b'"ok"',
    "null": b"null",
    "number": b"200",
    "not utf-8": b"\xff\xfe\x00{",
    "no statusCode": b'{"message": "ok", "data": {"accessToken": "t", "expiresAt": "1"}}',
    "statusCode string": b'{"statusCode": "200", "message": "ok"}',
    "statusCode bool": b'{"statusCode": true, "message": "ok"}',
    "no message": b'{"statusCode": 200, "data": {"accessToken": "t", "expiresAt": "1"}}',
    "apiCode string": b'{"statusCode": 200, "message": "ok", "apiCode": "x",'
    b' "data": {"accessToken": "t", "expiresAt": "1"}}',
    "requestId number": b'{"statusCode": 200, "message": "ok", "requestId": 5,'
    b' "data": {"accessToken": "t", "expiresAt": "1"}}',
    "no data": b'{"statusCode": 200, "message": "ok"}',
    "data list": b'{"statusCode": 200, "message": "ok", "data": []}',
    "data empty": b'{"statusCode": 200, "message": "ok", "data": {}}',
    "no accessToken": b'{"statusCode": 200, "message": "ok", "data": {"expiresAt": "1"}}',
    "accessToken int": b'{"statusCode": 200, "message": "ok", "data": {"accessToken": 1,'
    b' "expiresAt": "1"}}',
    "accessToken empty": b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "",'
    b' "expiresAt": "1"}}',
    "no expiresAt": b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "t"}}',
}
BAD_EXPIRES = [
    "1735696800.5",
    "-1",
    "",
    " 1",
    "abc",
    "1e9",
    "\uff11\uff12\uff13",
    "99999999999999999999",
]


@pytest.mark.parametrize("body", MALFORMED_2XX.values(), ids=MALFORMED_2XX.keys())
def test_malformed_2xx_is_a_response_error(driver: Driver, body: bytes) -> None:
    with pytest.raises(AuthingResponseError) as caught:
        driver.fetch(driver.client(_raw(body)))
    assert caught.value.attempts == 1
    assert caught.value.http_status == 200


@pytest.mark.parametrize("expires", [*BAD_EXPIRES, 1735696800, None, True])
def test_expires_at_must_be_a_string_of_epoch_seconds(driver: Driver, expires: object) -> None:
    body = envelope(data={"accessToken": TOKEN, "expiresAt": expires}, request_id="req-x")
    with pytest.raises(AuthingResponseError) as caught:
        driver.fetch(driver.client(Recorder(lambda r: httpx.Response(200, json=body))))
    assert caught.value.request_id == "req-x"


def test_any_2xx_status_with_a_good_envelope_is_a_token(driver: Driver) -> None:
    client = driver.client(Recorder(lambda r: httpx.Response(201, json=envelope())))
    assert driver.fetch(client).access_token == TOKEN


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), AuthingConnectionError),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."),
         AuthingConnectionError),
        (httpx.ReadError("reset"), AuthingConnectionError),
        (httpx.ReadTimeout("timed out"), AuthingTimeoutError),
        (httpx.ConnectTimeout("timed out"), AuthingTimeoutError),
        (httpx.PoolTimeout("timed out"), AuthingTimeoutError),
    ],
)  # fmt: skip
def test_transport_failures_are_translated(
    driver: Driver, exc: httpx.HTTPError, expected: type[AuthingError]
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(expected) as caught:
        driver.fetch(driver.client(Recorder(fail)))
    assert type(caught.value) is expected
    assert caught.value.__cause__ is exc
    # A request that waited in vain for a connection never left: no request was made.
    assert caught.value.attempts == (0 if isinstance(exc, httpx.PoolTimeout) else 1)
    assert caught.value.http_status is None


@pytest.mark.parametrize(
    ("app_id", "app_secret", "error"),
    [
        ("", SECRET, ValueError),
        ("   ", SECRET, ValueError),
        ("wx1", "", ValueError),
        ("wx1", " \t\n", ValueError),
        (None, SECRET, TypeError),
        ("wx1", 123, TypeError),
    ],
)
def test_bad_credentials_fail_before_any_request(
    driver: Driver, app_id: Any, app_secret: Any, error: type[Exception]
) -> None:
    recorder = Recorder()
    with pytest.raises(error) as caught:
        driver.fetch(driver.client(recorder), app_id=app_id, app_secret=app_secret)
    assert recorder.requests == []
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "app_host",
    ["http://example.authing.cn", "http://10.0.0.1:8080", "http://[2001:db8::1]/"],
)
def test_plain_http_to_a_remote_host_is_refused(driver: Driver, app_host: str) -> None:
    with pytest.raises(ValueError, match="allow_insecure_http"):
        driver.client(app_host=app_host)
    client = driver.client(app_host=app_host, allow_insecure_http=True)
    assert driver.fetch(client).access_token == TOKEN


@pytest.mark.parametrize(
    "app_host",
    ["http://127.0.0.1:8000", "http://localhost:9", "http://[::1]:8080", "http://127.5.5.5"],
)
def test_plain_http_to_loopback_is_allowed(driver: Driver, app_host: str) -> None:
    assert driver.fetch(driver.client(app_host=app_host)).access_token == TOKEN


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"app_host": "ftp://example.com"}, ValueError, "https://"),
        ({"app_host": "example.authing.cn"}, ValueError, "https://"),
        ({"app_host": "https://u:p@example.com"}, ValueError, "credentials"),
        ({"app_host": 5}, TypeError, "app_host"),
        ({"authing_app_id": " "}, ValueError, "authing_app_id"),
        ({"authing_app_id": "a\r\nx: y"}, ValueError, "line breaks"),
        ({"brand": "wechat"}, ValueError, "brand"),
        ({"lang": "fr-FR"}, ValueError, "lang"),
        ({"access_token": ""}, ValueError, "access_token"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"deprecated": "ignore"}, ValueError, "deprecated"),
        ({"retry": 3}, TypeError, "retry"),
        ({"http_client": object()}, TypeError, "http_client"),
    ],
)
def test_constructor_rejects_bad_arguments(
    driver: Driver, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        driver.client(**kwargs)


def test_context_manager_closes_the_own_pool_only() -> None:
    with WechatTokenClient(APP_HOST, "authing-app") as client:
        own = client._http
    assert own.is_closed
    mine = httpx.Client(transport=httpx.MockTransport(Recorder()))
    with WechatTokenClient(APP_HOST, "authing-app", http_client=mine):
        pass
    assert not mine.is_closed
    mine.close()


@pytest.mark.anyio
async def test_async_context_manager_closes_the_own_pool_only() -> None:
    async with AsyncWechatTokenClient(APP_HOST, "authing-app") as client:
        own = client._http
    assert own.is_closed
    mine = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
    async with AsyncWechatTokenClient(APP_HOST, "authing-app", http_client=mine):
        pass
    assert not mine.is_closed
    await mine.aclose()


def test_one_pool_serves_every_call(driver: Driver) -> None:
    client = driver.client_class(APP_HOST, "authing-app", retry=None)
    pool = client._http
    assert isinstance(pool, httpx.Client | httpx.AsyncClient)
    assert client._http is pool
    driver.close(client)


def test_repr_of_client_shows_settings_not_secrets(driver: Driver) -> None:
    client = driver.client(access_token=USER_TOKEN)
    text = repr(client)
    assert "example.authing.cn" in text
    assert USER_TOKEN not in text


def test_with_options_returns_a_new_client_on_the_same_pool(driver: Driver) -> None:
    recorder = Recorder()
    base = driver.client(recorder, retry=RetryPolicy(), lang="zh-CN", access_token="user-1")
    derived = base.with_options(timeout=2.5, lang=None, access_token="user-2", deprecated="error")
    assert type(derived) is type(base)
    assert derived._http is base._http  # one pool
    assert derived._bucket is base._bucket  # same policy: same budget
    driver.fetch(derived)
    driver.fetch(base)
    new, old = recorder.requests
    assert new.extensions["timeout"]["connect"] == 2.5
    assert old.extensions["timeout"]["connect"] == 10.0  # the original is unchanged
    assert (new.headers.get("x-authing-lang"), old.headers["x-authing-lang"]) == (None, "zh-CN")
    assert (new.headers["authorization"], old.headers["authorization"]) == ("user-2", "user-1")
    with pytest.raises(DeprecatedEndpointError):
        driver.fetch(derived, legacy=True)
    driver.close(derived)
    assert not base._http.is_closed  # the derived client does not own the pool


def test_with_options_retry_gets_its_own_budget_and_checks_values(driver: Driver) -> None:
    base = driver.client(retry=RetryPolicy())
    one_shot = base.with_options(retry=None)
    assert one_shot.retry is None
    assert one_shot._bucket is None
    other = base.with_options(retry=RetryPolicy(max_attempts=5))
    assert other._bucket is not base._bucket
    with pytest.raises(ValueError, match="timeout"):
        base.with_options(timeout=-1)
    with pytest.raises(ValueError, match="lang"):
        base.with_options(lang="fr-FR")
