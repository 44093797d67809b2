"""``RedisTokenStore`` and ``AsyncRedisTokenStore`` on redis-py (the ``[redis]`` extra): one
JSON entry per WeChat app, expiring with the token; write-if-newer and delete-if-same in Lua
(one key each); the refresh lock is redis-py's ``Lock`` (SET NX PX, Lua compare-and-delete).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Self

import attrs

from authing_wechat._core._validation import check_seconds

from ._redis_bounds import bounded_client, check_bounded, redis_api, tighter_timeout
from ._store import StoredToken

__all__ = ["AsyncRedisTokenStore", "RedisTokenStore"]

logger = logging.getLogger("authing_wechat")

# Outlives the longest refresh of a default client (``longest_call(DEFAULT_RETRY, 10.0)``).
DEFAULT_LOCK_TIMEOUT = 90.0
_PREFIX = "authing-wechat"

# KEYS[1] the entry; ARGV: the new entry's JSON, expires_at, requested_at, TTL in ms.
# An unreadable entry is replaced.
_SAVE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' then
    local expires, requested = tonumber(entry['expires_at']), tonumber(entry['requested_at'])
    local new_expires, new_requested = tonumber(ARGV[2]), tonumber(ARGV[3])
    if expires and requested and (expires > new_expires
        or (expires == new_expires and requested >= new_requested)) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
"""

