"""schemathesis as users run it: the README's commands, with nothing but ``schemathesis.toml``.

``authing-wechat mock-server --cloud CLOUD --port PORT`` runs, then
``schemathesis run openapi/clouds/CLOUD.yaml --url http://127.0.0.1:PORT`` from the repository
root must pass: the per-cloud contract says which app-id header is required, the toml bounds and
derandomizes the run and loads the hooks. A run against the other cloud's mock must fail, or
these passes would prove nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract._processes import REPO, free_port, running_process

BIN = Path(sys.executable).parent


def _schemathesis_run(
    contract_cloud: str, mock_cloud: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    port = free_port()
    mock = [str(BIN / "authing-wechat"), "mock-server", "--cloud", mock_cloud, "--port", str(port)]
    # The environment as a user's shell has it, minus settings that would bypass the toml.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMATHESIS_", "HYPOTHESIS"))}
    with running_process(mock, ready_line="mock server listening on"):
        command = [str(BIN / "schemathesis"), "run", f"openapi/clouds/{contract_cloud}.yaml"]
        command += ["--url", f"http://127.0.0.1:{port}", *flags]
        return subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
        )


@pytest.mark.parametrize("cloud", ["authing", "genauth"])
def test_schemathesis_run_passes_against_the_mock_with_no_flag(cloud: str) -> None:
    result = _schemathesis_run(cloud, cloud)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts is not None, result.stdout[-2000:]
    assert int(counts[1]) == int(counts[2]) > 50
    assert "Schema validation skipped" not in result.stdout  # the hooks read HTML pages
    assert "not used in the deterministic mode" in result.stdout


def test_schemathesis_run_fails_against_the_other_clouds_mock() -> None:
    # Requests that carry x-authing-app-id are refused by a GenAuth-only mock: the spec's own
    # examples, sent first, show it.
    result = _schemathesis_run("authing", "genauth", "--phases", "examples", "--max-failures", "1")
    assert result.returncode == 1, result.stdout[-4000:]
    assert "Valid data should have been accepted" in result.stdout
