"""Deprecation: PEP 702 markers, run-time warnings at the caller, policies, server headers."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingDeprecationWarning,
    DeprecatedEndpointError,
    DeprecationNotice,
    WechatTokenClient,
)
from authing_wechat._core._deprecation import parse_deprecation_headers
from authing_wechat._core._operations import OPERATIONS
from authing_wechat.testing import DEPRECATED_PATH, SUCCESSOR_PATH

from tests import _support as support
from tests._support import APP_HOST, Driver, Recorder, envelope

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "authing-wechat.yaml"
DEPRECATION_HEADERS = {
    "Deprecation": "@1735689600",
    "Sunset": "Wed, 31 Dec 2026 23:59:59 GMT",
    "Link": f'<{SUCCESSOR_PATH}>; rel="successor-version", '
    '<https://docs.example/migrate>; rel="deprecation"',
}


def announcing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=envelope(), headers=DEPRECATION_HEADERS)


@pytest.mark.parametrize("cls", [WechatTokenClient, AsyncWechatTokenClient])
def test_deprecated_methods_carry_the_pep_702_marker(cls: type[Any]) -> None:
    marker = cls.get_wechat_mp_access_token.__deprecated__
    assert "get_wechat_mp_access_token_info" in marker
    assert not hasattr(cls.get_wechat_mp_access_token_info, "__deprecated__")


def test_overlay_follows_the_specs_deprecated_operations() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    by_path = {op.path: op for op in OPERATIONS}
    assert set(by_path) == set(spec["paths"])
    for path, item in spec["paths"].items():
        op = by_path[path]
        spec_op = item["post"]
        if spec_op.get("deprecated"):
            assert op.deprecated_by is not None, f"{path} is deprecated in the spec"
            successor = next(o for o in OPERATIONS if o.method == op.deprecated_by)
            assert successor.path in spec_op["description"]
            for cls in (WechatTokenClient, AsyncWechatTokenClient):
                assert op.deprecated_by in getattr(cls, op.method).__deprecated__
        else:
            assert op.deprecated_by is None
            for cls in (WechatTokenClient, AsyncWechatTokenClient):
                assert not hasattr(getattr(cls, op.method), "__deprecated__")


def test_sync_warning_points_at_the_callers_line() -> None:
    recorder = Recorder()
    client = WechatTokenClient(
        APP_HOST, "a", retry=None, http_client=httpx.Client(transport=httpx.MockTransport(recorder))
    )
    with pytest.warns(AuthingDeprecationWarning) as record:
        client.get_wechat_mp_access_token(app_id="wx", app_secret="s")  # type: ignore[deprecated]
    (warning,) = record.list
    assert warning.filename == __file__
    assert "get_wechat_mp_access_token_info" in str(warning.message)
    assert isinstance(warning.message, DeprecationWarning)
    assert recorder.requests[0].url.path == DEPRECATED_PATH


@pytest.mark.anyio
async def test_async_warning_points_at_the_callers_line() -> None:
    recorder = Recorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = AsyncWechatTokenClient(APP_HOST, "a", retry=None, http_client=http)
    with pytest.warns(AuthingDeprecationWarning) as record:
        await client.get_wechat_mp_access_token(app_id="wx", app_secret="s")  # type: ignore[deprecated]
    (warning,) = record.list
    assert warning.filename == __file__
    assert "get_wechat_mp_access_token_info" in str(warning.message)
    assert recorder.requests[0].url.path == DEPRECATED_PATH


def test_error_policy_raises_before_any_request(driver: Driver) -> None:
    recorder = Recorder()
    client = driver.client(recorder, deprecated="error")
    with pytest.raises(DeprecatedEndpointError) as caught:
        driver.fetch(client, legacy=True)
    assert caught.value.successor == "get_wechat_mp_access_token_info"
    assert "get_wechat_mp_access_token_info" in str(caught.value)
    assert recorder.requests == []


def test_migrate_policy_calls_the_successor_silently(driver: Driver) -> None:
    recorder = Recorder()
    client = driver.client(recorder, deprecated="migrate")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = driver.fetch(client, legacy=True)
    assert recorder.requests[0].url.path == SUCCESSOR_PATH
    assert token.deprecation is None


def test_server_headers_become_a_notice_on_the_result(driver: Driver) -> None:
    client = driver.client(Recorder(announcing), deprecated="migrate")
    with pytest.warns(AuthingDeprecationWarning, match="successor"):
        token = driver.fetch(client)
    notice = token.deprecation
    assert notice is not None
    assert notice.endpoint == SUCCESSOR_PATH
    assert notice.deprecated_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert notice.sunset == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert notice.successor == SUCCESSOR_PATH
    assert ("https://docs.example/migrate", "deprecation") in notice.links


def test_server_notice_warns_once_per_endpoint_per_client(driver: Driver) -> None:
    seen: list[DeprecationNotice] = []
    client = driver.client(Recorder(announcing), deprecated="migrate", on_deprecation=seen.append)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            driver.fetch(client)
    assert [type(w.message) for w in record] == [AuthingDeprecationWarning]
    # At the line that called the client's method (the driver's, sync and async alike).
    assert record[0].filename == support.__file__
    assert len(seen) == 3  # the telemetry hook sees every response
    other = driver.client(Recorder(announcing), deprecated="migrate")
    with pytest.warns(AuthingDeprecationWarning) as again:
        driver.fetch(other)
    assert len(again.list) == 1


def test_legacy_call_warns_for_the_method_and_once_for_the_server(driver: Driver) -> None:
    client = driver.client(Recorder(announcing))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        driver.fetch(client, legacy=True)
        driver.fetch(client, legacy=True)
    assert {type(w.message) for w in record} == {AuthingDeprecationWarning}
    messages = [str(w.message) for w in record]
    assert sum("calls a deprecated endpoint" in m for m in messages) == 2
    assert sum("server marks" in m for m in messages) == 1


@pytest.mark.parametrize(
    ("headers", "deprecated_at", "sunset"),
    [
        ({"Deprecation": "@0"}, datetime(1970, 1, 1, tzinfo=UTC), None),
        ({"Deprecation": "true"}, None, None),
        ({"Deprecation": "@abc"}, None, None),
        ({"Deprecation": "@99999999999999999"}, None, None),
        ({"Sunset": "Sat, 01 Jan 2028 00:00:00 UTC"}, None, datetime(2028, 1, 1, tzinfo=UTC)),
        ({"Sunset": "not a date"}, None, None),
        ({"Deprecation": "@1735689600", "Sunset": ""}, datetime(2025, 1, 1, tzinfo=UTC), None),
    ],
)
def test_deprecation_header_parsing(
    headers: dict[str, str], deprecated_at: datetime | None, sunset: datetime | None
) -> None:
    notice = parse_deprecation_headers(httpx.Headers(headers), DEPRECATED_PATH)
    assert notice is not None
    assert (notice.deprecated_at, notice.sunset) == (deprecated_at, sunset)


def test_no_deprecation_headers_no_notice() -> None:
    headers = httpx.Headers({"Link": '<x>; rel="successor-version"'})
    assert parse_deprecation_headers(headers, DEPRECATED_PATH) is None


@pytest.mark.one_python  # mypy's verdict on the same code: the same on every Python
def test_type_checkers_flag_deprecated_calls(tmp_path: Path) -> None:
    from mypy import api

    user_code = tmp_path / "user_code.py"
    user_code.write_text(
        "from authing_wechat import AsyncWechatTokenClient, WechatTokenClient\n"
        "def use(c: WechatTokenClient) -> None:\n"
        "    c.get_wechat_mp_access_token(app_id='a', app_secret='b')\n"
        "    c.get_wechat_mp_access_token_info(app_id='a', app_secret='b')\n"
        "async def use_async(c: AsyncWechatTokenClient) -> None:\n"
        "    await c.get_wechat_mp_access_token(app_id='a', app_secret='b')\n"
        "    await c.get_wechat_mp_access_token_info(app_id='a', app_secret='b')\n"
    )
    stdout, _, status = api.run(
        [str(user_code), "--strict", "--enable-error-code", "deprecated", "--no-incremental",
         "--config-file", ""]
    )  # fmt: skip
    flagged = [line for line in stdout.splitlines() if "[deprecated]" in line]
    assert status == 1
    assert [line.split(":")[1] for line in flagged] == ["3", "6"]
    assert all("get_wechat_mp_access_token_info" in line for line in flagged)


def test_a_failing_telemetry_hook_does_not_fail_the_call(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(notice: DeprecationNotice) -> None:
        raise RuntimeError("telemetry down")

    client = driver.client(Recorder(announcing), deprecated="migrate", on_deprecation=broken)
    with pytest.warns(AuthingDeprecationWarning):
        token = driver.fetch(client)
    assert token.deprecation is not None
    assert "on_deprecation hook raised RuntimeError" in caplog.text
