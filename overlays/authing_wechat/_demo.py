"""``authing-wechat demo``: the whole product in one command, against an embedded mock server.

Starts the reference mock server on a free loopback port, then shows: a token from the
successor endpoint, the deprecated call with its warning and the ``migrate`` policy, a 503
ridden out by a logged retry, and a provider serving many concurrent callers with one request.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from typing import Any, TextIO

__all__ = ["add_demo_command", "run_demo"]

_AUTHING_APP_ID = "demo-authing-app"
_WECHAT_APP_ID = "wx-demo-app"
_WECHAT_SECRET = "demo-wechat-secret"  # noqa: S105 - a made-up value for the local mock
_CALLERS = 1000


def add_demo_command(subcommands: Any) -> None:
    """Register ``demo`` on the ``authing-wechat`` subcommand parsers."""
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "demo",
        help="show the client at work against an embedded mock server (no network needed)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=lambda args: run_demo())


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step = 0

    def section(self, title: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}", file=self.out)

    def line(self, text: str) -> None:
        print(f"   {text}", file=self.out, flush=True)


def run_demo(out: TextIO | None = None) -> int:
    """Run the demo, printing to ``out`` (stdout); returns the exit status."""
    from . import AsyncWechatTokenClient, RetryPolicy, WechatTokenClient  # noqa: PLC0415
    from ._cli_token import client_log_lines  # noqa: PLC0415
    from .testing import (  # noqa: PLC0415 - keeps `import _cli` cheap
        DEPRECATED_PATH,
        SUCCESSOR_PATH,
        Fault,
        MockAuthingServer,
        run_mock_server,
    )

    show = _Printer(out or sys.stdout)
    server = MockAuthingServer()
    log_lines = client_log_lines(show.out, "   log %(levelname)s %(name)s: %(message)s")
    with log_lines, run_mock_server(server) as handle:
        print(f"authing-wechat demo: mock Authing server on {handle.url}", file=show.out)
        with WechatTokenClient(handle.url, _AUTHING_APP_ID) as client:
            show.section("A token from the successor endpoint (get_wechat_mp_access_token_info)")
            token = client.get_wechat_mp_access_token_info(
                app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET
            )
            show.line(f"{token!r}")
            show.line(f"expires at {token.expires_at.isoformat()} (aware UTC datetime)")

            show.section("The deprecated endpoint warns, naming its successor (deprecated='warn')")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                legacy = client.get_wechat_mp_access_token(  # type: ignore[deprecated]
                    app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET
                )
            for warning in caught:
                show.line(f"{warning.category.__name__}: {warning.message}")
            show.line(f"server's notice on the result: {legacy.deprecation!r}")

        with WechatTokenClient(handle.url, _AUTHING_APP_ID, deprecated="migrate") as client:
            show.section("deprecated='migrate' sends the old call to the successor")
            client.get_wechat_mp_access_token(  # type: ignore[deprecated]
                app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET
            )
            show.line(f"the server saw: POST {server.requests[-1].path}")

        with WechatTokenClient(
            handle.url, _AUTHING_APP_ID, retry=RetryPolicy(jitter=False)
        ) as client:
            show.section("A 503 ridden out by a logged retry")
            server.add_fault(SUCCESSOR_PATH, Fault.status(503))
            token = client.get_wechat_mp_access_token_info(
                app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET
            )
            show.line(f"got the token after {token.attempts} attempts ({token.retries} retry)")

        show.section(f"A provider serving {_CALLERS} concurrent callers with one request")
        before = server.request_count(SUCCESSOR_PATH)
        served = asyncio.run(_many_callers(AsyncWechatTokenClient, handle.url))
        upstream = server.request_count(SUCCESSOR_PATH) - before
        show.line(f"{served} callers got the same token; upstream requests: {upstream}")
        show.line(f"(deprecated endpoint calls in total: {server.request_count(DEPRECATED_PATH)})")
    print("\ndemo finished: all good", file=show.out)
    return 0


async def _many_callers(client_class: Any, url: str) -> int:
    async with client_class(url, _AUTHING_APP_ID) as client:
        provider = client.token_provider(app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET)
        tokens = await asyncio.gather(*(provider.get() for _ in range(_CALLERS)))
    assert len({t.access_token for t in tokens}) == 1  # noqa: S101 - the demo's own claim
    return len(tokens)
