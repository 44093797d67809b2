"""``WechatAuth``: the token on every WeChat call, one resend after 40001 / 40014 / 42001, and
nothing else touched. Each test runs with the sync and the async provider and httpx client."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authing_wechat import (
    AuthingError,
    WechatAuth,
    WechatTokenRejectedError,
)
from authing_wechat.testing import FakeWechatTransport

from tests._wechat_support import APP_ID, WechatWorld

USER_INFO = "/cgi-bin/user/info"
SEND = "/cgi-bin/message/subscribe/send"
QR = "/wxa/getwxacodeunlimit"


@pytest.fixture(params=["sync", "async"])
def world(request: pytest.FixtureRequest) -> Iterator[WechatWorld]:
    made = WechatWorld(request.param)
    yield made
    made.close()


def test_the_token_goes_in_the_query_replacing_one_already_there(world: WechatWorld) -> None:
    token = world.token()
    response = world.request("GET", f"{USER_INFO}?openid=o%2B1&access_token=old&lang=zh_CN")
    assert response.json()["openid"] == "o+1"
    (seen,) = world.wechat.requests
    assert seen.access_token == token
    assert dict(seen.params) == {"openid": "o+1", "lang": "zh_CN"}
    assert response.request.url.query.count(b"access_token=") == 1
    # The other parameters keep their exact bytes.
    assert response.request.url.query.startswith(b"openid=o%2B1&lang=zh_CN&")


def test_params_given_as_a_mapping_keep_theirs(world: WechatWorld) -> None:
    response = world.request("GET", USER_INFO, params={"openid": "o1", "access_token": "x"})
    assert response.json()["openid"] == "o1"
    assert world.wechat.requests[0].access_token == world.token()


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_rejected_token_is_dropped_and_the_call_resent_once(
    world: WechatWorld, errcode: int
) -> None:
    first = world.token()
    world.wechat.rotate(APP_ID, overlap=300)  # Authing has a new token; the old still works
    world.wechat.add_errcode(SEND, errcode)  # ... but WeChat rejects the next call's token
    body = {"touser": "o1", "template_id": "t", "data": {"k": {"value": "v"}}}
    response = world.request("POST", SEND, json=body)
    assert response.json()["errcode"] == 0
    sent = world.wechat.requests
    assert [r.access_token for r in sent] == [first, world.token()]
    assert sent[0].access_token != sent[1].access_token
    assert json.loads(sent[1].body) == body  # the same body, sent again
    assert world.provider.stats().invalidations == 1
    assert world.authing_requests == 2


def test_a_rotation_costs_one_resend_then_calls_flow(world: WechatWorld) -> None:
    world.token()
    world.wechat.rotate(APP_ID)  # the old token gets 40001 ("not latest") at once
    assert world.request("GET", "/cgi-bin/get_api_domain_ip").json()["ip_list"]
    assert world.request("GET", "/cgi-bin/get_api_domain_ip").json()["ip_list"]
    assert [r.errcode for r in world.wechat.requests] == [40001, 0, 0]
    assert world.authing_requests == 2


def test_a_form_body_is_resent_as_it_was(world: WechatWorld) -> None:
    world.token()
    world.wechat.rotate(APP_ID)
    response = world.request("POST", "/cgi-bin/anything", data={"a": "1", "b": "二"})
    assert response.json() == {"errcode": 0, "errmsg": "ok"}
    first, second = world.wechat.requests
    assert (
        first.body == second.body == httpx.Request("POST", "/", data={"a": "1", "b": "二"}).read()
    )


def test_a_second_rejection_raises_and_is_not_resent(world: WechatWorld) -> None:
    world.token()
    world.wechat.rotate(APP_ID, overlap=300)
    world.wechat.add_errcode(USER_INFO, 40001, times=None)
    with pytest.raises(WechatTokenRejectedError) as caught:
        world.request("GET", USER_INFO, params={"openid": "o1"})
    error = caught.value
    assert world.wechat.request_count() == 2
    assert (error.errcode, error.attempts, error.app_id) == (40001, 2, APP_ID)
    assert error.errmsg is not None
    assert error.errmsg.startswith("invalid credential")
    assert error.response is not None
    assert error.response.json()["errcode"] == 40001
    assert "again" in str(error)
    assert "something else fetches access tokens for this WeChat app" in str(error)
    assert isinstance(error, AuthingError)
    for shown in (str(error), repr(error)):
        assert "mock-access-token" not in shown


def test_the_very_token_handed_back_raises_without_a_resend(world: WechatWorld) -> None:
    token = world.token()
    world.wechat.expire(APP_ID)  # WeChat says 42001; Authing's cache still holds it
    with pytest.raises(WechatTokenRejectedError) as caught:
        world.request("GET", USER_INFO, params={"openid": "o1"})
    error = caught.value
    assert world.wechat.request_count() == 1
    assert error.errcode == 42001
    assert error.response is not None
    assert "had no other" in str(error)
    assert token not in str(error)
    assert token not in repr(error)


@pytest.mark.parametrize("errcode", [0, -1, 40003, 45009, 48001, 40013])
def test_other_errcodes_pass_through_untouched(world: WechatWorld, errcode: int) -> None:
    world.token()
    world.wechat.add_errcode(USER_INFO, errcode)
    response = world.request("GET", USER_INFO, params={"openid": "o1"})
    assert response.json()["errcode"] == errcode
    assert world.wechat.request_count() == 1
    assert world.provider.stats().invalidations == 0


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 429, 500, 502, 503])
def test_http_statuses_pass_through_even_with_a_token_errcode(
    world: WechatWorld, status: int
) -> None:
    world.token()
    world.wechat.add_errcode(USER_INFO, 40001, status=status)
    response = world.request("GET", USER_INFO, params={"openid": "o1"})
    assert response.status_code == status
    assert world.wechat.request_count() == 1
    assert world.provider.stats().invalidations == 0


def test_an_image_answer_passes_through_untouched(world: WechatWorld) -> None:
    from authing_wechat.testing._wechat import QR_CODE_IMAGE

    response = world.request("POST", QR, json={"scene": "a=1"})
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == QR_CODE_IMAGE
    assert world.wechat.request_count() == 1


class _Answers(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request with one fixed response; counts them."""

    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers, self.body, self.count = headers, body, 0

    def _answer(self) -> httpx.Response:
        self.count += 1
        return httpx.Response(200, headers=self.headers, stream=httpx.ByteStream(self.body))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer()


