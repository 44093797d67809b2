"""``StableTokenFallback``: WeChat's stable_token, asked only when Authing is unavailable and
callers would otherwise fail or wait. Every test runs with the sync and the async client, on
the mock Authing and the fake WeChat of the package, on one ``FakeClock``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AuthingAPIError,
    AuthingError,
    RetryBudget,
    RetryPolicy,
    StableTokenError,
    StableTokenFallback,
    WechatTokenClient,
)
from authing_wechat.testing import Fault, MockAuthingTransport

from tests._support import SECRET as CANARY_SECRET
from tests._wechat_support import APP_ID, WechatWorld

STABLE = "/cgi-bin/stable_token"
DOMAINS = "/cgi-bin/get_api_domain_ip"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(mode: str) -> Iterator[WechatWorld]:
    made = WechatWorld(mode, fallback=True, secret=CANARY_SECRET)
    yield made
    made.close()


def stable_bodies(world: WechatWorld) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in world.wechat.requests if r.path == STABLE]


def another_client(world: WechatWorld, transport: Any) -> Any:
    """A second token client of the world's mode and clock, one attempt a call, on ``transport``."""
    kind = httpx.Client if world.mode == "sync" else httpx.AsyncClient
    http = kind(transport=transport)
    url = "https://app.authing.cn"
    return type(world.client)(url, "authing-app", clock=world.clock, retry=None, http_client=http)


def world_now(world: WechatWorld) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(world.clock.time(), UTC)


def get(world: WechatWorld) -> Any:
    return world.run(world.provider.get())


def test_without_a_fallback_wechat_token_endpoints_are_never_called(mode: str) -> None:
    world = WechatWorld(mode)
    try:
        world.authing_down()
        with pytest.raises(AuthingAPIError):
            get(world)
        assert world.wechat.request_count() == 0
    finally:
        world.close()


