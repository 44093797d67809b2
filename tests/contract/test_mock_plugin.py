"""The pytest plugin, loaded through the package's ``pytest11`` entry point, used as users would."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time

import httpx
import pytest
from authing_wechat import Clock, WechatTokenClient
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
)

from tests._support import MOCK_BODY, MOCK_HEADERS, SECRET

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered_and_loads_nothing_heavy(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("authing_wechat")
    assert plugin is not None
    assert plugin.__name__ == "authing_wechat.testing._pytest_plugin"
    probe = (
        "import sys, pytest; before = set(sys.modules); "
        "import authing_wechat.testing._pytest_plugin; "
        "print(sorted(m.split('.')[0] for m in set(sys.modules) - before))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    # Only the package's own small modules: no httpx, attrs, asyncio or the mock itself.
    assert set(eval(loaded)) == {"authing_wechat"}  # noqa: S307 - our own printed list
    assert "_app" not in loaded


def test_by_default_each_test_gets_a_fresh_server_on_a_fake_clock_of_now(
    authing_mock_server: MockAuthingServer, authing_mock_clock: FakeClock
) -> None:
    assert authing_mock_server.request_count() == authing_mock_server.tokens_issued == 0
    assert authing_mock_server.clock is authing_mock_clock
    assert isinstance(authing_mock_clock, FakeClock)
    # Starts at the current time, so the mock's tokens look valid to code on the real clock.
    assert abs(authing_mock_clock.time() - time.time()) < 3600


def test_the_fixtures_share_one_server(
    authing_mock_server: MockAuthingServer,
    authing_mock_transport: MockAuthingTransport,
    authing_mock_server_url: str,
) -> None:
    assert authing_mock_transport.server is authing_mock_server
    assert authing_mock_server_url.startswith("http://127.0.0.1:")
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    over_http = httpx.post(
        authing_mock_server_url + SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS
    )
    with httpx.Client(transport=authing_mock_transport, base_url="http://mock") as client:
        in_process = client.post(SUCCESSOR_PATH, json=MOCK_BODY, headers=MOCK_HEADERS)
    assert (over_http.status_code, in_process.status_code) == (503, 200)
    assert authing_mock_server.request_count() == 2


@pytest.mark.authing_mock(
    credentials={"wx1": SECRET}, expires_in=60, cloud="genauth", varied=True, seed=3
)
def test_the_marker_configures_the_server(
    authing_mock_server: MockAuthingServer, authing_mock_transport: MockAuthingTransport
) -> None:
    with httpx.Client(transport=authing_mock_transport, base_url="http://mock") as client:

        def status(app_id_header: str, secret: str) -> int:
            body = {"appId": "wx1", "appSecret": secret}
            return client.post(SUCCESSOR_PATH, json=body, headers={app_id_header: "a"}).status_code

        assert status("x-genauth-app-id", SECRET) == 200
        assert status("x-genauth-app-id", "wrong") == 401
        assert status("x-authing-app-id", SECRET) == 400
        token = client.post(
            SUCCESSOR_PATH,
            json={"appId": "wx1", "appSecret": SECRET},
            headers={"x-genauth-app-id": "a"},
        ).json()["data"]
        varied = {
            client.post(SUCCESSOR_PATH, json={}, headers={"x-genauth-app-id": "a"}).headers[
                "content-type"
            ]
            for _ in range(8)
        }
    assert int(token["expiresAt"]) == int(authing_mock_server.clock.time()) + 60
    assert len(varied) > 1


@pytest.mark.authing_mock(credentials={"wx1": "s"}, cloud="authing")
def test_the_readme_example(
    authing_mock_server: MockAuthingServer, authing_mock_server_url: str, authing_mock_clock: Clock
) -> None:
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    client = WechatTokenClient(authing_mock_server_url, "my-authing-app", clock=authing_mock_clock)
    with client:
        assert client.get_wechat_mp_access_token_info(app_id="wx1", app_secret="s").attempts == 2


@pytest.mark.authing_mock(clock="fake")
def test_the_clock_is_shared_by_server_and_client(
    authing_mock_server: MockAuthingServer,
    authing_mock_transport: MockAuthingTransport,
    authing_mock_clock: FakeClock,
) -> None:
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.delay(30))
    authing_mock_server.add_fault(SUCCESSOR_PATH, Fault.status(503))
    http = httpx.Client(transport=authing_mock_transport)
    with WechatTokenClient(
        "http://127.0.0.1", "app", http_client=http, clock=authing_mock_clock, timeout=5
    ) as client:
        token = client.get_wechat_mp_access_token_info(app_id="wx1", app_secret=SECRET)
    assert token.attempts == 3  # timed out, then a 503, then the token
    # The server's wait advanced the shared clock by the client's timeout; the client's two
    # backoffs are its only sleeps, and the token expires on the same time line.
    assert len(authing_mock_clock.sleeps) == 2
    assert authing_mock_clock.monotonic() == pytest.approx(5 + sum(authing_mock_clock.sleeps))
    # (minted by the first request, whose answer never arrived, and cached since)
    started = authing_mock_clock.time() - authing_mock_clock.monotonic()
    assert token.expires_at.timestamp() == pytest.approx(started + 7200, abs=1)


@pytest.mark.authing_mock(clock="system")
def test_the_marker_can_ask_for_the_system_clock(
    authing_mock_server: MockAuthingServer, authing_mock_clock: object
) -> None:
    assert type(authing_mock_clock).__name__ == "SystemClock"
    assert authing_mock_server.clock is authing_mock_clock


def test_bad_marker_options_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.authing_mock(clock="sundial")
        def test_clock(authing_mock_server):
            pass

        @pytest.mark.authing_mock("positional")
        def test_positional(authing_mock_server):
            pass

        @pytest.mark.authing_mock(nonsense=1)
        def test_unknown(authing_mock_server):
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        ["*clock must be 'fake', 'system' or a clock*", "*keyword arguments only*", "*nonsense*"]
    )


def test_a_misspelled_marker_option_is_named_with_the_valid_ones(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.authing_mock(expire_in=60, credential={"wx": "s"})
        def test_typo(authing_mock_server):
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*authing_mock: unknown options credential, expire_in; the options are clock, *"]
    )
    shown = result.stdout.str()
    assert "expires_in" in shown
    assert "credentials" in shown
    assert "unexpected keyword argument" not in shown


def test_the_testing_api_is_sorted_importable_and_documented() -> None:
    from authing_wechat import testing

    exported = testing.__all__
    # isort-style, as ruff's RUF022 keeps it: constants, then classes, then functions.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n[0].islower(), n))
    assert set(exported) <= set(dir(testing))
    for name in exported:
        member = getattr(testing, name)
        if callable(member):
            assert inspect.getdoc(member), name
        for attribute, value in vars(member).items() if isinstance(member, type) else ():
            if not attribute.startswith("_") and callable(value):
                assert inspect.getdoc(value), f"{name}.{attribute}"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = testing.Nope  # type: ignore[attr-defined]