REJECTION = b'{"errcode":40001,"errmsg":"invalid credential"}'


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"content-type": "image/jpeg"}, REJECTION),  # an image is never parsed
        ({"content-type": "application/octet-stream"}, REJECTION),
        ({"content-type": "application/json"}, REJECTION[:-1] + b" " * 20_000 + b"}"),  # large
        ({"content-type": "application/json"}, b"[40001]"),
        ({"content-type": "application/json"}, b'{"errcode": "oops"}'),
        ({"content-type": "application/json"}, b"not json, errcode 40001"),
    ],
)
def test_bodies_that_cannot_be_a_rejection_are_not_one(
    mode: str, headers: dict[str, str], body: bytes
) -> None:
    answers = _Answers(headers, body)
    world = WechatWorld(mode, wechat_transport=lambda _: answers)
    try:
        response = world.request("GET", USER_INFO)
        assert response.content == body
        assert answers.count == 1
        assert world.provider.stats().invalidations == 0
    finally:
        world.close()


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/json; encoding=utf-8"}, {}],
)
def test_a_json_rejection_labelled_text_or_unlabelled_still_counts(
    mode: str, headers: dict[str, str]
) -> None:
    answers = _Answers(headers, b'\xef\xbb\xbf {"errcode":"42001","errmsg":"expired"}')
    world = WechatWorld(mode, wechat_transport=lambda _: answers)
    try:
        with pytest.raises(WechatTokenRejectedError) as caught:
            world.request("GET", USER_INFO)
        assert caught.value.errcode == 42001
        assert world.provider.stats().invalidations == 1
    finally:
        world.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_streamed_body_is_never_sent_twice_but_its_token_is_dropped(world: WechatWorld) -> None:
    first = world.token()
    world.wechat.rotate(APP_ID)

    if world.mode == "sync":
        content: Any = iter([b'{"touser":', b'"o1"}'])
    else:

        async def chunks() -> Any:
            yield b'{"touser":'
            yield b'"o1"}'

        content = chunks()
    response = world.request("POST", SEND, content=content)
    assert response.json()["errcode"] == 40001  # returned as WeChat said it
    assert world.wechat.request_count() == 1
    assert world.provider.stats().invalidations == 1
    response = world.request("POST", SEND, json={"touser": "o1"})
    assert response.json()["errcode"] == 0
    assert world.wechat.requests[-1].access_token not in (None, first)


