"""The stable_token fallback in a fleet of real processes on one real Redis: one stable_token
request per refresh for the whole fleet (one lock, one save), and one way back to Authing."""

from __future__ import annotations

import json

import pytest
import redis
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeWechatServer,
    Fault,
    MockAuthingServer,
    run_fake_wechat_server,
    run_mock_server,
)
from authing_wechat.testing._redis_server import RedisServer, find_redis_server

from tests.fleet.test_fleet import fleet, on_all, shared_entry

STABLE = "/cgi-bin/stable_token"

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")


@pytest.mark.parametrize("async_workers", [0, 3])
def test_a_fleet_shares_one_fallback_token_and_goes_back_to_authing_once(
    redis_server: RedisServer, redis_client: redis.Redis, async_workers: int
) -> None:
    mock = MockAuthingServer()
    wechat = FakeWechatServer(mock)
    mock.add_fault(SUCCESSOR_PATH, Fault.status(503), times=None)  # Authing is down
    with (
        run_mock_server(mock) as authing,
        run_fake_wechat_server(wechat) as wx,
        fleet(
            3,
            async_workers=async_workers,
            mock_url=authing.url,
            redis_url=redis_server.url,
            wechat_url=wx.url,
            min_refresh_interval=0.0,
        ) as workers,
    ):
        answers = on_all(workers, "get", callers=10)
        assert all(a["errors"] == [] and a["served"] == 10 for a in answers)
        tokens = {token for a in answers for token in a["tokens"]}
        assert tokens == {wechat.stable_token("wx-fleet")}
        assert wechat.request_count(STABLE) == 1  # one lock, one save, for the fleet
        assert mock.request_count(SUCCESSOR_PATH) == 1  # Authing was asked first, once
        (body,) = [json.loads(r.body) for r in wechat.requests if r.path == STABLE]
        assert set(body) == {"grant_type", "appid", "secret"}  # never force_refresh
        assert wechat.request_count("/cgi-bin/token") == 0
        entry = shared_entry(redis_client)
        assert entry is not None
        assert entry.fallback
        assert sum(w.call("stats")["fallback_tokens"] for w in workers) == 1

        mock.clear_faults()  # Authing is back
        on_all(workers, "get", callers=1)  # a fallback token is STALE: refreshes start
        on_all(workers, "settle")
        after = on_all(workers, "get", callers=1)
        authing_token = mock.served_token("wx-fleet")
        assert all(a["tokens"] == [authing_token] for a in after)
        entry = shared_entry(redis_client)
        assert entry is not None
        assert not entry.fallback
        assert entry.access_token == authing_token
        assert mock.request_count(SUCCESSOR_PATH) == 2  # one process asked; the others adopted
        assert wechat.request_count(STABLE) == 1
