"""Servers the contract tests start as processes (Prism, the mock server's CLI): started on a free
loopback port, awaited until they say they listen, and stopped by PID."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest

__all__ = ["free_port", "running_process"]

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pump(stream: IO[str], log: list[str], ready_line: str, ready: threading.Event) -> None:
    # Drains the output (a full pipe would stall the process) and spots the line that says it
    # listens.
    for line in stream:
        log.append(line.rstrip())
        if ready_line in line:
            ready.set()
    ready.set()  # EOF: the process exited; the caller finds out from its return code.


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running_process(
    command: Sequence[str], *, ready_line: str, timeout: float = 60.0
) -> Iterator[list[str]]:
    """Run ``command`` from the repository root until the block ends; yield its output lines.

    Fails the test (with the output so far) unless the process prints ``ready_line`` within
    ``timeout`` seconds and is still running.
    """
    process = subprocess.Popen(
        list(command),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    log: list[str] = []
    ready = threading.Event()
    assert process.stdout is not None
    pump = threading.Thread(
        target=_pump, args=(process.stdout, log, ready_line, ready), daemon=True
    )
    pump.start()
    try:
        if not ready.wait(timeout) or process.poll() is not None:
            pytest.fail(
                f"{Path(command[0]).name} did not start (exit code {process.poll()}):\n"
                + "\n".join(log)
            )
        yield log
    finally:
        _stop(process)
        pump.join(timeout=10)
        process.stdout.close()
