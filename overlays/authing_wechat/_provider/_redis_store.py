"""``RedisTokenStore`` and ``AsyncRedisTokenStore``: the shared store on redis-py.

redis-py is the optional extra ``authing-wechat[redis]``; this module imports it only when a
store is made, so ``import authing_wechat`` never does. One entry per WeChat app holds JSON
(``access_token``, ``expires_at``, ``requested_at``), expiring with the token. The
write-if-newer and delete-if-same checks run as Lua scripts, atomic on the server; the refresh
lock is redis-py's ``Lock`` (SET NX PX, released by a Lua compare-and-delete).

Every script touches one key. On a Redis Cluster one app's keys (entry and lock) carry the
same hash tag (``{...}`` around the per-app part), so they share a hash slot: a later script
over both stays legal there, and the apps of a deployment spread over the masters.

A store bounds its own use of Redis (``_redis_bounds``): a hung Redis costs a step one short
socket timeout, whatever client the store was given.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from authing_wechat._core._validation import check_seconds

from ._redis_bounds import abounded_client, bounded_client, check_bounded, tighter_timeout
from ._store import StoredToken

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    import redis.asyncio.cluster
    import redis.cluster

__all__ = ["AsyncRedisTokenStore", "RedisTokenStore"]

logger = logging.getLogger("authing_wechat")

# The longest refresh of a default client (``longest_call(DEFAULT_RETRY, 10.0)``; a test keeps
# the two equal): a lock that outlives it.
DEFAULT_LOCK_TIMEOUT = 90.0

_EXTRA = 'the token store on Redis needs redis-py: pip install "authing-wechat[redis]"'

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


def _require_redis() -> None:
    try:
        import redis  # noqa: F401, PLC0415 - the optional extra, imported only when used
    except ImportError as exc:
        raise ImportError(_EXTRA) from exc


def _url_options(options: dict[str, Any]) -> dict[str, Any]:
    """``from_url``'s redis-py options with the store's timeouts (or the caller's shorter)."""
    timeouts = {name: tighter_timeout(options.get(name))
                for name in ("socket_timeout", "socket_connect_timeout")}  # fmt: skip
    return {**options, **timeouts}


def _is_cluster(client: Any) -> bool:
    import redis.asyncio.cluster  # noqa: PLC0415 - the optional extra, loaded by the store
    import redis.cluster  # noqa: PLC0415

    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


class _RedisStoreBase:
    """Key naming, encoding and the client the store uses, shared by both stores."""

    def __init__(self, client: Any, *, prefix: str, lock_timeout: float) -> None:
        self._setup(
            lambda: client, prefix=prefix, lock_timeout=lock_timeout, cluster=_is_cluster(client)
        )

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

    def _client(self) -> tuple[Any, Any, Any]:
        """The client and its two scripts, made on first use (a cluster client connects
        when made: a cluster that is down then fails a step, not the store's construction)."""
        made = self._made
        if made is None:
            with self._making:
                if self._made is None:
                    client = self._make_client()
                    # Scripts run by EVALSHA (loaded on first use), atomic on the server.
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
        ``<prefix>:{<key>}``. The braces are a hash tag: the entry and its lock
        (``entry_key(key) + ":lock"``) share a slot, so a script over both stays legal, and
        the apps of a deployment spread over the masters. A single Redis has no slots: its
        keys stay as they were."""
        return f"{self._prefix}:{{{key}}}" if self._cluster else f"{self._prefix}:{key}"

    def _lock_options(self, key: str) -> dict[str, Any]:
        # Not blocking: a process that misses the lock polls the store for the holder's token.
        # Not thread-local: a lock may be released by another thread than the one that took it.
        return {"name": f"{self.entry_key(key)}:lock", "timeout": self._lock_timeout,
                "blocking": False, "thread_local": False}  # fmt: skip

    @staticmethod
    def _decode(raw: bytes | str | None) -> StoredToken | None:
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            return StoredToken(
                access_token=str(entry["access_token"]),
                expires_at=float(entry["expires_at"]),
                requested_at=float(entry["requested_at"]),
            )
        except (ValueError, TypeError, KeyError):
            logger.debug("ignoring an unreadable token store entry")  # replaced by the next save
            return None

    @staticmethod
    def _save_args(token: StoredToken) -> list[Any] | None:
        """The Lua script's ARGV, or ``None`` for a token that had no time left."""
        # The token's lifetime by the clock of the process that asked for it: no clock skew
        # between hosts shortens or stretches the entry.
        ttl_ms = int((token.expires_at - token.requested_at) * 1000)
        if ttl_ms <= 0:
            return None
        entry = {
            "access_token": token.access_token,
            "expires_at": token.expires_at,
            "requested_at": token.requested_at,
        }
        return [json.dumps(entry), repr(token.expires_at), repr(token.requested_at), ttl_ms]


class RedisTokenStore(_RedisStoreBase):
    """A ``TokenStore`` on redis-py, shared by every process using that Redis.

    The one line most deployments need: ``RedisTokenStore.from_url("redis://host:6379/0")``.

    The store bounds its own use of Redis, so that a hung or slow Redis stalls no caller. A
    client on a plain connection pool is read, not used: the store makes a pool of its own
    from its settings (address, credentials, TLS, database), with socket and connect timeouts
    of at most 0.5 s and no retry (a retry costs another timeout on a hung server). A
    cluster client (or a Sentinel or other pool) is used as it is, and must already give up
    fast: ``socket_timeout`` and ``socket_connect_timeout`` of at most 0.5 s, at most one
    retry. A store step that errs or times out is a cache miss: the provider asks Authing.

    Args:
        client: A ``redis.Redis`` or ``redis.cluster.RedisCluster`` client.
        prefix: What every key starts with; one prefix per deployment sharing a Redis.
        lock_timeout: Seconds a refresh lock lives unless released: longer than the longest
            refresh of the clients that use the store, or two processes may ask at once (the
            client's ``token_provider()`` says so at INFO then). The default, 90 s, is that of a
            default client: 3 attempts of 10 s and two waits of up to 30 s (a server's
            ``Retry-After``). It is also the longest a crashed holder keeps other processes
            without a token at a cold start: to shorten it, bound the client's calls with
            ``RetryPolicy(deadline=...)`` and set ``lock_timeout`` just above that.

    Raises:
        ImportError: redis-py is not installed (``pip install "authing-wechat[redis]"``).
        ValueError: ``prefix`` is empty, ``lock_timeout`` is not a positive number of
            seconds, or a cluster client may wait longer than the bounds above (the message
            names the settings to add).
    """

    def __init__(
        self,
        client: redis.Redis | redis.cluster.RedisCluster,
        *,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        _require_redis()
        super().__init__(bounded_client(client), prefix=prefix, lock_timeout=lock_timeout)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        **redis_options: Any,
    ) -> Self:
        """A store on the Redis at ``url``, with the store's bounds (0.5 s timeouts).

        Nothing connects until the store is first used, so a Redis that is down when the
        process starts fails no start-up: the provider asks Authing until it is back.

        Args:
            url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS,
                ``unix://`` for a socket.
            cluster: ``True`` for a Redis Cluster (``url`` names one of its nodes): a
                ``redis.cluster.RedisCluster`` that does not retry.
            prefix: What every key starts with.
            lock_timeout: Seconds a refresh lock lives unless released.
            **redis_options: More options of redis-py's ``from_url`` (``password``,
                ``ssl_ca_certs``, ``client_name``, ...); longer timeouts are shortened.

        Raises:
            ImportError: redis-py is not installed.
            ValueError: A setting above is invalid.
        """
        _require_redis()
        import redis  # noqa: PLC0415 - the optional extra
        import redis.cluster  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        options = _url_options(redis_options)
        if not cluster:
            return cls(
                redis.Redis.from_url(url, **options), prefix=prefix, lock_timeout=lock_timeout
            )
        options.setdefault("retry", Retry(NoBackoff(), 0))
        check_bounded("RedisCluster", options, options["retry"])
        store = cls.__new__(cls)
        # A RedisCluster connects when made: made by the first step instead.
        store._setup(lambda: redis.cluster.RedisCluster.from_url(url, **options),
                     prefix=prefix, lock_timeout=lock_timeout, cluster=True)  # fmt: skip
        return store

    def close(self) -> None:
        """Close the store's own connections (a client given to it stays open: it is yours)."""
        made = self._made
        if made is not None:
            made[0].close()

    def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        client, _, _ = self._client()
        return self._decode(client.get(self.entry_key(key)))

    def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(token)
        if args is None:
            return False
        _, save, _ = self._client()
        return bool(save(keys=[self.entry_key(key)], args=args))

    def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        _, _, discard = self._client()
        return bool(discard(keys=[self.entry_key(key)], args=[access_token]))

    def try_lock(self, key: str) -> _RedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        client, _, _ = self._client()
        lock = client.lock(**self._lock_options(key))
        return _RedisLock(lock) if lock.acquire() else None


class _RedisLock:
    """A held redis-py ``Lock``; releasing one that expired meanwhile is not an error."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def release(self) -> None:
        """Release the lock if this holder still owns it."""
        from redis.exceptions import LockNotOwnedError  # noqa: PLC0415 - optional extra

        try:
            self._lock.release()
        except LockNotOwnedError:  # it expired; another process may hold it now
            logger.debug("the refresh lock expired before its holder released it")


class AsyncRedisTokenStore(_RedisStoreBase):
    """An ``AsyncTokenStore`` on redis-py's asyncio client; see ``RedisTokenStore``.

    The one line: ``AsyncRedisTokenStore.from_url("redis://host:6379/0")``. The store bounds
    its use of Redis as ``RedisTokenStore`` does.

    Args:
        client: A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client,
            used on the event loop of the provider.
        prefix: What every key starts with.
        lock_timeout: Seconds a refresh lock lives unless released; see ``RedisTokenStore``.

    Raises:
        ImportError: redis-py is not installed (``pip install "authing-wechat[redis]"``).
        ValueError: See ``RedisTokenStore``.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster,
        *,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        _require_redis()
        super().__init__(abounded_client(client), prefix=prefix, lock_timeout=lock_timeout)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        **redis_options: Any,
    ) -> Self:
        """A store on the Redis at ``url``; see ``RedisTokenStore.from_url``.

        Raises:
            ImportError: redis-py is not installed.
            ValueError: A setting is invalid.
        """
        _require_redis()
        import redis.asyncio  # noqa: PLC0415 - the optional extra
        import redis.asyncio.cluster  # noqa: PLC0415
        from redis.asyncio.retry import Retry  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415

        options = _url_options(redis_options)
        if not cluster:
            client: Any = redis.asyncio.Redis.from_url(url, **options)
        else:
            options.setdefault("retry", Retry(NoBackoff(), 0))
            # The asyncio cluster client connects on first use, not when made.
            client = redis.asyncio.cluster.RedisCluster.from_url(url, **options)
        return cls(client, prefix=prefix, lock_timeout=lock_timeout)

    async def aclose(self) -> None:
        """Close the store's own connections (a client given to it stays open: it is yours)."""
        made = self._made
        if made is not None:
            await made[0].aclose()

    async def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        client, _, _ = self._client()
        return self._decode(await client.get(self.entry_key(key)))

    async def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(token)
        if args is None:
            return False
        _, save, _ = self._client()
        return bool(await save(keys=[self.entry_key(key)], args=args))

    async def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        _, _, discard = self._client()
        return bool(await discard(keys=[self.entry_key(key)], args=[access_token]))

    async def try_lock(self, key: str) -> _AsyncRedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        client, _, _ = self._client()
        lock = client.lock(**self._lock_options(key))
        return _AsyncRedisLock(lock) if await lock.acquire() else None


class _AsyncRedisLock:
    """A held ``redis.asyncio`` ``Lock``; see ``_RedisLock``."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock

    async def release(self) -> None:
        """Release the lock if this holder still owns it."""
        from redis.exceptions import LockNotOwnedError  # noqa: PLC0415 - optional extra

        try:
            await self._lock.release()
        except LockNotOwnedError:
            logger.debug("the refresh lock expired before its holder released it")
