"""``FakeWechatServer``: the tokens WeChat would accept (latest, overlap, expiry), the paths
it answers, scripting, and its pytest fixtures, in-process and on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from authing_wechat.testing import (
    FakeClock,
    FakeWechatServer,
    FakeWechatTransport,
    MockAuthingServer,
    run_fake_wechat_server,
)
from authing_wechat.testing._wechat import QR_CODE_IMAGE

from tests._wechat_support import APP_ID, WechatWorld


def _errcode(response: httpx.Response) -> int:
    return int(response.json().get("errcode", 0))


def test_only_the_latest_token_passes_and_an_overlap_keeps_the_old_one_a_while() -> None:
    world = WechatWorld("sync")
    try:
        old = world.token()
        plain = httpx.Client(transport=FakeWechatTransport(world.wechat))
        url = "https://api.weixin.qq.com/cgi-bin/get_api_domain_ip"
        assert _errcode(plain.get(url, params={"access_token": old})) == 0
        new = world.wechat.rotate(APP_ID, overlap=300)
        assert world.authing.served_token(APP_ID) == new
        assert _errcode(plain.get(url, params={"access_token": old})) == 0  # both valid
        world.clock.advance(301)
        assert _errcode(plain.get(url, params={"access_token": old})) == 40001
        assert _errcode(plain.get(url, params={"access_token": new})) == 0
        world.wechat.expire(APP_ID)
        assert _errcode(plain.get(url, params={"access_token": new})) == 42001
        assert _errcode(plain.get(url, params={"access_token": "made-up-token"})) == 40001
        assert _errcode(plain.get(url)) == 41001
        world.clock.advance(7200)  # the mock's own expiry
        other = world.wechat.rotate(APP_ID)
        world.clock.advance(7201)
        assert _errcode(plain.get(url, params={"access_token": other})) == 42001
        assert world.wechat.rejections == 5
    finally:
        world.close()


def test_someone_else_fetching_breaks_the_token_authing_keeps_serving() -> None:
    mock = MockAuthingServer(clock=FakeClock())
    fake = FakeWechatServer(mock)
    with httpx.Client(transport=FakeWechatTransport(fake)) as wx:
        base = "https://api.weixin.qq.com/cgi-bin"
        stolen = wx.get(f"{base}/token", params={"appid": APP_ID, "secret": "s"}).json()
        assert stolen["expires_in"] == 7200
        assert mock.issued_token(stolen["access_token"]) is not None
        assert _errcode(wx.get(f"{base}/token", params={"appid": APP_ID})) == 40125


def test_the_paths_answer_realistically() -> None:
    world = WechatWorld("sync")
    try:
        user = world.request("GET", "/cgi-bin/user/info", params={"openid": "o1"}).json()
        assert user["openid"] == "o1"
        assert user["subscribe"] == 1
        assert _errcode(world.request("GET", "/cgi-bin/user/info")) == 40003
        sent = world.request("POST", "/cgi-bin/message/subscribe/send", json={"touser": "o1"})
        assert sent.json()["errcode"] == 0
        assert sent.json()["msgid"] > 0
        bad = world.request("POST", "/cgi-bin/message/subscribe/send", content=b"{")
        assert _errcode(bad) == 47001
        qr = world.request("POST", "/wxa/getwxacodeunlimit", json={"scene": "x"})
        assert (qr.headers["content-type"], qr.content) == ("image/jpeg", QR_CODE_IMAGE)
        assert _errcode(world.request("POST", "/wxa/getwxacodeunlimit", json={})) == 40129
        assert world.request("GET", "/cgi-bin/get_api_domain_ip").json()["ip_list"]
        assert world.request("POST", "/cgi-bin/anything/else").json() == {
            "errcode": 0,
            "errmsg": "ok",
        }
        assert world.wechat.request_count("/cgi-bin/user/info") == 2
        assert "mock-access-token" not in repr(world.wechat.requests)
    finally:
        world.close()


def test_scripted_errcodes_answer_the_next_requests_of_a_path() -> None:
    fake = FakeWechatServer()
    fake.add_errcode("/x", 45009, times=2)
    fake.add_errcode("/x", -1, "system busy")
    with httpx.Client(transport=FakeWechatTransport(fake)) as wx:
        codes = [wx.get("https://api.weixin.qq.com/x").json() for _ in range(4)]
    assert [c["errcode"] for c in codes] == [45009, 45009, -1, 41001]
    assert codes[2]["errmsg"].startswith("system busy rid: ")
    with pytest.raises(ValueError, match="times"):
        fake.add_errcode("/x", 1, times=0)


def test_it_serves_async_clients_and_loopback_alike() -> None:
    world = WechatWorld("sync")
    try:
        token = world.token()

        async def call() -> int:
            transport = FakeWechatTransport(world.wechat)
            async with httpx.AsyncClient(transport=transport) as wx:
                url = "https://api.weixin.qq.com/cgi-bin/get_api_domain_ip"
                return _errcode(await wx.get(url, params={"access_token": token}))

        assert asyncio.run(call()) == 0
        with run_fake_wechat_server(world.wechat) as handle, httpx.Client() as wx:
            assert handle.url.startswith("http://127.0.0.1:")
            ok = wx.get(f"{handle.url}/cgi-bin/user/info?openid=o1&access_token={token}")
            assert ok.json()["openid"] == "o1"
    finally:
        world.close()


def test_the_fixtures_share_the_mock(
    authing_mock_server: MockAuthingServer,
    wechat_fake: FakeWechatServer,
    wechat_fake_transport: FakeWechatTransport,
    wechat_fake_url: str,
) -> None:
    assert wechat_fake.authing is authing_mock_server
    assert wechat_fake_transport.server is wechat_fake
    token = authing_mock_server.rotate_token("wx1")
    with httpx.Client(transport=wechat_fake_transport) as wx:
        answer = wx.get("https://api.weixin.qq.com/x", params={"access_token": token})
        assert answer.json()["errcode"] == 0
    with httpx.Client() as wx:
        answer = wx.get(f"{wechat_fake_url}/x", params={"access_token": "nope"})
        assert answer.json()["errcode"] == 40001
    assert wechat_fake.request_count("/x") == 2


def test_the_mocks_record_of_issued_tokens_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MockAuthingServer, "MAX_SUPERSEDED", 5)
    mock = MockAuthingServer(clock=FakeClock())
    quiet = mock.rotate_token("wx-quiet")  # an app whose one token outlives many others
    busy = [mock.rotate_token("wx-busy") for _ in range(20)]
    kept = [token for token in busy if mock.issued_token(token) is not None]
    assert kept == busy[-6:]  # the latest and the 5 most recent superseded ones
    latest = mock.issued_token(busy[-1])
    assert latest is not None
    assert latest.superseded_at is None
    assert mock.issued_token(quiet) is not None  # the latest of its app, however old
    assert mock.tokens_issued == 21  # the count stays exact
