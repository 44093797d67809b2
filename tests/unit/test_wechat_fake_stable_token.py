"""The fake WeChat's ``POST /cgi-bin/stable_token``, as WeChat documents getStableAccessToken,
and the fixtures that let users test an Authing outage with it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    StableTokenError,
    StableTokenFallback,
    WechatAuth,
    WechatTokenClient,
)
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    FakeWechatServer,
    FakeWechatTransport,
    Fault,
    MockAuthingServer,
)

STABLE = "/cgi-bin/stable_token"
DOMAINS = "/cgi-bin/get_api_domain_ip"


class WeChat:
    """A fake WeChat on a ``FakeClock``, called over its in-process transport."""

    def __init__(self) -> None:
        self.clock = FakeClock(start=1_800_000_000)
        self.authing = MockAuthingServer(clock=self.clock)
        self.fake = FakeWechatServer(self.authing)
        self.http = httpx.Client(
            base_url="https://api.weixin.qq.com", transport=FakeWechatTransport(self.fake)
        )

    def stable(self, app_id: str = "wx1", **extra: Any) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": app_id, "secret": "s" * 32, **extra}
        answer: dict[str, Any] = self.http.post(STABLE, json=body).json()
        return answer

    def call(self, token: str) -> int:
        errcode: int = (
            self.http.get(DOMAINS, params={"access_token": token}).json().get("errcode", 0)
        )
        return errcode


@pytest.fixture
def wechat() -> WeChat:
    return WeChat()


def test_normal_mode_returns_the_same_token_until_five_minutes_before_expiry(
    wechat: WeChat,
) -> None:
    first = wechat.stable()
    assert first["expires_in"] == 7200
    wechat.clock.advance(3000)
    again = wechat.stable()
    assert again == {"access_token": first["access_token"], "expires_in": 4200}
    wechat.clock.advance(7200 - 3000 - 300 - 1)  # 301 s left: still the same, expires_in 301
    assert wechat.stable() == {"access_token": first["access_token"], "expires_in": 301}
    wechat.clock.advance(1)  # 300 s left: WeChat has issued the next one
    second = wechat.stable()
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 7200
    assert wechat.call(first["access_token"]) == 0  # the overlap: both work
    assert wechat.call(second["access_token"]) == 0
    wechat.clock.advance(300)
    assert wechat.call(first["access_token"]) == 42001
    assert wechat.call(second["access_token"]) == 0


def test_it_is_isolated_from_cgi_bin_token_both_ways(wechat: WeChat) -> None:
    authing_token = wechat.authing.rotate_token("wx1")
    stable = wechat.stable()["access_token"]
    assert wechat.call(authing_token) == 0  # stable_token broke nothing
    fetched = wechat.http.get(
        "/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wx1", "secret": "s"}
    )
    assert wechat.call(fetched.json()["access_token"]) == 0
    assert wechat.call(stable) == 0  # /cgi-bin/token left the stable token alone
    assert wechat.stable()["access_token"] == stable
    assert wechat.call(authing_token) == 40001  # ... but replaced Authing's


def test_force_refresh_kills_the_token_others_hold_and_is_limited(wechat: WeChat) -> None:
    held = wechat.stable()["access_token"]
    forced = wechat.stable(force_refresh=True)["access_token"]
    assert forced != held
    assert wechat.call(held) == 40001
    assert wechat.call(forced) == 0
    assert wechat.stable(force_refresh=True)["errcode"] == 45011  # 30 s apart
    for _ in range(19):
        wechat.clock.advance(31)
        assert "access_token" in wechat.stable(force_refresh=True)
    wechat.clock.advance(31)
    assert wechat.stable(force_refresh=True)["errcode"] == 45009  # 20 a day
    assert "access_token" in wechat.stable()  # normal mode is not limited by it
    wechat.clock.advance(86_400)
    assert "access_token" in wechat.stable(force_refresh=True)


def test_switches_and_malformed_requests(wechat: WeChat) -> None:
    wechat.fake.set_ip_whitelisted(False)
    assert wechat.stable()["errcode"] == 40164
    wechat.fake.set_ip_whitelisted(True)
    wechat.fake.set_secret_accepted(False)
    assert wechat.stable()["errcode"] == 40125
    wechat.fake.set_secret_accepted(True)
    assert wechat.stable(grant_type="password")["errcode"] == 40002
    assert wechat.stable(appid="")["errcode"] == 40013
    assert wechat.http.post(STABLE, content=b"{").json()["errcode"] == 47001
    wechat.fake.add_errcode(STABLE, 45009)
    assert wechat.stable()["errcode"] == 45009
    assert "access_token" in wechat.stable()
    assert wechat.fake.request_count(STABLE) == 7
    assert wechat.fake.request_count("/cgi-bin/token") == 0


def test_force_refresh_elsewhere_and_the_current_token(wechat: WeChat) -> None:
    assert wechat.fake.stable_token("wx1") is None
    held = wechat.stable()["access_token"]
    assert wechat.fake.stable_token("wx1") == held
    new = wechat.fake.force_refresh_elsewhere("wx1")
    assert wechat.call(held) == 40001
    assert wechat.stable()["access_token"] == new == wechat.fake.stable_token("wx1")


def test_the_fixtures_ride_out_an_outage(  # noqa: PLR0917 - one fixture per thing
    authing_mock_server: MockAuthingServer,
    authing_mock_transport: Any,
    authing_mock_clock: FakeClock,
    wechat_fake: FakeWechatServer,
    wechat_fake_transport: FakeWechatTransport,
    wechat_stable_fallback: StableTokenFallback,
) -> None:
    client = WechatTokenClient(
        "https://app.authing.cn",
        "app",
        clock=authing_mock_clock,
        http_client=httpx.Client(transport=authing_mock_transport),
    )
    provider = client.token_provider(
        app_id="wx1", app_secret="s" * 10, fallback=wechat_stable_fallback
    )
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503), times=None)
    with httpx.Client(
        base_url="https://api.weixin.qq.com",
        auth=WechatAuth(provider),
        transport=wechat_fake_transport,
    ) as wx:
        assert wx.get(DOMAINS).json()["ip_list"]
    assert provider.get().fallback
    wechat_fake.set_ip_whitelisted(False)
    provider.invalidate(provider.get())
    with pytest.raises(StableTokenError, match="whitelist"):
        provider.get()
    authing_mock_server.clear_faults()
    authing_mock_clock.advance(60)
    assert not provider.get().fallback
    client.close()


@pytest.mark.anyio
async def test_the_async_fixture(
    authing_mock_server: MockAuthingServer,
    authing_mock_transport: Any,
    authing_mock_clock: FakeClock,
    wechat_async_stable_fallback: StableTokenFallback,
) -> None:
    client = AsyncWechatTokenClient(
        "https://app.authing.cn",
        "app",
        clock=authing_mock_clock,
        http_client=httpx.AsyncClient(transport=authing_mock_transport),
    )
    provider = client.token_provider(
        app_id="wx1", app_secret="s" * 10, fallback=wechat_async_stable_fallback
    )
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503), times=None)
    token = await provider.get()
    assert token.fallback
    assert json.loads(json.dumps(provider.stats().as_dict()))["fallback_tokens"] == 1
    await client.aclose()
