"""The client-side contract checks against a real Authing / GenAuth app.

Skipped unless these are set: ``AUTHING_APP_HOST`` (e.g. ``https://<app>.authing.cn``),
``AUTHING_APP_ID``, ``WECHAT_APP_ID``, ``WECHAT_APP_SECRET``; optional ``AUTHING_BRAND``
(``authing`` | ``genauth``) and ``AUTHING_LANG`` (``zh-CN`` | ``en-US``). Every request the client
sends must conform to the spec, every answer must too (schemathesis), and the token must parse.
Nothing here prints the secret or the token: violation messages name locations only, and
schemathesis' messages are redacted.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Literal

import attrs
import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingDeprecationWarning,
    WechatAccessToken,
    WechatTokenClient,
)

from tests.contract._spec_tools import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    request_violations,
    response_violations,
)

REQUIRED = ("AUTHING_APP_HOST", "AUTHING_APP_ID", "WECHAT_APP_ID", "WECHAT_APP_SECRET")
_missing = [name for name in REQUIRED if not os.environ.get(name)]
if _missing:
    pytest.skip(
        f"live contract tests need {', '.join(_missing)} set (see this module's docstring)",
        allow_module_level=True,
    )


@attrs.frozen(kw_only=True)
class LiveApp:
    """The app under test, from the environment."""

    app_host: str
    authing_app_id: str
    brand: Literal["authing", "genauth"]
    lang: str | None
    wechat_app_id: str
    wechat_app_secret: str = attrs.field(repr=False)


@pytest.fixture(scope="module")
def app() -> LiveApp:
    brand = os.environ.get("AUTHING_BRAND", "authing")
    if brand not in ("authing", "genauth"):
        pytest.fail(f"AUTHING_BRAND must be 'authing' or 'genauth', not {brand!r}")
    return LiveApp(
        app_host=os.environ["AUTHING_APP_HOST"],
        authing_app_id=os.environ["AUTHING_APP_ID"],
        brand="genauth" if brand == "genauth" else "authing",
        lang=os.environ.get("AUTHING_LANG") or None,
        wechat_app_id=os.environ["WECHAT_APP_ID"],
        wechat_app_secret=os.environ["WECHAT_APP_SECRET"],
    )


@attrs.define
class Exchange:
    """What one call sent and got, captured by the user's own ``httpx`` client's hooks."""

    requests: list[httpx.Request] = attrs.field(factory=list)
    responses: list[httpx.Response] = attrs.field(factory=list)


@pytest.fixture
def exchange() -> Exchange:
    return Exchange()


def _fetch(
    app: LiveApp, exchange: Exchange, flavour: str, *, deprecated: bool
) -> WechatAccessToken:
    """One call; a failure is reported by its message alone.

    pytest's tracebacks print the arguments of every frame, and the client's internals take
    the secret as an argument: a traceback from inside the client would show it.
    """
    try:
        return _call(app, exchange, flavour, deprecated=deprecated)
    except Exception as error:  # every failure, reported without a traceback
        message = str(error).replace(app.wechat_app_secret, "[redacted]")
        pytest.fail(f"the live call failed: {type(error).__name__}: {message}", pytrace=False)


def _call(app: LiveApp, exchange: Exchange, flavour: str, *, deprecated: bool) -> WechatAccessToken:
    kwargs: dict[str, Any] = {"brand": app.brand, "lang": app.lang, "retry": None}
    method = "get_wechat_mp_access_token" if deprecated else "get_wechat_mp_access_token_info"
    credentials = {"app_id": app.wechat_app_id, "app_secret": app.wechat_app_secret}
    if flavour == "sync":
        hooks: dict[str, Any] = {
            "request": [exchange.requests.append],
            "response": [exchange.responses.append],
        }
        with httpx.Client(event_hooks=hooks) as http:
            client = WechatTokenClient(app.app_host, app.authing_app_id, http_client=http, **kwargs)
            token: WechatAccessToken = getattr(client, method)(**credentials)
            return token

    async def on_request(request: httpx.Request) -> None:
        exchange.requests.append(request)

    async def on_response(response: httpx.Response) -> None:
        exchange.responses.append(response)

    async def run() -> WechatAccessToken:
        hooks: dict[str, Any] = {"request": [on_request], "response": [on_response]}
        async with httpx.AsyncClient(event_hooks=hooks) as http:
            client = AsyncWechatTokenClient(
                app.app_host, app.authing_app_id, http_client=http, **kwargs
            )
            awaited: WechatAccessToken = await getattr(client, method)(**credentials)
            return awaited

    return asyncio.run(run())


def _check(app: LiveApp, exchange: Exchange, token: WechatAccessToken, path: str) -> None:
    (request,) = exchange.requests
    (response,) = exchange.responses
    assert request.url.path == path
    problems = request_violations(request)
    assert not problems, f"the client's request breaks the spec: {problems}"
    body = json.loads(request.content)
    assert body.get("appId") == app.wechat_app_id
    secret_sent = body.get("appSecret") == app.wechat_app_secret
    assert secret_sent, "appSecret in the request is not WECHAT_APP_SECRET"
    assert request.headers.get(f"x-{app.brand}-app-id") == app.authing_app_id
    secrets = (app.wechat_app_secret, token.access_token)
    problems = response_violations(response, redact=secrets)
    assert not problems, f"the server's answer breaks the spec: {problems}"
    data = response.json()["data"]
    assert token.expires_at.timestamp() == int(data["expiresAt"])
    token_matches = token.access_token == data["accessToken"]
    assert token_matches, "the parsed access token differs from the body's"
    assert token.expires_in() > 0, "the server handed out an expired token"


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_successor_endpoint(app: LiveApp, exchange: Exchange, flavour: str) -> None:
    token = _fetch(app, exchange, flavour, deprecated=False)
    _check(app, exchange, token, SUCCESSOR_PATH)


def test_the_deprecated_endpoint(app: LiveApp, exchange: Exchange, record_property: Any) -> None:
    with pytest.warns(AuthingDeprecationWarning) as warned:
        token = _fetch(app, exchange, "sync", deprecated=True)
    _check(app, exchange, token, DEPRECATED_PATH)
    (response,) = exchange.responses
    sent = {name: response.headers.get(name) for name in ("deprecation", "sunset", "link")}
    # What the real server says about the deprecation, for the JUnit report (-rA shows it too).
    record_property("deprecation_headers", json.dumps(sent))
    print(f"deprecation headers from {app.app_host}: {sent}")
    assert any("get_wechat_mp_access_token_info()" in str(w.message) for w in warned)
    announced = sent["deprecation"] is not None or sent["sunset"] is not None
    assert (token.deprecation is not None) == announced
