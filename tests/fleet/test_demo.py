"""The demo's provider scenes: a STALE refresh with every caller served at once, and the fleet."""

from __future__ import annotations

import io

import pytest
from authing_wechat._cli._demo import _fleet_scene, _Printer, _stale_scene
from authing_wechat.testing._redis_server import find_redis_server


def test_the_stale_scene_serves_every_caller_from_the_cache() -> None:
    out = io.StringIO()
    _stale_scene(_Printer(out))
    text = out.getvalue()
    assert "1000 get() calls from 20 threads while the refresh took 1 s: all got the cached" in text
    assert "background refreshes: RefreshCounts(upstream=1, store=0, failed=0, fallback=0)" in text
    assert "upstream requests in all: 2" in text


@pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")
def test_the_fleet_scene_makes_one_upstream_request() -> None:
    out = io.StringIO()
    _fleet_scene(_Printer(out), None)
    assert "4 worker processes x 20 threads started cold: 1 token, upstream requests: 1" in (
        out.getvalue()
    )