# KEYS[1] the entry; ARGV[1] the access token reported bad.
_DISCARD_IF_SAME = """
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
local ok, entry = pcall(cjson.decode, current)
if ok and type(entry) == 'table' and entry['access_token'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class _RedisStoreBase:
    """Both stores but their I/O: construction, key naming, encoding and the client."""

    _asyncio = False

    def __init__(
        self, client: Any, *, prefix: str = _PREFIX, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> None:
        cluster = isinstance(client, redis_api(asyncio=self._asyncio).RedisCluster)
        bounded = bounded_client(client, asyncio=self._asyncio)
        self._setup(lambda: bounded, prefix=prefix, lock_timeout=lock_timeout, cluster=cluster)

    def _setup(
        self, make_client: Callable[[], Any], *, prefix: str, lock_timeout: float, cluster: bool
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty str")
        self._prefix = prefix
        self._cluster = cluster
        self._lock_timeout = check_seconds("lock_timeout", lock_timeout, positive=True)
        self._make_client = make_client
        self._made: tuple[Any, Any, Any] | None = None
        self._making = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        prefix: str = _PREFIX,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        **redis_options: Any,
    ) -> Self:
        """A store on the Redis at ``url``, with the store's bounds (0.5 s timeouts); nothing
        connects until it is first used, so a Redis down at start-up fails no start-up.

        Args:
            url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS), ``unix://``.
            cluster: ``True`` for a Redis Cluster (``url`` names one of its nodes).
            prefix: What every key starts with.
            lock_timeout: Seconds a refresh lock lives unless released.
            **redis_options: More options of redis-py's ``from_url`` (``password``,
                ``ssl_ca_certs``, ...); longer timeouts are shortened.

        Raises:
            ImportError: redis-py is not installed; ``ValueError``: a setting above is invalid.
        """
        api = redis_api(asyncio=cls._asyncio)
        timeouts = ("socket_timeout", "socket_connect_timeout")
        options = {**redis_options, **{n: tighter_timeout(redis_options.get(n)) for n in timeouts}}
        if not cluster:
            return cls(api.Redis.from_url(url, **options), prefix=prefix, lock_timeout=lock_timeout)
        options.setdefault("retry", api.retry)
        check_bounded("RedisCluster", options, options["retry"])
        store = cls.__new__(cls)
        # A RedisCluster connects when made: made by the first step instead.
        store._setup(lambda: api.RedisCluster.from_url(url, **options),
                     prefix=prefix, lock_timeout=lock_timeout, cluster=True)  # fmt: skip
        return store

    def _client(self) -> tuple[Any, Any, Any]:
        """The client and its two scripts (run by EVALSHA), made on first use."""
        made = self._made
        if made is None:
            with self._making:
                if self._made is None:
                    client = self._make_client()
                    self._made = (client, client.register_script(_SAVE_IF_NEWER),
                                  client.register_script(_DISCARD_IF_SAME))  # fmt: skip
                made = self._made
        return made

    @property
    def client(self) -> Any:
        """The redis-py client the store sends its commands with: its own, made from the
        given client's settings, for a client on a plain pool; the given one otherwise."""
        return self._client()[0]

    @property
    def lock_timeout(self) -> float:
        """Seconds a refresh lock lives unless released (and the longest another process
        waits for the holder's token)."""
        return self._lock_timeout

    @property
    def prefix(self) -> str:
        """What every key of this store starts with."""
        return self._prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self._prefix!r}, lock_timeout={self._lock_timeout})"

    def entry_key(self, key: str) -> str:
        """The Redis key of ``key``'s entry: ``<prefix>:<key>``, and on a Redis Cluster
        ``<prefix>:{<key>}``, a hash tag: the entry and its lock (``entry_key(key) +
        ":lock"``) share a slot, and the apps of a deployment spread over the masters."""
        return f"{self._prefix}:{{{key}}}" if self._cluster else f"{self._prefix}:{key}"

    def _lock(self, key: str) -> Any:
        # Not blocking (a process that misses it polls the store); not thread-local (another
        # thread may release it).
        return self._client()[0].lock(f"{self.entry_key(key)}:lock", timeout=self._lock_timeout,
                                      blocking=False, thread_local=False)  # fmt: skip

    @staticmethod
    def _decode(raw: bytes | str | None) -> StoredToken | None:
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            data = entry.get("data")  # absent from entries written before it was kept
            return StoredToken(
                access_token=str(entry["access_token"]),
                expires_at=float(entry["expires_at"]),
                requested_at=float(entry["requested_at"]),
                data=data if isinstance(data, dict) else None,
                fallback=entry.get("fallback") is True,
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.debug("ignoring an unreadable token store entry")  # replaced by the next save
            return None

    def _save_args(self, key: str, token: StoredToken) -> dict[str, Any] | None:
        """The save script's keys and ARGV, or ``None`` for a token that had no time left."""
        # The lifetime by the asking process's clock: no skew between hosts changes it.
        ttl_ms = int((token.expires_at - token.requested_at) * 1000)
        if ttl_ms <= 0:
            return None
        entry = json.dumps(attrs.asdict(token))
        args = [entry, repr(token.expires_at), repr(token.requested_at), ttl_ms]
        return {"keys": [self.entry_key(key)], "args": args}


class RedisTokenStore(_RedisStoreBase):
    """A ``TokenStore`` on redis-py, shared by every process using that Redis; most
    deployments need one line: ``RedisTokenStore.from_url("redis://host:6379/0")``.

    A hung Redis stalls no caller: a client on a plain pool is rebuilt on a pool of the store's
    own (timeouts of at most 0.5 s, no retry); a cluster, Sentinel or other client is used as
    it is and must give up as fast. A store step that errs or times out is a cache miss.

    Args:
        client: A ``redis.Redis`` or ``redis.cluster.RedisCluster`` client.
        prefix: What every key starts with; one prefix per deployment sharing a Redis.
        lock_timeout: Seconds a refresh lock lives unless released: longer than the longest
            refresh of its clients (90 s: a default client's 3 attempts of 10 s and two waits
            of up to 30 s), or two processes may ask at once; also the longest a crashed holder
            keeps others waiting (shorten both with ``RetryPolicy(deadline=...)``).

    Raises:
        ImportError: redis-py is not installed (``pip install ".[redis]"`` from a checkout).
        ValueError: ``prefix`` is empty, ``lock_timeout`` is not a positive number, or a
            cluster client may wait longer than the bounds above (the message says what to add).
    """

    def close(self) -> None:
        """Close the store's own connections (a client given to it stays open: it is yours)."""
        if self._made is not None:
            self._made[0].close()

    def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        return self._decode(self._client()[0].get(self.entry_key(key)))

    def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(key, token)
        return args is not None and bool(self._client()[1](**args))

    def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        return bool(self._client()[2](keys=[self.entry_key(key)], args=[access_token]))

    def try_lock(self, key: str) -> _RedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        lock = self._lock(key)
        return _RedisLock(lock) if lock.acquire() else None


@attrs.frozen
class _RedisLock:
    """A held redis-py ``Lock``; releasing one that expired meanwhile is not an error."""

    _lock: Any

    def release(self) -> None:
        """Release the lock if this holder still owns it."""
        from redis.exceptions import LockNotOwnedError  # noqa: PLC0415 - optional extra

        try:
            self._lock.release()
        except LockNotOwnedError:  # it expired; another process may hold it now
            logger.debug("the refresh lock expired before its holder released it")


class AsyncRedisTokenStore(_RedisStoreBase):
    """An ``AsyncTokenStore`` on redis-py's asyncio client (a ``redis.asyncio.Redis`` or
    ``RedisCluster``, used on the provider's event loop), bounded as ``RedisTokenStore`` is,
    with the same arguments and errors: ``AsyncRedisTokenStore.from_url("redis://host/0")``.
    """

    _asyncio = True

    async def aclose(self) -> None:
        """Close the store's own connections (a client given to it stays open: it is yours)."""
        if self._made is not None:
            await self._made[0].aclose()

    async def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        return self._decode(await self._client()[0].get(self.entry_key(key)))

    async def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(key, token)
        return args is not None and bool(await self._client()[1](**args))

    async def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        return bool(await self._client()[2](keys=[self.entry_key(key)], args=[access_token]))

    async def try_lock(self, key: str) -> _AsyncRedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        lock = self._lock(key)
        return _AsyncRedisLock(lock) if await lock.acquire() else None


@attrs.frozen
class _AsyncRedisLock:
    """A held ``redis.asyncio`` ``Lock``; see ``_RedisLock``."""

    _lock: Any

    async def release(self) -> None:
        """Release the lock if this holder still owns it."""
        from redis.exceptions import LockNotOwnedError  # noqa: PLC0415 - optional extra

        try:
            await self._lock.release()
        except LockNotOwnedError:
            logger.debug("the refresh lock expired before its holder released it")
