"""How the Redis stores bound their own use of a redis-py client.

A store step that waits on a hung Redis stalls the ``get()`` that runs it, and redis-py's
defaults wait long: 5 s per socket operation (redis-py 6+; none at all before), and up to ten
retries of a timeout with backoff (``Redis(...)`` without a ``retry``; a ``RedisCluster``
retries ten times and rediscovers the cluster after each). A store is a cache: giving up fast
and asking Authing is always the better answer. So:

- a client on a plain connection pool (``Redis(...)``, ``Redis.from_url(...)``, their asyncio
  twins, with or without ``BlockingConnectionPool``) is *rebuilt*: the store uses a pool of its
  own, made from the client's connection settings (address, credentials, TLS, database,
  protocol, health checks) with its own bounds: socket and connect timeouts of at most
  ``STORE_SOCKET_TIMEOUT``, and no retry (redis-py's pool already replaces an idle
  connection the server dropped). The caller's client is read, never changed.
- any other client (``RedisCluster``, a Sentinel pool, a pool subclass) cannot be rebuilt
  from public API alone (a cluster client also connects when made), so it is *checked*:
  timeouts of at most ``STORE_SOCKET_TIMEOUT`` and at most one retry, or a ``ValueError``
  that names the settings to add.

One step then costs at most one socket timeout on a hung server (two for a checked client
with one retry; a cluster client also asks the other nodes for the layout, one timeout each
if every node hangs); a failed step makes the provider skip the store for a while, so a cold
``get()`` pays it once.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "STORE_SOCKET_TIMEOUT",
    "abounded_client",
    "bounded_client",
    "bounded_connection_kwargs",
    "check_bounded",
    "tighter_timeout",
]

# Seconds one socket operation (connect, or a read) of a store may wait. A store on a
# healthy Redis answers in milliseconds; a hung one should cost no more than this.
STORE_SOCKET_TIMEOUT = 0.5
# Retries of a client the store cannot rebuild; each may cost another timeout.
_MAX_RETRIES = 1

# Keys a pool keeps in ``connection_kwargs`` for its own bookkeeping (maintenance
# notifications, the HIMPORT registry, redis-py 6+); a new pool makes its own.
_POOL_OWNED = frozenset({
    "himport_registry",
    "maint_notifications_pool_handler",
    "orig_host_address",
    "orig_socket_connect_timeout",
    "orig_socket_timeout",
    "oss_cluster_maint_notifications_handler",
})  # fmt: skip


def tighter_timeout(value: Any) -> float:
    """The store's bound, or the client's own timeout when that is shorter."""
    if isinstance(value, int | float) and 0 < value < STORE_SOCKET_TIMEOUT:
        return float(value)
    return STORE_SOCKET_TIMEOUT


def bounded_connection_kwargs(connection_kwargs: dict[str, Any], retry: Any) -> dict[str, Any]:
    """A pool's connection settings with the store's bounds in place of its own.

    Args:
        connection_kwargs: The client's pool's ``connection_kwargs``.
        retry: The ``Retry`` every connection of the store's pool uses.
    """
    kwargs = {key: value for key, value in connection_kwargs.items() if key not in _POOL_OWNED}
    kwargs["socket_timeout"] = tighter_timeout(kwargs.get("socket_timeout"))
    # A connect timeout of None means "the socket timeout" to redis-py.
    kwargs["socket_connect_timeout"] = tighter_timeout(
        kwargs.get("socket_connect_timeout") or kwargs.get("socket_timeout")
    )
    kwargs["retry"] = retry
    # Both would add TimeoutError (or more) to the retry's errors.
    kwargs["retry_on_error"] = []
    kwargs.pop("retry_on_timeout", None)
    return kwargs


def _retries(retry: Any, connection_kwargs: dict[str, Any]) -> int:
    """How many times a failed command may be sent again (-1: forever)."""
    if retry is not None:
        return int(retry.get_retries())
    # A connection without a Retry retries once when told which errors to retry on.
    return 1 if connection_kwargs.get("retry_on_error") or connection_kwargs.get(
        "retry_on_timeout"
    ) else 0  # fmt: skip


def check_bounded(kind: str, connection_kwargs: dict[str, Any], retry: Any) -> None:
    """Refuse a client the store cannot rebuild unless it already gives up fast.

    Args:
        kind: What the client is, for the message (``"RedisCluster"``, ...).
        connection_kwargs: Its connections' settings.
        retry: Its ``Retry`` (a cluster client's own), or ``None``.

    Raises:
        ValueError: A timeout is missing or longer than ``STORE_SOCKET_TIMEOUT``, or it
            retries more than once; the message names the settings to add.
    """
    bound = STORE_SOCKET_TIMEOUT
    socket_timeout = connection_kwargs.get("socket_timeout")
    connect_timeout = connection_kwargs.get("socket_connect_timeout") or socket_timeout
    missing = [
        f"{name}={bound}"
        for name, value in (("socket_timeout", socket_timeout),
                            ("socket_connect_timeout", connect_timeout))
        if not isinstance(value, int | float) or not 0 < value <= bound
    ]  # fmt: skip
    retries = _retries(retry, connection_kwargs)
    if not 0 <= retries <= _MAX_RETRIES:
        missing.append("retry=Retry(NoBackoff(), 0)")
    if missing:
        raise ValueError(
            f"a token store bounds its use of Redis (a hung Redis must not stall get()), and "
            f"cannot rebuild a {kind}: give the client {', '.join(missing)} (it has "
            f"socket_timeout={socket_timeout}, socket_connect_timeout={connect_timeout}, "
            f"{retries} retries), or make the store with from_url(url, cluster=True)"
        )


def _bounded(
    client: Any,
    *,
    cluster: type[Any],
    pools: tuple[type[Any], type[Any]],
    redis: type[Any],
    retry: Any,
) -> Any:
    """``client`` itself once checked, or a client on a bounded pool of the store's own."""
    if isinstance(client, cluster):
        check_bounded(type(client).__name__, client.get_connection_kwargs(), client.retry)
        return client
    pool = client.connection_pool
    if type(pool) not in pools:
        check_bounded(
            type(pool).__name__, pool.connection_kwargs, pool.connection_kwargs.get("retry")
        )
        return client
    # A plain pool even for a blocking one: a store with every connection busy should fail
    # at once (MaxConnectionsError), not wait for one.
    own = pools[0](
        connection_class=pool.connection_class,
        max_connections=pool.max_connections,
        **bounded_connection_kwargs(pool.connection_kwargs, retry),
    )
    return redis.from_pool(own)


def bounded_client(client: Any) -> Any:
    """The ``redis.Redis`` (or checked client) a ``RedisTokenStore`` uses for ``client``.

    Raises:
        ValueError: See ``check_bounded``.
    """
    import redis  # noqa: PLC0415 - the optional extra, imported when a store is made
    import redis.cluster  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    return _bounded(
        client,
        cluster=redis.cluster.RedisCluster,
        pools=(redis.ConnectionPool, redis.BlockingConnectionPool),
        redis=redis.Redis,
        # One attempt: a retry would cost another timeout on a hung server.
        retry=Retry(NoBackoff(), 0),
    )


def abounded_client(client: Any) -> Any:
    """The ``redis.asyncio.Redis`` (or checked client) an ``AsyncRedisTokenStore`` uses.

    Raises:
        ValueError: See ``check_bounded``.
    """
    import redis  # noqa: PLC0415 - see bounded_client
    import redis.asyncio  # noqa: PLC0415
    import redis.asyncio.cluster  # noqa: PLC0415
    from redis.asyncio.retry import Retry  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415

    return _bounded(
        client,
        cluster=redis.asyncio.cluster.RedisCluster,
        pools=(redis.asyncio.ConnectionPool, redis.asyncio.BlockingConnectionPool),
        redis=redis.asyncio.Redis,
        retry=Retry(NoBackoff(), 0),
    )
