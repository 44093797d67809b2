"""``RedisTokenStore`` and ``AsyncRedisTokenStore`` against a real Redis server on loopback:
the atomic write-if-newer and delete-if-same scripts, the lock, and the optional extra."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest
import redis
import redis.asyncio
from authing_wechat import (
    AsyncRedisTokenStore,
    RedisTokenStore,
    StoredToken,
    TokenStore,
    WechatTokenClient,
)
from authing_wechat._core._secret import Secret
from authing_wechat._provider._store import store_key
from authing_wechat.testing import run_mock_server
from authing_wechat.testing._redis_server import RedisServer, find_redis_server, run_redis_server

from tests._support import APP_HOST, SECRET, envelope

pytestmark = pytest.mark.skipif(find_redis_server() is None, reason="no redis-server binary")


def _token(name: str, expires_at: float, requested_at: float) -> StoredToken:
    return StoredToken(access_token=name, expires_at=expires_at, requested_at=requested_at)


def test_save_writes_only_a_newer_token_and_the_entry_expires_with_it(
    redis_client: redis.Redis,
) -> None:
    store = RedisTokenStore(redis_client, prefix="t")
    assert isinstance(store, TokenStore)
    assert store.load("k") is None
    first = _token("a", expires_at=10_000.5, requested_at=2_800.25)
    assert store.save("k", first)
    assert store.load("k") == first
    assert 0 < redis_client.pttl("t:k") <= 7_200_250
    assert not store.save("k", _token("older", 9_000, 2_900))  # expires sooner
    assert not store.save("k", _token("same", 10_000.5, 2_700))  # asked for earlier
    assert store.load("k") == first
    later = _token("a", 10_000.5, 2_900)  # the same token, asked for again later
    assert store.save("k", later)
    assert store.load("k") == later
    assert not store.save("k", _token("dead", 5, 5))  # no time left: never written


def test_discard_deletes_only_the_token_reported(redis_client: redis.Redis) -> None:
    store = RedisTokenStore(redis_client, prefix="t")
    store.save("k", _token("current", 10_000, 5_000))
    assert not store.discard("k", "older")
    assert store.load("k") is not None
    assert store.discard("k", "current")
    assert store.load("k") is None
    assert not store.discard("k", "current")


def test_an_unreadable_entry_is_a_miss_and_is_replaced(redis_client: redis.Redis) -> None:
    store = RedisTokenStore(redis_client, prefix="t")
    redis_client.set("t:k", b"not json")
    assert store.load("k") is None
    assert store.save("k", _token("a", 10_000, 5_000))
    assert store.load("k") is not None


def test_the_lock_is_exclusive_and_an_expired_holder_cannot_release_the_next_one(
    redis_client: redis.Redis,
) -> None:
    store = RedisTokenStore(redis_client, prefix="t", lock_timeout=30)
    held = store.try_lock("k")
    assert held is not None
    assert store.try_lock("k") is None
    assert 0 < redis_client.pttl("t:k:lock") <= 30_000
    redis_client.delete("t:k:lock")  # as if it had expired
    successor = store.try_lock("k")
    assert successor is not None
    held.release()  # compare-and-delete: not its lock any more
    assert redis_client.exists("t:k:lock")
    successor.release()
    assert not redis_client.exists("t:k:lock")


def test_the_async_store_follows_the_same_rules(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        connection = redis.asyncio.Redis.from_url(redis_server.url)
        await connection.flushall()
        store = AsyncRedisTokenStore(connection, prefix="t")
        assert await store.save("k", _token("a", 10_000, 5_000))
        assert not await store.save("k", _token("b", 9_000, 5_000))
        assert (await store.load("k")) == _token("a", 10_000, 5_000)
        held = await store.try_lock("k")
        assert held is not None
        assert await store.try_lock("k") is None
        await held.release()
        assert not await store.discard("k", "b")
        assert await store.discard("k", "a")
        await connection.aclose()

    asyncio.run(scenario())


def test_two_providers_share_one_token_and_no_secret_reaches_redis(
    redis_client: redis.Redis,
) -> None:
    with run_mock_server() as handle:
        store = RedisTokenStore(redis_client)
        first = WechatTokenClient(handle.url, "authing-app")
        second = WechatTokenClient(handle.url, "authing-app")
        one = first.token_provider(app_id="wx1", app_secret=SECRET, store=store)
        two = second.token_provider(app_id="wx1", app_secret=SECRET, store=store)
        assert one.get().access_token == two.get().access_token
        assert handle.server.request_count() == 1
        other_secret = second.token_provider(app_id="wx2", app_secret="another", store=store)
        other_secret.get()
        first.close()
        second.close()
    keys = [str(key) for key in redis_client.keys("*")]
    assert len(keys) == 2
    dump = " ".join(keys + [str(redis_client.get(key)) for key in keys])
    assert SECRET not in dump
    assert "authing-wechat:token:127.0.0.1:authing-app:wx1:" in dump


def test_the_store_key_names_the_app_and_fingerprints_the_secret() -> None:
    def key(secret: str, host: str = "a.authing.cn") -> str:
        return store_key(host=host, authing_app_id="app", app_id="wx:1", app_secret=Secret(secret))

    assert key(SECRET).startswith("token:a.authing.cn:app:wx%3A1:")
    assert key(SECRET) == key(SECRET)
    assert key(SECRET) != key(SECRET + "x")
    assert key(SECRET) != key(SECRET, host="b.authing.cn")
    assert SECRET not in key(SECRET)


def test_a_redis_that_is_down_costs_one_warning_and_no_failed_get(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with run_redis_server() as doomed:
        dead = redis.Redis.from_url(doomed.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    with run_mock_server() as handle, WechatTokenClient(handle.url, "a") as api:
        provider = api.token_provider(app_id="wx1", app_secret=SECRET, store=RedisTokenStore(dead))
        provider.get()
        for _ in range(3):
            provider.invalidate()
            provider.get()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "token store failed" in warnings[0].getMessage()
    assert provider.stats().store_errors == 1


def test_the_package_never_imports_redis_and_the_store_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import authing_wechat\n"
        "try:\n"
        "    authing_wechat.RedisTokenStore(object())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert 'pip install ".[redis]" from a checkout' in out.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, authing_wechat; print('redis' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert imported.stdout.strip() == "False"


def test_a_token_adopted_from_redis_has_the_answers_data(redis_client: redis.Redis) -> None:
    data = {"accessToken": "tok-from-authing", "expiresAt": str(int(time.time()) + 7200)}
    data["scope"] = "snsapi_base"  # a field the spec does not declare (yet)
    answer = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope(data=data)))
    refusing = httpx.MockTransport(lambda request: httpx.Response(503))
    store = RedisTokenStore(redis_client)
    first = WechatTokenClient(APP_HOST, "authing-app", http_client=httpx.Client(transport=answer))
    second = WechatTokenClient(
        APP_HOST, "authing-app", http_client=httpx.Client(transport=refusing)
    )
    fetched = first.token_provider(app_id="wx1", app_secret=SECRET, store=store).get()
    adopted = second.token_provider(app_id="wx1", app_secret=SECRET, store=store).get()
    first.close()
    second.close()
    assert adopted.attempts == 0  # from the store: Authing (refusing here) was not asked
    assert adopted.data == fetched.data
    assert adopted.data.to_dict() == data


def test_an_entry_written_without_data_still_loads(redis_client: redis.Redis) -> None:
    store = RedisTokenStore(redis_client, prefix="t")
    entry = {"access_token": "tok-old", "expires_at": 10_000.0, "requested_at": 2_800.0}
    redis_client.set("t:k", json.dumps(entry))  # as an earlier version wrote it
    loaded = store.load("k")
    assert loaded is not None
    assert loaded.data is None
    assert loaded.to_token().data.to_dict() == {"accessToken": "tok-old", "expiresAt": "10000"}
