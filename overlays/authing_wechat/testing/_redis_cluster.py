"""A throwaway Redis Cluster on loopback: a few masters, every slot assigned, for tests.

Each master is a ``run_redis_server`` started with ``--cluster-enabled yes`` (so on a free
127.0.0.1 port, persistence off, stopped by its PID); the slots are split evenly between them
(``CLUSTER ADDSLOTSRANGE``, or ``ADDSLOTS`` on servers older than Redis 7), the nodes meet
(``CLUSTER MEET``), and the cluster is handed out once every node says ``cluster_state:ok``.
It works with ``redis-server`` and ``valkey-server`` binaries alike: both speak the same
cluster commands. It needs redis-py (the ``redis`` extra) to send them.

Use it from a session fixture: a cluster takes about a second to form::

    @pytest.fixture(scope="session")
    def redis_cluster():
        with run_redis_cluster() as cluster:
            yield cluster

    def test_store(redis_cluster):
        client = redis.cluster.RedisCluster.from_url(redis_cluster.url)
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import attrs

from ._redis_server import RedisServer, find_redis_server, run_redis_server

__all__ = ["SLOTS", "RedisClusterServers", "run_redis_cluster"]

SLOTS = 16384  # hash slots of every Redis Cluster
_BUS_OFFSET = 10000  # a node's cluster bus listens on its port + 10000
_MAX_PORT = 65535


@attrs.frozen
class RedisClusterServers:
    """A running cluster: its masters, in slot order (the first owns slot 0).

    Attributes:
        masters: The master servers; ``masters[i].paused()`` freezes one,
            ``masters[i].kill()`` crashes one.
    """

    masters: tuple[RedisServer, ...]

    @property
    def url(self) -> str:
        """A startup node's URL, for ``RedisCluster.from_url``: the client finds the rest."""
        return f"redis://127.0.0.1:{self.masters[0].port}"

    @property
    def ports(self) -> tuple[int, ...]:
        """The masters' ports, in slot order."""
        return tuple(server.port for server in self.masters)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze every master (SIGSTOP) for the block, as a hung cluster; resumed on exit."""
        with contextlib.ExitStack() as stack:
            for server in self.masters:
                stack.enter_context(server.paused())
            yield

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot (``CLUSTER KEYSLOT``)."""
        slot = int(_command(self.masters[0], "CLUSTER", "KEYSLOT", key))
        count = len(self.masters)
        return next(port for index, port in enumerate(self.ports)
                    if slot < (index + 1) * SLOTS // count)  # fmt: skip


def _command(server: RedisServer, *args: Any) -> Any:
    """Send one command to one node (redis-py, on a connection of its own)."""
    import redis  # noqa: PLC0415 - the optional extra, needed only to form a cluster

    node = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    try:
        return node.execute_command(*args)  # type: ignore[no-untyped-call]
    finally:
        node.close()


def _assign_slots(server: RedisServer, first: int, last: int) -> None:
    import redis  # noqa: PLC0415 - see _command

    try:
        _command(server, "CLUSTER", "ADDSLOTSRANGE", first, last)
    except redis.ResponseError:  # Redis 6: one slot per argument
        _command(server, "CLUSTER", "ADDSLOTS", *range(first, last + 1))


def _formed(servers: tuple[RedisServer, ...]) -> bool:
    """Whether every node knows every other and serves every slot."""
    for server in servers:
        info = _command(server, "CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
        if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(
            len(servers)
        ):
            return False
    return True


def _cluster_port() -> int:
    """A free port whose cluster bus port (``port + 10000``, the only one Redis 6 knows) is
    free too."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
            if port + _BUS_OFFSET > _MAX_PORT:
                continue
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + _BUS_OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


def _cluster_args(configs: str, index: int) -> list[str]:
    # The config file is the server's own (its node id, what it knows of the others): one
    # per node, in a directory removed with the cluster, never reused.
    config = os.path.join(configs, f"nodes-{index}.conf")
    return ["--cluster-enabled", "yes", "--cluster-config-file", config]


@contextlib.contextmanager
def run_redis_cluster(
    binary: str | None = None, *, masters: int = 3, start_timeout: float = 20.0
) -> Iterator[RedisClusterServers]:
    """Start a Redis Cluster of ``masters`` masters (no replicas) on free loopback ports.

    Args:
        binary: A ``redis-server`` or ``valkey-server`` binary; ``find_redis_server()``
            when ``None``.
        masters: How many masters share the slots (at least 1).
        start_timeout: Seconds to wait for ``cluster_state:ok`` on every node.

    Yields:
        The running cluster; every server is stopped by its PID on exit.

    Raises:
        FileNotFoundError: No binary was given or found.
        RuntimeError: A server did not start, or the cluster did not form in time.
        ValueError: ``masters`` is below 1.
    """
    if masters < 1:
        raise ValueError("a cluster needs at least one master")
    path = binary or find_redis_server()
    if path is None:
        raise FileNotFoundError("no redis-server binary: install the dev extra")
    with (
        tempfile.TemporaryDirectory(prefix="authing-wechat-cluster-") as configs,
        contextlib.ExitStack() as stack,
    ):
        servers = tuple(
            stack.enter_context(
                run_redis_server(
                    path, port=_cluster_port(), extra_args=_cluster_args(configs, index)
                )
            )
            for index in range(masters)
        )
        for index, server in enumerate(servers):
            _assign_slots(server, index * SLOTS // masters, (index + 1) * SLOTS // masters - 1)
        for server in servers[1:]:
            _command(servers[0], "CLUSTER", "MEET", "127.0.0.1", server.port)
        deadline = time.monotonic() + start_timeout
        while not _formed(servers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster on ports {[s.port for s in servers]} did not form")
            time.sleep(0.05)
        yield RedisClusterServers(masters=servers)
