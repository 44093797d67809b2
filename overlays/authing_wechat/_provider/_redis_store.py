"""``RedisTokenStore`` and ``AsyncRedisTokenStore``: the shared store on redis-py.

redis-py is the optional extra ``authing-wechat[redis]``; this module imports it only when a
store is made, so ``import authing_wechat`` never does. One entry per WeChat app holds JSON
(``access_token``, ``expires_at``, ``requested_at``), expiring with the token. The
write-if-newer and delete-if-same checks run as Lua scripts, atomic on the server; the refresh
lock is redis-py's ``Lock`` (SET NX PX, released by a Lua compare-and-delete).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from authing_wechat._core._validation import check_seconds

from ._store import StoredToken

if TYPE_CHECKING:
    import redis
    import redis.asyncio

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


class _RedisStoreBase:
    """Key naming and encoding, shared by both stores."""

    def __init__(self, client: Any, *, prefix: str, lock_timeout: float) -> None:
        _require_redis()
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty str")
        self._prefix = prefix
        self._lock_timeout = check_seconds("lock_timeout", lock_timeout, positive=True)
        self._redis = client
        # Scripts run by EVALSHA (loaded on first use), atomic on the server.
        self._save_script = client.register_script(_SAVE_IF_NEWER)
        self._discard_script = client.register_script(_DISCARD_IF_SAME)

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

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    def _lock_options(self, key: str) -> dict[str, Any]:
        # Not blocking: a process that misses the lock polls the store for the holder's token.
        # Not thread-local: a lock may be released by another thread than the one that took it.
        return {"name": f"{self._prefix}:{key}:lock", "timeout": self._lock_timeout,
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
    """A ``TokenStore`` on a ``redis.Redis`` client, shared by every process using that Redis.

    Give the client short socket timeouts (e.g. ``socket_timeout=0.5``,
    ``socket_connect_timeout=0.5``): a store that errs or times out is a cache miss, and the
    provider asks Authing itself.

    Args:
        client: A ``redis.Redis`` (or ``redis.RedisCluster``) client.
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
        ValueError: ``prefix`` is empty or ``lock_timeout`` is not a positive number of
            seconds.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        super().__init__(client, prefix=prefix, lock_timeout=lock_timeout)

    def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        return self._decode(self._redis.get(self._entry_key(key)))

    def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(token)
        if args is None:
            return False
        return bool(self._save_script(keys=[self._entry_key(key)], args=args))

    def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        return bool(self._discard_script(keys=[self._entry_key(key)], args=[access_token]))

    def try_lock(self, key: str) -> _RedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        lock = self._redis.lock(**self._lock_options(key))
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
    """An ``AsyncTokenStore`` on a ``redis.asyncio.Redis`` client; see ``RedisTokenStore``.

    Args:
        client: A ``redis.asyncio.Redis`` client, used on the event loop of the provider.
        prefix: What every key starts with.
        lock_timeout: Seconds a refresh lock lives unless released; see ``RedisTokenStore``.

    Raises:
        ImportError: redis-py is not installed (``pip install "authing-wechat[redis]"``).
        ValueError: ``prefix`` is empty or ``lock_timeout`` is not a positive number of
            seconds.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "authing-wechat",
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        super().__init__(client, prefix=prefix, lock_timeout=lock_timeout)

    async def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""
        return self._decode(await self._redis.get(self._entry_key(key)))

    async def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` if it is newer than the entry (atomic); it expires with the token."""
        args = self._save_args(token)
        if args is None:
            return False
        return bool(await self._save_script(keys=[self._entry_key(key)], args=args))

    async def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry while it holds ``access_token`` (atomic)."""
        return bool(await self._discard_script(keys=[self._entry_key(key)], args=[access_token]))

    async def try_lock(self, key: str) -> _AsyncRedisLock | None:
        """Take the refresh lock of ``key`` if it is free (redis-py ``Lock``, not blocking)."""
        lock = self._redis.lock(**self._lock_options(key))
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
