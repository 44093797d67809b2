"""How the client names itself to servers, and how it logs as a library should."""

from __future__ import annotations

import logging
import subprocess
import sys
from importlib.metadata import version

import httpx
from authing_wechat._core._settings import user_agent

from tests._support import Driver, Recorder

EXPECTED_USER_AGENT = f"authing-wechat/{version('authing-wechat')} python-httpx/{httpx.__version__}"


def test_every_request_names_this_client_and_httpx(driver: Driver) -> None:
    recorder = Recorder()
    client = driver.client(recorder)
    for _ in range(2):
        driver.fetch(client)
    driver.close(client)
    assert [r.headers["user-agent"] for r in recorder.requests] == [EXPECTED_USER_AGENT] * 2
    assert user_agent() == EXPECTED_USER_AGENT


def test_the_user_agent_replaces_the_one_of_a_users_http_client(driver: Driver) -> None:
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    headers = {"User-Agent": "my-app/1.0", "X-Trace": "kept"}
    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(transport=transport, headers=headers)
        if driver.mode == "sync"
        else httpx.AsyncClient(transport=transport, headers=headers)
    )
    client = driver.client(http_client=http)
    driver.fetch(client)
    driver.close(client)
    if isinstance(http, httpx.Client):
        http.close()
    else:
        driver.run(http.aclose())
    (request,) = recorder.requests
    assert request.headers["user-agent"] == EXPECTED_USER_AGENT
    assert request.headers["x-trace"] == "kept"


def test_the_package_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("authing_wechat").handlers
    assert any(type(handler) is logging.NullHandler for handler in handlers)


def test_an_unconfigured_application_prints_none_of_the_packages_log_lines() -> None:
    # Without the NullHandler, Python's last-resort handler prints WARNING lines to stderr;
    # the control line from a logger of the application's own shows that it would.
    code = (
        "import logging, authing_wechat\n"
        "logging.getLogger('authing_wechat').warning('from the package')\n"
        "logging.getLogger('app').warning('from the application')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stderr == "from the application\n"
