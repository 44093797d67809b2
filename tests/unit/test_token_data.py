"""``WechatAccessToken.data``: the answer's ``data`` as the generated model, kept by stores."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
import httpx
import pytest
from authing_wechat import StoredToken, WechatAccessToken
from authing_wechat.testing import MockAuthingServer, MockAuthingTransport
from authing_wechat_client.models import GetWechatAccessTokenDataDto

from tests._support import EXPIRES_AT, SECRET, TOKEN, Driver, Recorder, envelope

ROOT = Path(__file__).resolve().parents[2]


def _answering(data: Mapping[str, object]) -> Recorder:
    return Recorder(lambda request: httpx.Response(200, json=envelope(data=data)))


def test_data_is_the_generated_model_with_undeclared_fields_kept(driver: Driver) -> None:
    data = {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT), "scope": "snsapi_base"}
    token = driver.fetch(driver.client(_answering(data)))
    assert isinstance(token.data, GetWechatAccessTokenDataDto)
    assert (token.data.access_token, token.data.expires_at) == (TOKEN, str(EXPIRES_AT))
    assert token.data.additional_properties == {"scope": "snsapi_base"}
    assert token.data.to_dict() == data


def test_the_result_stays_frozen_masked_and_hashable(driver: Driver) -> None:
    token = driver.fetch(driver.client())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        token.data = token.data  # type: ignore[misc]
    assert TOKEN not in repr(token)
    assert TOKEN not in str(token)
    assert hash(token) == hash(attrs.evolve(token))


def test_an_echoed_secret_in_data_is_redacted(driver: Driver) -> None:
    data = {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT), "note": f"for {SECRET}"}
    token = driver.fetch(driver.client(_answering(data)))
    assert SECRET not in repr(token.data)
    assert token.data["note"] == "for [redacted]"
    assert token.data.access_token == TOKEN  # the result itself stays whole


def test_a_token_made_by_hand_gets_the_data_of_its_fields() -> None:
    expires_at = datetime.fromtimestamp(EXPIRES_AT, UTC)
    token = WechatAccessToken(access_token=TOKEN, expires_at=expires_at)
    assert token.data.to_dict() == {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT)}


def test_a_store_entry_keeps_data_and_an_entry_without_it_still_loads() -> None:
    data = GetWechatAccessTokenDataDto.from_dict(
        {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT), "scope": "snsapi_base"}
    )
    token = WechatAccessToken(
        access_token=TOKEN, expires_at=datetime.fromtimestamp(EXPIRES_AT, UTC), data=data
    )
    entry = StoredToken.of(token, requested_at=EXPIRES_AT - 7200)
    assert SECRET not in repr(entry)
    assert TOKEN not in repr(entry)
    assert entry.to_token().data == data
    for older in (None, {"accessToken": "another token", "expiresAt": "1"}, {"junk": 1}):
        loaded = attrs.evolve(entry, data=older).to_token()
        assert loaded.data.to_dict() == {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT)}


@pytest.mark.parametrize("cloud", ["authing", "genauth"])
def test_the_mock_answers_every_data_property_the_spec_declares(cloud: str) -> None:
    examples = json.loads(
        (ROOT / "generated" / "authing_wechat_client" / "data_examples.json").read_text()
    )
    server = MockAuthingServer(cloud=cloud)  # type: ignore[arg-type]
    with httpx.Client(transport=MockAuthingTransport(server), base_url="http://mock") as http:
        answer = http.post(
            "/api/v3/get-wechat-access-token-info",
            headers={f"x-{cloud}-app-id": "app"},
            json={"appId": "wx", "appSecret": SECRET},
        ).json()["data"]
    assert {"accessToken", "expiresAt"} | set(examples) == set(answer)
    assert {name: answer[name] for name in examples} == examples


@pytest.mark.one_python
def test_mypy_sees_the_data_fields_typed(tmp_path: Path) -> None:
    program = tmp_path / "use_data.py"
    program.write_text(
        "from authing_wechat import WechatAccessToken\n"
        "def read(token: WechatAccessToken) -> None:\n"
        "    reveal_type(token.data.access_token)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert re.search(r'Revealed type is "(builtins\.)?str"', result.stdout), result.stdout
