"""``AuthingWeChatClient`` against the real wechatpy 1.8 and the fake WeChat on loopback:
every wechatpy API unchanged, the token from the provider, one resend, never a recursion."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from authing_wechat import WechatTokenRejectedError
from authing_wechat.integrations.wechatpy import AuthingWeChatClient
from authing_wechat.testing import run_fake_wechat_server
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests._metrics_support import Recorded
from tests._wechat_support import APP_ID, WechatWorld


class _ToLoopback(requests.adapters.HTTPAdapter):
    """Sends wechatpy's https://api.weixin.qq.com requests to the loopback fake instead."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(  # type: ignore[override]  # passes requests' keywords through as they are
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        assert request.url is not None
        request.url = request.url.replace("https://api.weixin.qq.com", self.base, 1)
        return super().send(request, **kwargs)


@pytest.fixture
def world() -> Iterator[WechatWorld]:
    made = WechatWorld("sync")
    yield made
    made.close()


@pytest.fixture
def client(world: WechatWorld) -> Iterator[AuthingWeChatClient]:
    with run_fake_wechat_server(world.wechat) as handle:
        made = AuthingWeChatClient(world.provider, timeout=10)
        made._http.mount("https://api.weixin.qq.com/", _ToLoopback(handle.url))
        yield made
        made._http.close()


def test_it_is_a_wechatpy_client_whose_apis_work_unchanged(
    world: WechatWorld, client: AuthingWeChatClient
) -> None:
    assert isinstance(client, WeChatClient)
    assert client.user.get("o1")["openid"] == "o1"
    assert client.misc.get_wechat_ips()
    sent = client.post("message/subscribe/send", data={"touser": "o1", "template_id": "t"})
    assert sent["errcode"] == 0
    image = client.wxa.get_wxa_code_unlimited("a=1")
    assert image.headers["content-type"] == "image/jpeg"
    assert {r.access_token for r in world.wechat.requests} == {world.token()}
    assert world.authing_requests == 1  # one token, from Authing, for every call


def test_a_rejection_is_one_invalidation_and_one_resend(
    world: WechatWorld, client: AuthingWeChatClient
) -> None:
    first = world.token()
    world.wechat.rotate(APP_ID)
    assert client.user.get("o1")["openid"] == "o1"
    assert [r.errcode for r in world.wechat.requests] == [40001, 0]
    assert world.wechat.requests[1].access_token not in (None, first)
    assert world.provider.stats().invalidations == 1
    assert world.wechat.request_count("/cgi-bin/token") == 0  # never fetched from WeChat


def test_a_rejection_is_counted_by_errcode(
    recorded: Recorded, world: WechatWorld, client: AuthingWeChatClient
) -> None:
    world.token()
    world.wechat.rotate(APP_ID)
    assert client.user.get("o1")["openid"] == "o1"
    assert recorded.points("authing_wechat.wechat.rejections") == [
        ({"app_id": APP_ID, "errcode": 40001}, 1)
    ]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_second_rejection_raises_instead_of_recursing(
    world: WechatWorld, client: AuthingWeChatClient, errcode: int
) -> None:
    world.token()
    world.wechat.rotate(APP_ID, overlap=300)
    world.wechat.add_errcode("/cgi-bin/user/info", errcode, times=None)
    with pytest.raises(WechatTokenRejectedError) as caught:
        client.user.get("o1")
    assert world.wechat.request_count() == 2
    assert caught.value.errcode == errcode
    assert caught.value.attempts == 2
    assert caught.value.response is not None


def test_the_rejected_token_handed_back_raises_at_once(
    world: WechatWorld, client: AuthingWeChatClient
) -> None:
    world.token()
    world.wechat.fetch_elsewhere(APP_ID)  # Authing keeps serving a token WeChat replaced
    with pytest.raises(WechatTokenRejectedError, match="something else fetches"):
        client.user.get("o1")
    assert world.wechat.request_count() == 1
    with pytest.raises(WechatTokenRejectedError):  # in the backoff: WeChat is not called
        client.user.get("o1")
    assert world.wechat.request_count() == 1


def test_other_errcodes_raise_wechatpys_own_errors(
    world: WechatWorld, client: AuthingWeChatClient
) -> None:
    world.wechat.add_errcode("/cgi-bin/user/info", 40003)
    with pytest.raises(WeChatClientException) as caught:
        client.user.get("o1")
    assert caught.value.errcode == 40003
    assert world.provider.stats().invalidations == 0


def test_without_auto_retry_the_token_is_dropped_and_wechatpy_raises(
    world: WechatWorld,
) -> None:
    world.token()
    world.wechat.rotate(APP_ID)
    with run_fake_wechat_server(world.wechat) as handle:
        client = AuthingWeChatClient(world.provider, auto_retry=False)
        client._http.mount("https://api.weixin.qq.com/", _ToLoopback(handle.url))
        with pytest.raises(WeChatClientException) as caught:
            client.user.get("o1")
        assert caught.value.errcode == 40001
        assert world.wechat.request_count() == 1
        assert client.user.get("o1")["openid"] == "o1"  # the next call has the new token


def test_an_upload_is_not_sent_twice(world: WechatWorld, client: AuthingWeChatClient) -> None:
    import io

    world.token()
    world.wechat.rotate(APP_ID)
    with pytest.raises(WeChatClientException):
        client.media.upload("image", io.BytesIO(b"\xff\xd8 not much of an image"))
    assert world.wechat.request_count() == 1
    assert world.provider.stats().invalidations == 1


def test_an_async_provider_is_refused() -> None:
    other = WechatWorld("async")
    try:
        with pytest.raises(TypeError, match="cannot await"):
            AuthingWeChatClient(other.provider)
    finally:
        other.close()


def test_fetch_access_token_reads_the_provider_never_wechat(
    world: WechatWorld, client: AuthingWeChatClient
) -> None:
    answer = client.fetch_access_token()
    assert answer["access_token"] == world.token()
    assert 7000 < answer["expires_in"] <= 7200
    assert world.wechat.request_count() == 0


def test_importing_the_package_never_imports_wechatpy() -> None:
    code = (
        "import sys, authing_wechat\n"
        "from authing_wechat import WechatAuth, WechatTokenRejectedError\n"
        "import authing_wechat.integrations\n"
        "print('wechatpy' in sys.modules)\n"
        "import authing_wechat.integrations.wechatpy\n"
        "print('wechatpy' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.split() == ["False", "True"]


def test_it_works_on_a_fallback_token_and_a_40001_refetches_in_normal_mode() -> None:
    import json

    world = WechatWorld("sync", fallback=True)
    try:
        with run_fake_wechat_server(world.wechat) as handle:
            made = AuthingWeChatClient(world.provider, timeout=10)
            made._http.mount("https://api.weixin.qq.com/", _ToLoopback(handle.url))
            world.authing_down()
            assert made.user.get("o1")["openid"] == "o1"
            held = world.provider.get()
            assert held.fallback
            killer = world.wechat.force_refresh_elsewhere(APP_ID)
            assert made.user.get("o2")["openid"] == "o2"  # one resend, with the new token
            assert world.provider.get().access_token == killer
            assert world.provider.stats().invalidations == 1
            stable = [r for r in world.wechat.requests if r.path == "/cgi-bin/stable_token"]
            bodies = [json.loads(r.body) for r in stable]
            assert len(bodies) == 2
            assert all("force_refresh" not in b for b in bodies)
            assert world.wechat.request_count("/cgi-bin/token") == 0
            made._http.close()
    finally:
        world.close()
