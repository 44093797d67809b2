"""How the Redis stores bound their use of a redis-py client (a cache gives up fast): one on a
plain pool is *rebuilt* on a bounded pool of the store's own; any other is *checked*.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

__all__ = ["STORE_SOCKET_TIMEOUT", "bounded_client", "check_bounded", "redis_api",
           "tighter_timeout"]  # fmt: skip

# Seconds one socket operation (connect, or a read) of a store may wait. A store on a
# healthy Redis answers in milliseconds; a hung one should cost no more than this.
STORE_SOCKET_TIMEOUT = 0.5
_MAX_RETRIES = 1  # of a client the store cannot rebuild; each may cost another timeout
# Keys a pool keeps in ``connection_kwargs`` for its own bookkeeping (redis-py 6+); a new pool
# makes its own.
_POOL_OWNED = frozenset({"himport_registry", "maint_notifications_pool_handler",
                         "orig_host_address", "orig_socket_connect_timeout", "orig_socket_timeout",
                         "oss_cluster_maint_notifications_handler"})  # fmt: skip


def redis_api(*, asyncio: bool) -> SimpleNamespace:
    """redis-py's ``Redis``, ``RedisCluster``, the two plain pools and a ``Retry`` that never
    retries (a retry costs another timeout on a hung server), sync or asyncio; or an
    ``ImportError`` naming the extra."""
    try:
        from redis.backoff import NoBackoff  # noqa: PLC0415 - the extra, when a store is made
    except ImportError as exc:
        raise ImportError(
            'the token store on Redis needs redis-py: pip install ".[redis]" from a checkout'
        ) from exc

    if asyncio:
        import redis.asyncio  # noqa: PLC0415
        import redis.asyncio.cluster  # noqa: PLC0415
        from redis.asyncio.retry import Retry as AsyncRetry  # noqa: PLC0415

        return SimpleNamespace(Redis=redis.asyncio.Redis, retry=AsyncRetry(NoBackoff(), 0),
                               RedisCluster=redis.asyncio.cluster.RedisCluster,
                               pools=(redis.asyncio.ConnectionPool,
                                      redis.asyncio.BlockingConnectionPool))  # fmt: skip
    import redis  # noqa: PLC0415
    import redis.cluster  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    return SimpleNamespace(Redis=redis.Redis, retry=Retry(NoBackoff(), 0),
                           RedisCluster=redis.cluster.RedisCluster,
                           pools=(redis.ConnectionPool, redis.BlockingConnectionPool))  # fmt: skip


def tighter_timeout(value: Any) -> float:
    """The store's bound, or the client's own timeout when that is shorter."""
    if isinstance(value, int | float) and 0 < value < STORE_SOCKET_TIMEOUT:
        return float(value)
    return STORE_SOCKET_TIMEOUT


def check_bounded(kind: str, connection_kwargs: dict[str, Any], retry: Any) -> None:
    """Refuse (``ValueError``, naming the settings to add) a client the store cannot rebuild
    (``kind``) unless its timeouts are at most ``STORE_SOCKET_TIMEOUT`` and it retries once."""
    bound = STORE_SOCKET_TIMEOUT
    socket_timeout = connection_kwargs.get("socket_timeout")
    connect_timeout = connection_kwargs.get("socket_connect_timeout") or socket_timeout
    missing = [f"{name}={bound}"
               for name, value in (("socket_timeout", socket_timeout),
                                   ("socket_connect_timeout", connect_timeout))
               if not isinstance(value, int | float) or not 0 < value <= bound]  # fmt: skip
    if retry is not None:
        retries = int(retry.get_retries())
    else:  # a connection without a Retry retries once when told which errors to retry on
        retries = int(bool(connection_kwargs.get("retry_on_error")
                           or connection_kwargs.get("retry_on_timeout")))  # fmt: skip
    if not 0 <= retries <= _MAX_RETRIES:
        missing.append("retry=Retry(NoBackoff(), 0)")
    if missing:
        raise ValueError(
            f"a token store bounds its use of Redis (a hung Redis must not stall get()), and "
            f"cannot rebuild a {kind}: give the client {', '.join(missing)} (it has "
            f"socket_timeout={socket_timeout}, socket_connect_timeout={connect_timeout}, "
            f"{retries} retries), or make the store with from_url(url, cluster=True)"
        )


def bounded_client(client: Any, *, asyncio: bool) -> Any:
    """``client`` itself once checked (``check_bounded``), or one on a bounded pool of ours."""
    api = redis_api(asyncio=asyncio)
    if isinstance(client, api.RedisCluster):
        check_bounded(type(client).__name__, client.get_connection_kwargs(), client.retry)
        return client
    pool = client.connection_pool
    settings = pool.connection_kwargs
    if type(pool) not in api.pools:
        check_bounded(type(pool).__name__, settings, settings.get("retry"))
        return client
    kwargs = {key: value for key, value in settings.items() if key not in _POOL_OWNED}
    kwargs["socket_timeout"] = tighter_timeout(kwargs.get("socket_timeout"))
    # A connect timeout of None means "the socket timeout" to redis-py.
    kwargs["socket_connect_timeout"] = tighter_timeout(
        kwargs.get("socket_connect_timeout") or kwargs.get("socket_timeout")
    )
    # No retry_on_error or retry_on_timeout: both would add errors to the retry's.
    kwargs.update(retry=api.retry, retry_on_error=[])
    kwargs.pop("retry_on_timeout", None)
    # A plain pool even for a blocking one: a store with every connection busy should fail
    # at once (MaxConnectionsError), not wait for one.
    own = api.pools[0](connection_class=pool.connection_class,
                       max_connections=pool.max_connections, **kwargs)  # fmt: skip
    return api.Redis.from_pool(own)
