"""The spec validates, the generated package matches it, and drift is caught."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "authing-wechat.yaml"
GENERATED = ROOT / "generated" / "authing_wechat_client"
REGENERATE = ROOT / "scripts" / "regenerate.py"
DEPRECATED_PATH = "/api/v3/get-wechat-access-token"
SUCCESSOR_PATH = "/api/v3/get-wechat-access-token-info"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def run_regenerate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REGENERATE), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(SPEC))
    validate(document)  # raises on any error


def test_spec_states_the_wire_facts(spec: dict[str, Any]) -> None:
    old = spec["paths"][DEPRECATED_PATH]["post"]
    new = spec["paths"][SUCCESSOR_PATH]["post"]
    assert old["deprecated"] is True
    assert SUCCESSOR_PATH in old["description"]
    assert "deprecated" not in new
    assert {old["operationId"], new["operationId"]} == {
        "getWechatMpAccessToken",
        "getWechatMpAccessTokenInfo",
    }
    for op in (old, new):
        assert op["tags"] == ["wechat"]
        names = {p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"]}
        assert names == {"AuthingAppId", "GenauthAppId", "AuthingLang", "GenauthLang"}
        assert {"200", "400", "401", "403", "429", "4XX", "5XX"} <= set(op["responses"])
    params = spec["components"]["parameters"]
    assert {p["name"] for p in params.values()} == {
        "x-authing-app-id",
        "x-genauth-app-id",
        "x-authing-lang",
        "x-genauth-lang",
    }
    assert all(p["in"] == "header" and p["required"] is False for p in params.values())
    assert spec["components"]["schemas"]["Lang"]["enum"] == ["zh-CN", "en-US"]
    scheme = spec["components"]["securitySchemes"]["userAccessToken"]
    assert scheme == scheme | {"type": "apiKey", "in": "header", "name": "Authorization"}
    assert {} in spec["security"]  # the user token is optional
    body = spec["components"]["schemas"]["GetWechatAccessTokenDto"]
    assert set(body["required"]) == {"appId", "appSecret"}
    assert all(body["properties"][k]["minLength"] == 1 for k in ("appId", "appSecret"))
    data = spec["components"]["schemas"]["GetWechatAccessTokenDataDto"]
    assert data["properties"]["expiresAt"]["type"] == "string"
    assert data["properties"]["expiresAt"]["pattern"] == "^[0-9]+$"
    retry_after = spec["components"]["responses"]["TooManyRequests"]["headers"]
    assert "Retry-After" in retry_after
    urls = {s["url"] for s in spec["servers"]}
    assert urls == {
        "https://{appDomain}.authing.cn",
        "https://api.genauth.ai",
        "https://{appDomain}.genauth.ai",
    }
    assert spec["info"]["license"]["identifier"] == "MIT"


def test_every_error_response_admits_a_proxys_page(spec: dict[str, Any]) -> None:
    # WAFs and gateways answer 4xx in HTML, load balancers 5xx in plain text.
    for path in (DEPRECATED_PATH, SUCCESSOR_PATH):
        for status, response in spec["paths"][path]["post"]["responses"].items():
            if status == "200":
                continue
            content = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = set(content["content"])
            expected = {"application/json", "text/html"} | (
                {"text/plain"} if status == "5XX" else set()
            )
            assert media == expected, (path, status, media)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("@1735689600", True),  # RFC 9745
        ("@-1", True),
        ("true", True),  # earlier drafts, and what Prism adds itself
        ("Wed, 01 Jan 2025 00:00:00 GMT", True),  # earlier drafts: an HTTP-date
        ("Wed, 01 Jan 2025 00:00:00 UTC", True),
        ("false", False),
        ("1735689600", False),
        ("@", False),
        ("2025-01-01", False),
        ("true; x", False),
    ],
)
def test_the_deprecation_header_admits_what_servers_send(
    spec: dict[str, Any], value: str, valid: bool
) -> None:
    header = spec["components"]["headers"]["Deprecation"]
    assert header["required"] is False
    assert bool(re.search(header["schema"]["pattern"], value)) is valid
    headers = spec["paths"][DEPRECATED_PATH]["post"]["responses"]["200"]["headers"]
    assert set(headers) == {"Deprecation", "Sunset", "Link"}
    for ref in headers.values():
        assert spec["components"]["headers"][ref["$ref"].rsplit("/", 1)[-1]]["required"] is False


@pytest.mark.parametrize(
    ("module", "path", "deprecated"),
    [
        ("get_wechat_mp_access_token", DEPRECATED_PATH, True),
        ("get_wechat_mp_access_token_info", SUCCESSOR_PATH, False),
    ],
)
def test_generated_package_exposes_both_operations(
    module: str, path: str, deprecated: bool
) -> None:
    endpoint = importlib.import_module(f"authing_wechat_client.api.wechat.{module}")
    for name in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
        params = inspect.signature(getattr(endpoint, name)).parameters
        assert {"x_authing_app_id", "x_genauth_app_id", "x_authing_lang", "x_genauth_lang"} <= set(
            params
        )
    from authing_wechat_client.models import GetWechatAccessTokenDto, Lang

    kwargs = endpoint._get_kwargs(
        body=GetWechatAccessTokenDto(app_id="wx1", app_secret="s"),
        x_genauth_app_id="gid",
        x_genauth_lang=Lang.EN_US,
    )
    assert kwargs["method"] == "post"
    assert kwargs["url"] == path
    assert kwargs["json"] == {"appId": "wx1", "appSecret": "s"}
    assert kwargs["headers"]["x-genauth-app-id"] == "gid"
    assert kwargs["headers"]["x-genauth-lang"] == "en-US"
    assert "x-authing-app-id" not in kwargs["headers"]
    assert (GENERATED / "py.typed").is_file()


def test_check_is_clean_on_the_committed_tree() -> None:
    result = run_regenerate("--check")
    assert result.returncode == 0, result.stderr


def test_generation_is_reproducible(tmp_path: Path) -> None:
    sys.path.insert(0, str(REGENERATE.parent))
    try:
        regenerate = importlib.import_module("regenerate")
    finally:
        sys.path.remove(str(REGENERATE.parent))
    first = regenerate.generate(tmp_path / "one")
    second = regenerate.generate(tmp_path / "two")
    assert regenerate.compare_trees(first, second) == []
    assert regenerate.compare_trees(first, GENERATED) == []


@pytest.fixture
def drifted_copy(tmp_path: Path) -> Path:
    target = tmp_path / "authing_wechat_client"
    shutil.copytree(GENERATED, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_check_detects_a_hand_edit(drifted_copy: Path) -> None:
    client = drifted_copy / "client.py"
    client.write_text(client.read_text() + "\n# hand edit\n")
    result = run_regenerate("--check", "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "changed: client.py" in result.stderr
    assert "+# hand edit" not in result.stderr  # the diff goes from committed to regenerated
    assert "-# hand edit" in result.stderr


def test_check_detects_a_stray_and_a_missing_file(drifted_copy: Path) -> None:
    (drifted_copy / "models" / "stray.py").write_text("X = 1\n")
    (drifted_copy / "errors.py").unlink()
    result = run_regenerate("--check", "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "stale:   models/stray.py" in result.stderr
    assert "missing: errors.py" in result.stderr


def test_check_detects_a_changed_spec(drifted_copy: Path, tmp_path: Path) -> None:
    changed = tmp_path / "spec.yaml"
    changed.write_text(SPEC.read_text().replace("appSecret", "wechatSecret"))
    result = run_regenerate("--check", "--spec", str(changed), "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "changed: models/get_wechat_access_token_dto.py" in result.stderr


def test_invalid_spec_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "spec.yaml"
    bad = SPEC.read_text().replace("type: apiKey", "type: notAScheme")
    broken.write_text(bad)
    result = run_regenerate("--check", "--spec", str(broken))
    assert result.returncode == 2
    assert "not a valid OpenAPI document" in result.stderr


def test_regenerate_replaces_the_tree_wholesale(drifted_copy: Path) -> None:
    (drifted_copy / "models" / "stray.py").write_text("X = 1\n")
    (drifted_copy / "types.py").write_text("# edited\n")
    assert run_regenerate("--target", str(drifted_copy)).returncode == 0
    assert not (drifted_copy / "models" / "stray.py").exists()
    assert run_regenerate("--check", "--target", str(drifted_copy)).returncode == 0


def test_a_renamed_field_reaches_the_wire_by_regeneration_alone(tmp_path: Path) -> None:
    """The overlay builds requests and reads responses through the generated package."""
    sys.path.insert(0, str(REGENERATE.parent))
    try:
        regenerate = importlib.import_module("regenerate")
    finally:
        sys.path.remove(str(REGENERATE.parent))
    renamed = tmp_path / "spec.yaml"
    renamed.write_text(SPEC.read_text().replace("appSecret", "wechatSecret"))
    regenerate.generate(tmp_path / "gen", spec=renamed)
    program = """
import json, httpx
from authing_wechat import WechatTokenClient
def answer(request):
    print(json.dumps(json.loads(request.content), sort_keys=True))
    body = {"statusCode": 200, "message": "ok",
            "data": {"accessToken": "token-1", "expiresAt": "1735696800"}}
    return httpx.Response(200, json=body)
http = httpx.Client(transport=httpx.MockTransport(answer))
client = WechatTokenClient("https://example.authing.cn", "a", http_client=http, retry=None)
print(client.get_wechat_mp_access_token_info(app_id="wx", app_secret="s").access_token)
"""
    # The regenerated package comes first on the path, ahead of the installed one.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "gen")}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"appId": "wx", "wechatSecret": "s"}', "token-1"]
