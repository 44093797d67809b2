"""One process of a fleet, driven by the fleet tests over a pipe (``serve``).

The tests start workers from a forkserver that has imported this module (and so httpx, redis
and authing_wechat) once: each worker is a fresh process that costs a fork, not an interpreter
start. A worker builds one client and one provider on a ``RedisTokenStore``
(``AsyncRedisTokenStore`` with ``"async": True``; on a Redis Cluster with
``"cluster": True``), sends ``"ready"``, then answers each command
(a dict) with a dict:

- ``{"op": "get", "callers": N}``: N threads (or tasks) call ``get()`` at once; the tokens
  they got and the errors they raised.
- ``{"op": "invalidate"}``: ``invalidate()`` the last token this process got.
- ``{"op": "settle"}``: wait for the refresh in flight, if any.
- ``{"op": "stats"}``: the provider's stats and how many warnings it logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from typing import Any

import redis
import redis.asyncio
from authing_wechat import (
    AsyncRedisTokenStore,
    AsyncWechatTokenClient,
    AuthingError,
    RedisTokenStore,
    StableTokenFallback,
    WechatAccessToken,
    WechatTokenClient,
)

APP_ID, SECRET, AUTHING_APP_ID = "wx-fleet", "fleet-secret", "authing-app"


class _WarningCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class Worker:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.warnings = _WarningCounter()
        logging.getLogger("authing_wechat").addHandler(self.warnings)
        self.last: WechatAccessToken | None = None
        self.is_async = bool(settings.get("async"))
        timing: dict[str, Any] = {
            name: settings[name]
            for name in ("refresh_margin", "mandatory_margin", "min_refresh_interval")
            if name in settings
        }
        redis_options: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        lock_timeout = settings.get("lock_timeout", 15.0)
        # With "wechat_url": a StableTokenFallback to it, and one attempt per call to Authing.
        if "wechat_url" in settings:
            timing["fallback"] = StableTokenFallback(base_url=settings["wechat_url"])
        options: dict[str, Any] = {"retry": None} if "wechat_url" in settings else {}
        if self.is_async:
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, daemon=True).start()

            async def build() -> Any:
                if settings.get("cluster"):
                    store = AsyncRedisTokenStore.from_url(
                        settings["redis_url"], cluster=True, lock_timeout=lock_timeout
                    )
                else:
                    connection = redis.asyncio.Redis.from_url(
                        settings["redis_url"], **redis_options
                    )
                    store = AsyncRedisTokenStore(connection, lock_timeout=lock_timeout)
                client = AsyncWechatTokenClient(settings["mock_url"], AUTHING_APP_ID, **options)
                return client.token_provider(app_id=APP_ID, app_secret=SECRET, store=store,
                                             **timing)  # fmt: skip

            self.provider = self._in_loop(build())
        else:
            if settings.get("cluster"):
                sync_store = RedisTokenStore.from_url(
                    settings["redis_url"], cluster=True, lock_timeout=lock_timeout
                )
            else:
                connection = redis.Redis.from_url(settings["redis_url"], **redis_options)
                sync_store = RedisTokenStore(connection, lock_timeout=lock_timeout)
            client = WechatTokenClient(settings["mock_url"], AUTHING_APP_ID, **options)
            self.provider = client.token_provider(
                app_id=APP_ID, app_secret=SECRET, store=sync_store, **timing
            )

    def _in_loop(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def get(self, callers: int) -> dict[str, Any]:
        tokens: list[str] = []
        errors: list[str] = []

        def record(token: WechatAccessToken | BaseException) -> None:
            if isinstance(token, WechatAccessToken):
                self.last = token
                tokens.append(token.access_token)
            else:
                errors.append(f"{type(token).__name__}: {token}")

        if self.is_async:

            async def together() -> list[Any]:
                calls = (self.provider.get() for _ in range(callers))
                return await asyncio.gather(*calls, return_exceptions=True)

            for outcome in self._in_loop(together()):
                record(outcome)
        else:
            start = threading.Barrier(callers)

            def call() -> None:
                start.wait(30)
                try:
                    record(self.provider.get())
                except AuthingError as error:
                    record(error)

            threads = [threading.Thread(target=call) for _ in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        return {"tokens": sorted(set(tokens)), "served": len(tokens), "errors": errors}

    def invalidate(self) -> dict[str, Any]:
        if self.is_async:

            async def in_loop() -> None:
                self.provider.invalidate(self.last)

            self._in_loop(in_loop())
        else:
            self.provider.invalidate(self.last)
        return {}

    def settle(self) -> dict[str, Any]:
        flight = self.provider._rule.in_flight()
        if flight is not None:
            if self.is_async:
                self._in_loop(asyncio.wait_for(flight.signal.wait(), 30))
            else:
                flight.signal.wait(30)
        return {}

    def stats(self) -> dict[str, Any]:
        stats = self.provider.stats()
        return {
            "background": [stats.background.upstream, stats.background.store,
                           stats.background.failed],
            "blocking": [stats.blocking.upstream, stats.blocking.store, stats.blocking.failed],
            "store_errors": stats.store_errors,
            "fallback_tokens": stats.fallback_tokens,
            "warnings": self.warnings.count,
        }  # fmt: skip


def serve(settings: dict[str, Any], connection: Connection) -> None:
    """Run one worker until its pipe closes or it is killed."""
    worker = Worker(settings)
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "get": worker.get,
        "invalidate": worker.invalidate,
        "settle": worker.settle,
        "stats": worker.stats,
    }
    connection.send("ready")
    while True:
        try:
            command = connection.recv()
        except EOFError:
            return
        connection.send(commands[command.pop("op")](**command))
