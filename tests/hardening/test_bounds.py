"""What bounds a call against a slow or huge answer, over real loopback sockets.

httpx's timeouts bound each socket operation, so a server that sends the headers at once and
then a byte every 25 ms never trips them; the README promises that ``timeout`` bounds an attempt
and ``deadline`` the call, body included, and the answer is a few hundred bytes, so a
multi-megabyte body fails as ``AuthingResponseError``. The sync client bounds a trickling
status line and headers per read only (the client guide says why): its attempt ends at the
body. Server behaviours: ``_soak_server.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from authing_wechat import (
    AsyncWechatTokenClient,
    AuthingResponseError,
    AuthingTimeoutError,
    RetryPolicy,
    WechatTokenClient,
)

from tests import _support
from tests.hardening._soak import SoakServer

# Seconds a call may run past its bound: scheduling on a loaded two-core machine.
SLACK = 0.5


def _call(flavour: str, url: str, plan: str, **kwargs: Any) -> tuple[BaseException | None, float]:
    """One call with the server doing ``plan``; what it raised and how long it took."""
    app_id = f"bounds-{time.monotonic_ns()}:{plan}"
    started = time.monotonic()
    try:
        if flavour == "sync":
            with WechatTokenClient(url, "app", **kwargs) as client:
                client.get_wechat_mp_access_token_info(app_id=app_id, app_secret=_support.SECRET)
        else:
            asyncio.run(_call_async(url, app_id, kwargs))
    except Exception as error:
        return error, time.monotonic() - started
    return None, time.monotonic() - started


async def _call_async(url: str, app_id: str, kwargs: dict[str, Any]) -> None:
    async with AsyncWechatTokenClient(url, "app", **kwargs) as client:
        await client.get_wechat_mp_access_token_info(app_id=app_id, app_secret=_support.SECRET)


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("plan", ["slowbody", "slowheaders"])
def test_the_deadline_bounds_a_trickling_answer(
    soak_server: SoakServer, flavour: str, plan: str
) -> None:
    retry = RetryPolicy(deadline=0.6, max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    error, elapsed = _call(flavour, soak_server.url, plan, timeout=0.3, retry=retry)
    assert isinstance(error, AuthingTimeoutError), f"{plan}: {error!r} after {elapsed:.2f}s"
    if (flavour, plan) == ("sync", "slowheaders"):
        # Past the deadline while the headers trickled in, within their time; then no retry.
        assert error.attempts == 1
    else:
        assert elapsed <= 0.6 + SLACK, f"{plan}: the call took {elapsed:.2f}s for a 0.6s deadline"


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_timeout_bounds_one_attempt_reading_a_trickling_body(
    soak_server: SoakServer, flavour: str
) -> None:
    error, elapsed = _call(flavour, soak_server.url, "slowbody", timeout=0.3, retry=None)
    assert isinstance(error, AuthingTimeoutError), f"{error!r} after {elapsed:.2f}s"
    assert elapsed <= 0.3 + SLACK, f"one attempt took {elapsed:.2f}s for a timeout of 0.3s"


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("plan", ["huge", "hugechunked", "gzipbomb"])
def test_a_multi_megabyte_answer_fails_as_a_response_error(
    soak_server: SoakServer, flavour: str, plan: str
) -> None:
    # Each is a valid envelope padded to megabytes: read whole, it would give a token.
    error, _ = _call(flavour, soak_server.url, plan, timeout=5.0, retry=None)
    assert isinstance(error, AuthingResponseError), f"{plan}: {error!r}"
