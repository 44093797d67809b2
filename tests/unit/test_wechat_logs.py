"""No whole access token in any log record of httpx, httpcore or authing_wechat, nor in an
error's message or repr, while WeChat calls carry the token in their URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from authing_wechat import WechatTokenRejectedError
from authing_wechat.testing import run_fake_wechat_server

from tests._wechat_support import APP_ID, WechatWorld

LOGGERS = ("httpx", "httpcore", "authing_wechat")


@pytest.fixture(params=["sync", "async"])
def world(request: pytest.FixtureRequest) -> Iterator[WechatWorld]:
    made = WechatWorld(request.param)
    yield made
    made.close()


def _issued(world: WechatWorld) -> list[str]:
    tokens = [f"mock-access-token-{n}" for n in range(1, world.authing.tokens_issued + 1)]
    assert all(world.authing.issued_token(token) is not None for token in tokens)
    return tokens


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
def test_tokens_stay_out_of_every_log_record_over_loopback(
    world: WechatWorld, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    for name in LOGGERS:
        caplog.set_level(level, logger=name)
    with run_fake_wechat_server(world.wechat) as handle:
        client_class = httpx.Client if world.runner is None else httpx.AsyncClient
        world.wx = client_class(base_url=handle.url, auth=world.auth)
        world.token()
        world.wechat.rotate(APP_ID)  # a rejection, a refresh and a resend: every log line
        world.request("GET", "/cgi-bin/user/info", params={"openid": "o1"})
        world.wechat.fetch_elsewhere(APP_ID)
        with pytest.raises(WechatTokenRejectedError) as caught:
            world.request("GET", "/cgi-bin/user/info", params={"openid": "o1"})
        world.run(world.wx.aclose() if world.runner is not None else world.wx.close())
    tokens = _issued(world)
    assert len(tokens) >= 3
    messages = [record.getMessage() for record in caplog.records]
    requests = [m for m in messages if m.startswith("HTTP Request: GET")]
    assert len(requests) == 3
    assert all("access_token=[redacted]" in m for m in requests)
    if level == logging.DEBUG:
        assert any(r.name.startswith("httpcore") for r in caplog.records)
    shown = [*messages, str(caught.value), repr(caught.value), repr(world.auth)]
    for token in tokens:
        assert not [m for m in shown if token in m], token


def test_the_filter_costs_nothing_while_the_levels_are_off(
    world: WechatWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    calls: list[logging.LogRecord] = []

    class Spy(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            calls.append(record)
            return True

    spy = Spy()
    httpx_logger = logging.getLogger("httpx")
    httpx_logger.addFilter(spy)
    try:
        world.request("GET", "/cgi-bin/get_api_domain_ip")
    finally:
        httpx_logger.removeFilter(spy)
    assert calls == []  # no record was even made, so no filter ran
