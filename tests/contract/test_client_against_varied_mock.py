"""The client against the mock's varied mode: every answer shape the contract allows.

The mock in varied mode leaves out ``requestId`` and ``apiCode``, adds unknown fields, names a
charset or not, drops the deprecation headers, and sends ``data`` absent, null or ``{}`` on a
failure. Whatever it chooses, a success is a token and a failure is the ``AuthingAPIError`` of
its status, for both clients, both clouds and both endpoints.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from authing_wechat import AuthingAPIError, WechatAccessToken
from authing_wechat.testing import (
    DEPRECATED_PATH,
    SUCCESSOR_PATH,
    FakeClock,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
)

from tests._support import SECRET, Driver

SEEDS = range(12)
# (fault or None, the HTTP status and envelope statusCode the client must report); faults
# answer the first requests in order, the normal answer comes last.
OUTCOMES: list[tuple[Fault | None, int | None, int | None]] = [
    (Fault.status(400), 400, 400),
    (Fault.status(404), 404, 404),
    (Fault.status(503), 503, 503),
    (Fault.envelope_error(500), 200, 500),
    (Fault.envelope_error(403), 200, 403),
    (None, None, None),
]


def _client(driver: Driver, server: MockAuthingServer, brand: str, clock: FakeClock) -> Any:
    transport = MockAuthingTransport(server)
    http: Any = (
        httpx.Client(transport=transport)
        if driver.mode == "sync"
        else httpx.AsyncClient(transport=transport)
    )
    return driver.client(http_client=http, brand=brand, clock=clock, retry=None, deprecated="warn")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("brand", ["authing", "genauth"])
@pytest.mark.parametrize("legacy", [False, True], ids=["info", "deprecated"])
def test_every_varied_answer_is_classified_as_its_status(
    driver: Driver, seed: int, brand: Any, legacy: bool
) -> None:
    clock = FakeClock()
    server = MockAuthingServer(varied=True, seed=seed, clock=clock, cloud=brand)
    path = DEPRECATED_PATH if legacy else SUCCESSOR_PATH
    for fault, _, _ in OUTCOMES:
        if fault is not None:
            server.add_fault(path, fault)
    client = _client(driver, server, brand, clock)
    for _, http_status, status_code in OUTCOMES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the legacy path's notice
            try:
                outcome: object = driver.fetch(client, legacy=legacy, app_secret=SECRET)
            except AuthingAPIError as error:
                outcome = error
        if http_status is None:
            assert isinstance(outcome, WechatAccessToken), outcome
            assert outcome.access_token.startswith("mock-access-token-")
        else:
            assert isinstance(outcome, AuthingAPIError), outcome
            assert (outcome.http_status, outcome.status_code) == (http_status, status_code)
            assert outcome.request_id is None or isinstance(outcome.request_id, str)
    driver.close(client)
    assert server.request_count(path) == len(OUTCOMES)