def test_redirects_are_followed_and_the_resend_starts_from_the_original(mode: str) -> None:
    class Moved(FakeWechatTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/moved":
                return httpx.Response(307, headers={"location": f"{USER_INFO}?{_query(request)}"})
            return super().handle_request(request)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/moved":
                return httpx.Response(307, headers={"location": f"{USER_INFO}?{_query(request)}"})
            return await super().handle_async_request(request)

    world = WechatWorld(mode, wechat_transport=Moved, follow_redirects=True)
    try:
        world.token()
        world.wechat.rotate(APP_ID)
        response = world.request("GET", "/moved", params={"openid": "o1"})
        assert response.json()["openid"] == "o1"
        assert [r.errcode for r in world.wechat.requests] == [40001, 0]
    finally:
        world.close()


def _query(request: httpx.Request) -> str:
    return request.url.query.decode()


def test_a_sync_provider_is_refused_by_an_async_client_and_the_reverse() -> None:
    sync, other = WechatWorld("sync"), WechatWorld("async")
    try:
        with pytest.raises(TypeError, match="block the event loop"):
            other.run(
                httpx.AsyncClient(transport=FakeWechatTransport(other.wechat)).get(
                    "https://api.weixin.qq.com/cgi-bin/get_api_domain_ip",
                    auth=WechatAuth(sync.provider),
                )
            )
        with (
            httpx.Client(transport=FakeWechatTransport(sync.wechat)) as wx,
            pytest.raises(TypeError, match="must be awaited"),
        ):
            wx.get("https://api.weixin.qq.com/", auth=WechatAuth(other.provider))
        assert sync.wechat.request_count() == other.wechat.request_count() == 0
        with pytest.raises(TypeError, match="token provider"):
            WechatAuth("not a provider")  # type: ignore[arg-type]
    finally:
        sync.close()
        other.close()


def test_per_request_auth_works_too(world: WechatWorld) -> None:
    plain = world.wx
    plain.auth = None
    response = world.run(plain.get("/cgi-bin/get_api_domain_ip", auth=world.auth))
    assert response.json()["ip_list"]
    assert world.wechat.requests[0].access_token == world.token()


# --- storms -----------------------------------------------------------------------------

CROWD = 100


def _crowd(world: WechatWorld) -> list[Any]:
    """``CROWD`` concurrent calls (threads, or tasks on one loop): their responses or errors."""
    if world.mode == "sync":
        results: list[Any] = [None] * CROWD
        start = threading.Barrier(CROWD)

        def call(index: int) -> None:
            start.wait()
            try:
                results[index] = world.request("GET", USER_INFO, params={"openid": "o1"})
            except Exception as exc:
                results[index] = exc

        threads = [threading.Thread(target=call, args=(i,)) for i in range(CROWD)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return results

    async def gather() -> list[Any]:
        calls = [world.wx.get(USER_INFO, params={"openid": "o1"}) for _ in range(CROWD)]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    assert world.runner is not None
    return world.runner.run(gather())


def test_a_crowd_meeting_one_rejected_token_causes_one_refresh(world: WechatWorld) -> None:
    world.token()
    world.wechat.rotate(APP_ID)
    results = _crowd(world)
    assert all(isinstance(r, httpx.Response) and r.json()["openid"] == "o1" for r in results)
    assert world.authing_requests == 2  # the first token, and one refresh
    assert world.wechat.request_count() <= 2 * CROWD
    assert world.provider.stats().invalidations == 1


def test_a_token_authing_keeps_serving_fails_fast_and_backs_off(world: WechatWorld) -> None:
    world.token()
    world.wechat.fetch_elsewhere(APP_ID)  # Authing's token is no longer the latest
    results = _crowd(world)
    assert all(isinstance(r, WechatTokenRejectedError) for r in results)
    assert world.authing_requests == 2  # one refresh for the whole crowd; it brought it back
    # Nobody resent the rejected token; callers that came after the refresh failed at once.
    sent = world.wechat.request_count()
    assert 1 <= sent <= CROWD

    # Until the backoff ends, calls fail at once: neither Authing nor WeChat is asked.
    for _ in range(10):
        with pytest.raises(WechatTokenRejectedError) as caught:
            world.request("GET", USER_INFO, params={"openid": "o1"})
        assert caught.value.errcode is None  # the provider refused; WeChat was not called
    assert world.authing_requests == 2
    assert world.wechat.request_count() == sent

    # Asked again about once a second (a backoff from 1 s, doubling), never more.
    for _ in range(40):
        world.clock.advance(0.25)
        with pytest.raises(WechatTokenRejectedError):
            world.request("GET", USER_INFO, params={"openid": "o1"})
    assert 2 < world.authing_requests <= 2 + 10
    assert world.provider.stats().consecutive_failures == world.authing_requests - 1

    # Authing gets the latest token: after the backoff, everything flows, with no restart.
    world.wechat.rotate(APP_ID)
    world.clock.advance(30)
    assert world.request("GET", USER_INFO, params={"openid": "o1"}).json()["openid"] == "o1"
    assert world.request("GET", USER_INFO, params={"openid": "o2"}).json()["openid"] == "o2"
    assert world.provider.stats().consecutive_failures == 0