def test_authing_is_asked_first_and_its_token_served(world: WechatWorld) -> None:
    token = get(world)
    assert not token.fallback
    assert token.access_token == world.authing.served_token(APP_ID)
    assert world.wechat.request_count(STABLE) == 0


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(503),
        Fault.status(500),
        Fault.status(501),
        Fault.status(429),
        Fault.html(502),
        Fault.html(200),
        Fault.html(404),
        Fault.drop(),
        Fault.envelope_error(503),
    ],
    ids=repr,
)
def test_an_unavailable_authing_makes_the_provider_take_the_stable_token(
    world: WechatWorld, fault: Fault
) -> None:
    world.authing_down(fault)
    token = get(world)
    assert token.fallback
    assert token.access_token == world.wechat.stable_token(APP_ID)
    assert world.authing_requests == 1  # Authing first
    assert stable_bodies(world) == [
        {"grant_type": "client_credential", "appid": APP_ID, "secret": CANARY_SECRET}
    ]
    (request,) = [r for r in world.wechat.requests if r.path == STABLE]
    assert request.method == "POST"
    assert world.wechat.request_count("/cgi-bin/token") == 0
    assert world.run(world.provider.get()).access_token == token.access_token
    response = world.request("GET", DOMAINS)  # WechatAuth works on it
    assert response.json()["ip_list"]


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
def test_a_timeout_or_connection_error_is_an_outage(mode: str, failure: type[Exception]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure("no answer", request=request)  # type: ignore[call-arg]

    world = WechatWorld(mode, fallback=True)
    token_client = another_client(world, httpx.MockTransport(fail))
    provider = token_client.token_provider(
        app_id=APP_ID, app_secret="s" * 10, fallback=world.fallback
    )
    try:
        assert world.run(provider.get()).fallback
    finally:
        world.close()


def test_a_spent_retry_budget_is_an_outage(mode: str) -> None:
    policy = RetryPolicy(max_attempts=5, budget=RetryBudget(max_tokens=1.0))
    world = WechatWorld(mode, fallback=True, retry=policy)
    try:
        world.authing_down()
        assert get(world).fallback
        assert world.authing_requests == 1  # the budget stopped the retries
    finally:
        world.close()


@pytest.mark.parametrize(
    "fault",
    [Fault.envelope_error(400), Fault.envelope_error(403), Fault.status(400), Fault.status(401)],
    ids=repr,
)
def test_a_business_refusal_is_not_an_outage(world: WechatWorld, fault: Fault) -> None:
    world.authing_down(fault)
    with pytest.raises(AuthingAPIError) as caught:
        get(world)
    assert not isinstance(caught.value, StableTokenError)
    assert world.wechat.request_count() == 0


def test_no_fallback_while_a_stale_token_serves_callers(world: WechatWorld) -> None:
    first = get(world)
    world.authing_down()
    world.clock.advance(first.expires_in(now=world_now(world)) - 200)  # STALE: served at once
    assert get(world).access_token == first.access_token
    world.settle()  # the background refresh failed; callers did not wait
    assert world.wechat.request_count(STABLE) == 0
    world.clock.advance(150)  # MUST: callers wait for one refresh, which takes the fallback
    token = get(world)
    assert token.fallback
    assert world.wechat.request_count(STABLE) == 1


def test_on_the_fallback_authing_is_asked_once_per_min_refresh_interval(
    world: WechatWorld,
) -> None:
    world.authing_down()
    fallback_token = get(world)
    asked = world.authing_requests
    for _ in range(5):  # within min_refresh_interval (30 s): no request
        world.clock.advance(5)
        assert get(world).access_token == fallback_token.access_token
        world.settle()
    assert world.authing_requests == asked
    world.clock.advance(6)  # 31 s on: one background request, failing; still the fallback's
    assert get(world).access_token == fallback_token.access_token
    world.settle()
    assert world.authing_requests == asked + 1
    assert get(world).access_token == fallback_token.access_token
    world.settle()
    assert world.authing_requests == asked + 1
    world.authing_up()
    world.clock.advance(31)
    get(world)  # served the fallback's at once, starts the refresh that brings Authing's
    world.settle()
    back = get(world)
    assert not back.fallback
    assert back.access_token == world.authing.served_token(APP_ID)
    assert world.wechat.request_count(STABLE) == 1
    assert world.provider.stats().state.value == "fresh"


def test_a_fallback_token_is_refreshed_ahead_and_never_served_expired(
    world: WechatWorld,
) -> None:
    world.authing_down()
    first = get(world)
    # WeChat gives a new stable token 5 minutes before expiry: the provider's MUST refresh
    # (60 s left) gets it from the fallback, Authing being still down.
    world.clock.advance(first.expires_in(now=world_now(world)) - 50)
    second = get(world)
    assert second.fallback
    assert second.access_token != first.access_token
    assert world.wechat.request_count(STABLE) == 2
    assert world.request("GET", DOMAINS).status_code == 200
    world.wechat.set_ip_whitelisted(False)  # from now on the fallback fails too
    world.clock.advance(second.expires_in(now=world_now(world)) + 1)
    with pytest.raises(StableTokenError):
        get(world)  # never the expired token


def test_a_short_expires_in_from_the_overlap_is_honoured(world: WechatWorld) -> None:
    body = json.dumps({"grant_type": "client_credential", "appid": APP_ID, "secret": "x" * 9})
    world.wechat.answer("POST", STABLE, "", [], body.encode())  # another holder, 7200 s ago
    world.clock.advance(7200 - 301)
    world.authing_down()
    token = get(world)  # WeChat hands out its current token with 301 s left
    assert token.access_token == world.wechat.stable_token(APP_ID)
    assert 300 <= token.expires_in(now=world_now(world)) <= 301
    assert world.provider.stats().state.value == "stale"
    world.clock.advance(2)  # WeChat issues the next one now; the old one works to its end
    assert world.request("GET", DOMAINS).status_code == 200
    world.clock.advance(250)  # MUST: the refresh gets WeChat's next token
    assert get(world).access_token == world.wechat.stable_token(APP_ID) != token.access_token


@pytest.mark.parametrize(
    ("switch", "errcode", "words"),
    [
        ("set_ip_whitelisted", 40164, "whitelist"),
        ("set_secret_accepted", 40125, "secret"),
        (None, 45009, "quota"),
    ],
)
def test_wechat_refusals_are_typed_and_say_what_to_do(
    world: WechatWorld, switch: str | None, errcode: int, words: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    world.authing_down()
    if switch is None:
        world.wechat.add_errcode(STABLE, errcode, times=None)
    else:
        getattr(world.wechat, switch)(False)
    with pytest.raises(StableTokenError) as caught:
        get(world)
    error = caught.value
    assert isinstance(error, AuthingError)
    assert error.errcode == errcode
    assert isinstance(error.authing_error, AuthingAPIError)
    text = str(error)
    assert "Authing is unavailable" in text
    assert f"errcode {errcode}" in text
    assert words in text.lower()
    for shown in (text, repr(error), repr(error.authing_error), caplog.text):
        assert CANARY_SECRET not in shown
    assert world.wechat.request_count("/cgi-bin/token") == 0


def test_wechat_unreachable_is_a_stable_token_error(mode: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.content!r}", request=request)

    world = WechatWorld(mode)
    kind: Any = httpx.Client if mode == "sync" else httpx.AsyncClient
    unreachable = StableTokenFallback(http_client=kind(transport=httpx.MockTransport(refuse)))
    provider = world.client.token_provider(
        app_id="wx9", app_secret=CANARY_SECRET, fallback=unreachable
    )
    try:
        world.authing_down()
        with pytest.raises(StableTokenError) as caught:
            world.run(provider.get())
        assert caught.value.errcode is None
        assert "ConnectError" in str(caught.value)
        assert CANARY_SECRET not in str(caught.value)
    finally:
        world.close()


def test_the_switch_is_logged_once_and_the_return_too(world: WechatWorld, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="authing_wechat")
    world.authing_down()
    get(world)
    for _ in range(3):
        world.clock.advance(31)
        get(world)
        world.settle()
    world.provider.invalidate(get(world))  # a new fallback token: no second switch
    get(world)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "stable_token" in warnings[0].getMessage()
    world.authing_up()
    world.clock.advance(31)
    get(world)
    world.settle()
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("back on Authing" in message for message in infos)
    assert CANARY_SECRET not in caplog.text


def test_stats_count_fallback_tokens(world: WechatWorld) -> None:
    world.authing_down()
    get(world)
    shown = world.provider.stats().as_dict()
    assert shown["fallback_tokens"] == 1
    assert shown["blocking"]["fallback"] == 1
    assert shown["blocking"]["upstream"] == 0
    assert json.loads(json.dumps(shown)) == shown


def test_a_40001_on_a_fallback_token_refetches_in_normal_mode(world: WechatWorld) -> None:
    world.authing_down()
    held = get(world)
    assert world.request("GET", DOMAINS).status_code == 200
    killer = world.wechat.force_refresh_elsewhere(APP_ID)  # kills the token the provider holds
    response = world.request("GET", DOMAINS)
    assert response.json()["ip_list"]  # resent once with the new stable token
    assert get(world).access_token == killer != held.access_token
    assert world.provider.stats().invalidations == 1
    assert all("force_refresh" not in body for body in stable_bodies(world))
    assert world.wechat.request_count("/cgi-bin/token") == 0


def test_the_fallback_is_checked_when_the_provider_is_made(mode: str) -> None:
    world = WechatWorld(mode)
    try:
        other = httpx.AsyncClient() if mode == "sync" else httpx.Client()
        wrong = StableTokenFallback(http_client=other)
        with pytest.raises(TypeError, match="http_client"):
            world.client.token_provider(app_id="wx2", app_secret="s" * 10, fallback=wrong)
        with pytest.raises(TypeError, match="StableTokenFallback"):
            world.client.token_provider(app_id="wx3", app_secret="s" * 10, fallback=object())
        fallback = StableTokenFallback()
        same = world.client.token_provider(app_id="wx4", app_secret="s" * 10, fallback=fallback)
        assert (
            world.client.token_provider(app_id="wx4", app_secret="s" * 10, fallback=fallback)
            is same
        )
        with pytest.raises(ValueError, match="other settings"):
            world.client.token_provider(app_id="wx4", app_secret="s" * 10)
    finally:
        world.close()


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="base_url"):
        StableTokenFallback(base_url="http://api.weixin.qq.com")
    with pytest.raises(ValueError, match="base_url"):
        StableTokenFallback(base_url="not a url")
    with pytest.raises(TypeError):
        StableTokenFallback(base_url=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        StableTokenFallback(timeout=0)
    with pytest.raises(TypeError, match="http_client"):
        StableTokenFallback(http_client=object())  # type: ignore[arg-type]
    fallback = StableTokenFallback(base_url="http://127.0.0.1:8080/", timeout=3)
    assert repr(fallback) == "StableTokenFallback(base_url='http://127.0.0.1:8080', timeout=3.0)"


def test_its_own_client_verifies_tls_and_is_closed_with_the_token_client() -> None:
    fallback = StableTokenFallback()
    client = WechatTokenClient("https://app.authing.cn", "authing-app")
    client.token_provider(app_id="wx1", app_secret="s" * 10, fallback=fallback)
    own = fallback._http(httpx.Client)
    pool = own._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    assert own.follow_redirects is False
    client.close()
    assert own.is_closed


def test_a_store_shares_the_fallback_token_and_authing_takes_its_place(mode: str) -> None:
    from tests._provider_support import AsyncMemoryStore, MemoryStore

    memory = MemoryStore()
    store = memory if mode == "sync" else AsyncMemoryStore(memory)
    # Authing's tokens live 3600 s, the fallback's 7200 s: Authing's must win all the same.
    world = WechatWorld(
        mode, fallback=True, authing_options={"expires_in": 3600}, provider_kwargs={"store": store}
    )
    twin = another_client(world, MockAuthingTransport(world.authing))
    other = twin.token_provider(
        app_id=APP_ID,
        app_secret="wechat-app-secret-0123456789abcdef",
        store=store,
        fallback=world.fallback,
    )
    try:
        world.authing_down()
        token = get(world)
        assert token.fallback
        (entry,) = memory.entries.values()
        assert entry.fallback
        assert entry.access_token == token.access_token
        adopted = world.run(other.get())
        assert adopted.fallback
        assert adopted.access_token == token.access_token
        assert world.wechat.request_count(STABLE) == 1  # one for both
        world.authing_up()
        world.clock.advance(31)
        get(world)
        world.settle()
        (entry,) = memory.entries.values()
        assert not entry.fallback
        assert entry.access_token == world.authing.served_token(APP_ID)
        asked = world.authing_requests
        world.clock.advance(31)  # Authing's entry is neither newer nor recent: still adopted
        world.run(other.get())  # STALE on the fallback's: its refresh adopts Authing's
        flight = other._rule.in_flight()
        if flight is not None:
            world.run(flight.signal.wait()) if mode == "async" else flight.signal.wait(10)
        assert world.run(other.get()).access_token == entry.access_token
        assert world.authing_requests == asked
    finally:
        world.run(twin.aclose()) if mode == "async" else twin.close()
        world.close()
