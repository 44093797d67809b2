"""The maintainers' loop, end to end: a property added to the spec reaches the user by
regeneration alone (the generated model, typed; both clouds' contracts; ``token.data``; the
mock's answers), in a temporary copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The data schema's last property in the spec; the new one goes right after it.
LAST_DATA_PROPERTY = (
    "          description: When the access token expires, as a Unix timestamp in seconds, "
    "in a string.\n"
)
ADDED = """\
        scope:
          type: string
          description: The scopes the token was issued for.
          example: snsapi_base
"""
USER_PROGRAM = """
import json, httpx
from authing_wechat import WechatTokenClient
from authing_wechat.testing import MockAuthingServer, MockAuthingTransport

for cloud in ("authing", "genauth"):
    answers = []
    http = httpx.Client(
        transport=MockAuthingTransport(MockAuthingServer(cloud=cloud)),
        event_hooks={"response": [lambda r: (r.read(), answers.append(r.json()["data"]))]},
    )
    client = WechatTokenClient("http://mock", "app", brand=cloud, http_client=http,
                               allow_insecure_http=True)
    token = client.get_wechat_mp_access_token_info(app_id="wx", app_secret="secret-1")
    print(json.dumps({"cloud": cloud, "scope": token.data.scope,
                      "answered": answers[0]["scope"]}))
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What regeneration reads and writes, copied; node's tools linked."""
    copy = tmp_path / "repo"
    ignored = shutil.ignore_patterns("__pycache__", ".mypy_cache")
    for tree in ("openapi", "scripts", "generated", "overlays"):
        shutil.copytree(ROOT / tree, copy / tree, ignore=ignored)
    (copy / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return copy


def _run(command: list[str], copy: Path) -> str:
    paths = os.pathsep.join(str(copy / tree) for tree in ("overlays", "generated"))
    env = {**os.environ, "PYTHONPATH": paths}
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=copy, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.one_python
def test_a_property_added_to_the_spec_reaches_the_user(checkout: Path) -> None:
    spec = checkout / "openapi" / "authing-wechat.yaml"
    text = spec.read_text(encoding="utf-8")
    assert text.count(LAST_DATA_PROPERTY) == 1, "the spec's data schema moved: update the test"
    spec.write_text(text.replace(LAST_DATA_PROPERTY, LAST_DATA_PROPERTY + ADDED), "utf-8")

    _run([sys.executable, "scripts/regenerate.py"], checkout)

    model = checkout / "generated/authing_wechat_client/models/get_wechat_access_token_data_dto.py"
    assert "scope: str | Unset" in model.read_text(encoding="utf-8")
    for cloud in ("authing", "genauth"):
        contract = (checkout / "openapi" / "clouds" / f"{cloud}.yaml").read_text("utf-8")
        assert "scope:" in contract
        assert "example: snsapi_base" in contract
    answers = [json.loads(line) for line in _run([sys.executable, "-c", USER_PROGRAM], checkout)
               .splitlines()]  # fmt: skip
    assert answers == [
        {"cloud": cloud, "scope": "snsapi_base", "answered": "snsapi_base"}
        for cloud in ("authing", "genauth")
    ]
    # Typed for mypy: the generated model's field, as test_token_data shows for the others.
    assert "scope: str | Unset = UNSET" in model.read_text(encoding="utf-8")


@pytest.mark.one_python
def test_a_data_property_without_an_example_is_refused(checkout: Path) -> None:
    spec = checkout / "openapi" / "authing-wechat.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace(LAST_DATA_PROPERTY, LAST_DATA_PROPERTY + ADDED.rsplit(
        "          example", 1)[0]), "utf-8")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "scripts/regenerate.py", "--check"],
        capture_output=True, text=True, cwd=checkout, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "GetWechatAccessTokenDataDto.scope has no example" in result.stdout + result.stderr
