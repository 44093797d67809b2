"""What an error says: the ids Authing's support asks for, and the commonest wrong app_host."""

from __future__ import annotations

import httpx
import pytest
from authing_wechat import AuthingAPIError
from authing_wechat.testing import SUCCESSOR_PATH

from tests._support import Driver, Recorder, envelope

NOT_FOUND = envelope(404, message="接口不存在", api_code=4040, request_id="req-404")


def _failing(driver: Driver, app_host: str, body: dict[str, object]) -> AuthingAPIError:
    recorder = Recorder(lambda request: httpx.Response(404, json=body))
    with pytest.raises(AuthingAPIError) as caught:
        driver.fetch(driver.client(recorder, app_host=app_host))
    return caught.value


def test_str_holds_the_api_code_and_the_request_id(driver: Driver) -> None:
    error = _failing(driver, "https://example.authing.cn", NOT_FOUND)
    assert str(error) == "HTTP 404: 接口不存在 (apiCode 4040, requestId req-404)"
    assert error.message == "HTTP 404: 接口不存在"
    bare = _failing(driver, "https://example.authing.cn", envelope(404, request_id=None))
    assert str(bare) == bare.message  # nothing to add


def test_a_404_from_an_app_host_with_a_path_names_that_path(driver: Driver) -> None:
    error = _failing(driver, "https://example.authing.cn/api/v3/", NOT_FOUND)
    assert "app_host has the path '/api/v3'" in error.message
    assert f"'/api/v3{SUCCESSOR_PATH}'" in error.message
    assert "app_host" not in _failing(driver, "https://example.authing.cn", NOT_FOUND).message


def test_an_app_host_with_a_path_is_still_used_as_the_base(driver: Driver) -> None:
    recorder = Recorder()
    client = driver.client(recorder, app_host="https://sso.example.com/authing")
    assert driver.fetch(client).attempts == 1
    assert recorder.requests[0].url.path == f"/authing{SUCCESSOR_PATH}"
