"""The spec validates, the generated package and per-cloud contracts match it, drift is caught."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "authing-wechat.yaml"
GENERATED = ROOT / "generated" / "authing_wechat_client"
CLOUDS = ROOT / "openapi" / "clouds"
REGENERATE = ROOT / "scripts" / "regenerate.py"
DEPRECATED_PATH = "/api/v3/get-wechat-access-token"
SUCCESSOR_PATH = "/api/v3/get-wechat-access-token-info"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def import_regenerate() -> Any:
    sys.path.insert(0, str(REGENERATE.parent))
    try:
        return importlib.import_module("regenerate")
    finally:
        sys.path.remove(str(REGENERATE.parent))


def run_regenerate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REGENERATE), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def validate_openapi(document: Any) -> None:
    from openapi_spec_validator import validate

    validate(document)  # raises on any error


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate_openapi(spec)


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


@pytest.mark.parametrize(("cloud", "other"), [("authing", "genauth"), ("genauth", "authing")])
def test_a_cloud_document_is_the_spec_with_its_own_headers_required(
    spec: dict[str, Any], cloud: str, other: str
) -> None:
    text = (CLOUDS / f"{cloud}.yaml").read_text()
    document: dict[str, Any] = yaml.safe_load(text)
    validate_openapi(document)
    assert f"x-{other}-" not in text
    parameters = document["components"]["parameters"]
    assert {p["name"]: p["required"] for p in parameters.values()} == {
        f"x-{cloud}-app-id": True,
        f"x-{cloud}-lang": False,
    }
    for path in (DEPRECATED_PATH, SUCCESSOR_PATH):
        mine, source = document["paths"][path]["post"], spec["paths"][path]["post"]
        refs = {p["$ref"].rsplit("/", 1)[-1] for p in mine["parameters"]}
        assert refs == set(parameters)
        assert {k: v for k, v in mine.items() if k != "parameters"} == {
            k: v for k, v in source.items() if k != "parameters"
        }
    # Everything but the headers and the other cloud's hosts is the source's, unchanged.
    for key in ("schemas", "responses", "headers", "examples", "securitySchemes", "requestBodies"):
        assert document["components"][key] == spec["components"][key], key
    assert document["security"] == spec["security"]
    assert document["servers"] == [s for s in spec["servers"] if other not in s["url"]]
    assert document["servers"]


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


@pytest.mark.one_python  # `make checks` runs the same --check, on one Python
def test_check_is_clean_on_the_committed_tree() -> None:
    result = run_regenerate("--check")
    assert result.returncode == 0, result.stderr


@pytest.mark.one_python
def test_generation_is_reproducible(tmp_path: Path) -> None:
    regenerate = import_regenerate()
    first = regenerate.generate(tmp_path / "one")
    second = regenerate.generate(tmp_path / "two")
    assert regenerate.compare_trees(first, second) == []
    assert regenerate.compare_trees(first, GENERATED) == []
    clouds = regenerate.build_cloud_documents(tmp_path / "clouds")
    assert sorted(p.name for p in clouds.iterdir()) == ["authing.yaml", "genauth.yaml"]
    assert regenerate.compare_trees(clouds, CLOUDS) == []


@pytest.fixture
def drifted_copy(tmp_path: Path) -> Path:
    target = tmp_path / "authing_wechat_client"
    shutil.copytree(GENERATED, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.mark.one_python
def test_check_detects_a_hand_edit(drifted_copy: Path) -> None:
    client = drifted_copy / "client.py"
    client.write_text(client.read_text() + "\n# hand edit\n")
    result = run_regenerate("--check", "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "changed: client.py" in result.stderr
    assert "+# hand edit" not in result.stderr  # the diff goes from committed to regenerated
    assert "-# hand edit" in result.stderr


@pytest.fixture
def drifted_clouds(tmp_path: Path) -> Path:
    target = tmp_path / "clouds"
    shutil.copytree(CLOUDS, target)
    return target


@pytest.mark.one_python
def test_check_detects_drifted_cloud_documents(drifted_clouds: Path) -> None:
    authing = drifted_clouds / "authing.yaml"
    authing.write_text(authing.read_text().replace("required: true", "required: false"))
    (drifted_clouds / "genauth.yaml").unlink()
    (drifted_clouds / "other.yaml").write_text("openapi: 3.1.0\n")
    result = run_regenerate("--check", "--clouds-target", str(drifted_clouds))
    assert result.returncode == 1
    assert "changed: authing.yaml" in result.stderr
    assert "-      required: false" in result.stderr
    assert "missing: genauth.yaml (the spec makes it; openapi/clouds/ lacks it)" in result.stderr
    assert "stale:   other.yaml" in result.stderr
    assert "--- openapi/clouds/authing.yaml" in result.stderr


@pytest.mark.one_python
def test_check_detects_a_stray_and_a_missing_file(drifted_copy: Path) -> None:
    (drifted_copy / "models" / "stray.py").write_text("X = 1\n")
    (drifted_copy / "errors.py").unlink()
    result = run_regenerate("--check", "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "stale:   models/stray.py" in result.stderr
    assert "missing: errors.py" in result.stderr


@pytest.mark.one_python
def test_check_detects_a_changed_spec(drifted_copy: Path, tmp_path: Path) -> None:
    changed = tmp_path / "spec.yaml"
    changed.write_text(SPEC.read_text().replace("appSecret", "wechatSecret"))
    result = run_regenerate("--check", "--spec", str(changed), "--target", str(drifted_copy))
    assert result.returncode == 1
    assert "changed: models/get_wechat_access_token_dto.py" in result.stderr
    # The per-cloud contracts are made from the same source.
    assert "changed: authing.yaml" in result.stderr
    assert "changed: genauth.yaml" in result.stderr


@pytest.mark.one_python
def test_invalid_spec_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "spec.yaml"
    bad = SPEC.read_text().replace("type: apiKey", "type: notAScheme")
    broken.write_text(bad)
    result = run_regenerate("--check", "--spec", str(broken))
    assert result.returncode == 2
    assert "not a valid OpenAPI document" in result.stderr


@pytest.mark.one_python
def test_regenerate_replaces_the_trees_wholesale(drifted_copy: Path, drifted_clouds: Path) -> None:
    (drifted_copy / "models" / "stray.py").write_text("X = 1\n")
    (drifted_copy / "types.py").write_text("# edited\n")
    (drifted_clouds / "stray.yaml").write_text("openapi: 3.1.0\n")
    (drifted_clouds / "authing.yaml").write_text("# edited\n")
    targets = ("--target", str(drifted_copy), "--clouds-target", str(drifted_clouds))
    assert run_regenerate(*targets).returncode == 0
    assert not (drifted_copy / "models" / "stray.py").exists()
    assert not (drifted_clouds / "stray.yaml").exists()
    assert run_regenerate("--check", *targets).returncode == 0


def test_a_renamed_field_reaches_the_wire_by_regeneration_alone(tmp_path: Path) -> None:
    """The overlay builds requests and reads responses through the generated package."""
    regenerate = import_regenerate()
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


def test_contract_path_finds_the_documents_in_a_checkout() -> None:
    from authing_wechat.testing import contract_path

    # The editable install imports authing_wechat from overlays/: the checkout's documents.
    assert contract_path("authing") == CLOUDS / "authing.yaml"
    assert contract_path("genauth") == CLOUDS / "genauth.yaml"
    with pytest.raises(ValueError, match="authing, genauth"):
        contract_path("other")  # type: ignore[arg-type]


def test_the_wheel_ships_the_cloud_contracts(tmp_path: Path) -> None:
    # uv builds with the pinned hatchling that `make venv` already cached: no network.
    uv = Path(sys.executable).parent / "uv"
    dist, site = tmp_path / "dist", tmp_path / "site"
    command = [str(uv), "build", "--wheel", "--offline", "--out-dir", str(dist), str(ROOT)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shipped = site / "authing_wechat" / "testing" / "contracts"
    assert sorted(p.name for p in shipped.iterdir()) == ["authing.yaml", "genauth.yaml"]
    for document in shipped.iterdir():
        assert document.read_bytes() == (CLOUDS / document.name).read_bytes()
    # The data examples the mock answers with, beside the generated models.
    examples = site / "authing_wechat_client" / "data_examples.json"
    assert examples.read_bytes() == (GENERATED / "data_examples.json").read_bytes()
    # Installed from the wheel (first on the path), contract_path() finds the package data.
    program = (
        "from authing_wechat.testing import contract_path\n"
        "print(contract_path('authing')); print(contract_path('genauth'))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    found = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        str(shipped / "authing.yaml"),
        str(shipped / "genauth.yaml"),
    ]
