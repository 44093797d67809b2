"""``authing-wechat demo``: the whole product in one command, against an embedded mock server.

Starts the reference mock server on a free loopback port, then shows: a token from the
successor endpoint, the deprecated call with its warning and the ``migrate`` policy, a 503
ridden out by a logged retry, a provider serving many concurrent callers with one request, a
background refresh in the STALE window with every caller served at once, WeChat calls through
``WechatAuth`` across a token rotation (against the fake WeChat API), an Authing outage ridden
out with ``StableTokenFallback`` (WeChat's stable_token on the fake WeChat), and, with a Redis
server (``--redis-url``, or the ``redis-server`` of the dev dependencies), a fleet of worker
processes sharing one token through Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["add_demo_command", "run_demo"]

_AUTHING_APP_ID = "demo-authing-app"
_WECHAT_APP_ID = "wx-demo-app"
_WECHAT_SECRET = "demo-wechat-secret"  # noqa: S105 - a made-up value for the local mock
_CALLERS = 1000
_STALE_THREADS, _STALE_CALLS = 20, 50
_FLEET_PROCESSES, _FLEET_THREADS = 4, 20


def add_demo_command(subcommands: Any) -> None:
    """Register ``demo`` on the ``authing-wechat`` subcommand parsers."""
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "demo",
        help="show the client at work against an embedded mock server (no network needed)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--redis-url",
        help="a Redis server for the fleet scene (default: start the redis-server binary of the "
        "dev dependencies, if installed; otherwise the scene is skipped)",
    )
    parser.set_defaults(handler=lambda args: run_demo(redis_url=args.redis_url))


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step = 0

    def section(self, title: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}", file=self.out)

    def line(self, text: str) -> None:
        print(f"   {text}", file=self.out, flush=True)


def run_demo(out: TextIO | None = None, *, redis_url: str | None = None) -> int:
    """Run the demo, printing to ``out`` (stdout); returns the exit status.

    Args:
        out: Where to print; stdout by default.
        redis_url: The Redis server of the fleet scene; ``None`` starts the ``redis-server``
            binary of the dev dependencies if there is one, and skips the scene otherwise.
    """
    from authing_wechat import AsyncWechatTokenClient, RetryPolicy, WechatTokenClient  # noqa: PLC0415
    from authing_wechat.testing import (  # noqa: PLC0415 - keeps `import _cli` cheap
        DEPRECATED_PATH,
        SUCCESSOR_PATH,
        Fault,
        MockAuthingServer,
        run_mock_server,
    )

    from ._token import client_log_lines  # noqa: PLC0415

    show = _Printer(out or sys.stdout)
    logs = contextlib.ExitStack()
    logs.enter_context(client_log_lines(show.out, "   log %(levelname)s %(name)s: %(message)s"))
    server = MockAuthingServer()
    try:
        with run_mock_server(server) as handle:
            print(f"authing-wechat demo: mock Authing server on {handle.url}", file=show.out)
            with WechatTokenClient(handle.url, _AUTHING_APP_ID) as client:
                show.section(
                    "A token from the successor endpoint (get_wechat_mp_access_token_info)"
                )
                token = client.get_wechat_mp_access_token_info(
                    app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET
                )
                show.line(f"{token!r}")
                show.line(f"expires at {token.expires_at.isoformat()} (aware UTC datetime)")

                show.section(
                    "The deprecated endpoint warns, naming its successor (deprecated='warn')"
                )
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
            show.line(
                f"(deprecated endpoint calls in total: {server.request_count(DEPRECATED_PATH)})"
            )
        _stale_scene(show)
        _wechat_scene(show)
        _fallback_scene(show)
        _fleet_scene(show, redis_url)
    finally:
        logs.close()
    print("\ndemo finished: all good", file=show.out)
    return 0


async def _many_callers(client_class: Any, url: str) -> int:
    async with client_class(url, _AUTHING_APP_ID) as client:
        provider = client.token_provider(app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET)
        tokens = await asyncio.gather(*(provider.get() for _ in range(_CALLERS)))
    assert len({t.access_token for t in tokens}) == 1  # noqa: S101 - the demo's own claim
    return len(tokens)


def _stale_scene(show: _Printer) -> None:
    from authing_wechat import WechatTokenClient  # noqa: PLC0415
    from authing_wechat.testing import SUCCESSOR_PATH, Fault, MockAuthingServer, run_mock_server  # noqa: PLC0415

    show.section("A refresh in the STALE window: every caller is served at once")
    # Tokens that live 240 s are STALE from the start (refresh_margin 300 s).
    server = MockAuthingServer(expires_in=240)
    with run_mock_server(server) as handle, WechatTokenClient(handle.url, _AUTHING_APP_ID) as api:
        provider = api.token_provider(
            app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET, min_refresh_interval=0.5
        )
        old = provider.get()
        show.line(f"cold start: one request; {old.expires_in():.0f} s left, so the token is STALE")
        time.sleep(0.5)  # min_refresh_interval: the next get() may start a refresh
        server.add_fault(SUCCESSOR_PATH, Fault.delay(1.0))
        slowest = _timed_gets(provider, _STALE_THREADS, _STALE_CALLS, old)
        show.line(
            f"{_STALE_THREADS * _STALE_CALLS} get() calls from {_STALE_THREADS} threads while "
            f"the refresh took 1 s: all got the cached token, the slowest in "
            f"{slowest * 1e3:.2f} ms"
        )
        flight = provider._rule.in_flight()
        if flight is not None:
            flight.signal.wait(10)
        stats = provider.stats()
        show.line(
            f"background refreshes: {stats.background}; upstream requests in all: "
            f"{server.request_count(SUCCESSOR_PATH)}"
        )
        show.line(
            "Authing caches the WeChat token, so the refresh brought the same one back: it stays "
            "STALE and is asked for again at most every min_refresh_interval"
        )


def _wechat_scene(show: _Printer) -> None:
    import httpx  # noqa: PLC0415 - keeps `import _cli` cheap

    from authing_wechat import WechatAuth, WechatTokenClient, WechatTokenRejectedError  # noqa: PLC0415
    from authing_wechat.testing import (  # noqa: PLC0415
        SUCCESSOR_PATH,
        FakeWechatServer,
        MockAuthingServer,
        run_fake_wechat_server,
        run_mock_server,
    )

    show.section("WeChat calls through WechatAuth across a token rotation (a fake WeChat API)")
    authing = MockAuthingServer()
    wechat = FakeWechatServer(authing)
    with (
        run_mock_server(authing) as authing_handle,
        run_fake_wechat_server(wechat) as wechat_handle,
        WechatTokenClient(authing_handle.url, _AUTHING_APP_ID) as api,
    ):
        provider = api.token_provider(app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET)
        with httpx.Client(base_url=wechat_handle.url, auth=WechatAuth(provider)) as wx:
            for openid in ("o1", "o2", "o3"):
                wx.get("/cgi-bin/user/info", params={"openid": openid}).raise_for_status()
            wechat.rotate(_WECHAT_APP_ID)  # Authing refetched: the old token is "not latest"
            for openid in ("o4", "o5", "o6"):
                user = wx.get("/cgi-bin/user/info", params={"openid": openid}).json()
                assert user["openid"] == openid  # noqa: S101 - the demo's own claim
            show.line(
                f"6 calls, a rotation between them: {wechat.request_count()} WeChat requests "
                f"({wechat.rejections} answered 40001, resent once), "
                f"{authing.request_count(SUCCESSOR_PATH)} Authing requests; no error reached us"
            )
            wechat.fetch_elsewhere(_WECHAT_APP_ID)  # now Authing keeps a token WeChat replaced
            before = wechat.request_count()
            try:
                wx.get("/cgi-bin/user/info", params={"openid": "o7"})
            except WechatTokenRejectedError as exc:
                show.line(f"someone else fetched a token: {type(exc).__name__}: {exc}")
            for _ in range(10):
                with contextlib.suppress(WechatTokenRejectedError):
                    wx.get("/cgi-bin/user/info", params={"openid": "o8"})
            show.line(
                f"11 calls while Authing serves the replaced token: "
                f"{wechat.request_count() - before} WeChat request(s), the rest failed at once"
            )


def _fallback_scene(show: _Printer) -> None:
    import httpx  # noqa: PLC0415 - keeps `import _cli` cheap

    from authing_wechat import StableTokenFallback, WechatAuth, WechatTokenClient  # noqa: PLC0415
    from authing_wechat.testing import (  # noqa: PLC0415
        SUCCESSOR_PATH,
        FakeWechatServer,
        Fault,
        MockAuthingServer,
        run_fake_wechat_server,
        run_mock_server,
    )

    show.section("An Authing outage ridden out with StableTokenFallback (WeChat's stable_token)")
    authing = MockAuthingServer()
    wechat = FakeWechatServer(authing)
    with (
        run_mock_server(authing) as authing_handle,
        run_fake_wechat_server(wechat) as wechat_handle,
        WechatTokenClient(authing_handle.url, _AUTHING_APP_ID, retry=None) as api,
    ):
        fallback = StableTokenFallback(base_url=wechat_handle.url)  # a fake WeChat on loopback
        provider = api.token_provider(
            app_id=_WECHAT_APP_ID,
            app_secret=_WECHAT_SECRET,
            min_refresh_interval=0.2,
            fallback=fallback,
        )
        authing.add_fault(SUCCESSOR_PATH, Fault.status(503), times=None)  # Authing is down
        with httpx.Client(base_url=wechat_handle.url, auth=WechatAuth(provider)) as wx:
            for openid in ("o1", "o2", "o3"):
                wx.get("/cgi-bin/user/info", params={"openid": openid}).raise_for_status()
            show.line(
                f"Authing answered 503 to a cold start: 3 WeChat calls made with the stable "
                f"token ({wechat.request_count('/cgi-bin/stable_token')} stable_token request, "
                f"normal mode, after {authing.request_count(SUCCESSOR_PATH)} Authing request)"
            )
            authing.clear_faults()  # Authing is back
            time.sleep(0.2)  # min_refresh_interval: the next get() asks Authing again
            provider.get()
            flight = provider._rule.in_flight()
            if flight is not None:
                flight.signal.wait(10)
            wx.get("/cgi-bin/user/info", params={"openid": "o4"}).raise_for_status()
            token = provider.get()
            show.line(
                f"Authing is back: the next refresh took its token (fallback={token.fallback}); "
                f"fallback_tokens={provider.stats().fallback_tokens}, /cgi-bin/token calls: "
                f"{wechat.request_count('/cgi-bin/token')}"
            )


def _timed_gets(provider: Any, threads: int, calls: int, expected: Any) -> float:
    """The slowest of ``threads`` x ``calls`` ``get()`` calls, each checked to be ``expected``."""
    start = threading.Barrier(threads)
    slowest = [0.0]

    def run() -> None:
        start.wait()
        for _ in range(calls):
            began = time.perf_counter()
            token = provider.get()
            slowest[0] = max(slowest[0], time.perf_counter() - began)
            assert token is expected  # noqa: S101 - the demo's own claim
            time.sleep(0.001)  # callers spread over the refresh, as a service's would be

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return slowest[0]


@contextlib.contextmanager
def _redis(url: str | None) -> Iterator[str | None]:
    if url is not None:
        yield url
        return
    from authing_wechat.testing._redis_server import find_redis_server, run_redis_server  # noqa: PLC0415

    if find_redis_server() is None:
        yield None
        return
    with run_redis_server() as server:
        yield server.url


def _fleet_scene(show: _Printer, redis_url: str | None) -> None:
    from authing_wechat.testing import SUCCESSOR_PATH, Fault, MockAuthingServer, run_mock_server  # noqa: PLC0415

    show.section("A fleet sharing one token through Redis (RedisTokenStore)")
    try:
        import redis  # noqa: F401, PLC0415 - the optional extra
    except ImportError:
        show.line('skipped: needs redis-py (pip install ".[redis]" from a checkout)')
        return
    with _redis(redis_url) as url:
        if url is None:
            show.line("skipped: no Redis (pass --redis-url, or install the dev dependencies)")
            return
        server = MockAuthingServer()
        server.add_fault(SUCCESSOR_PATH, Fault.delay(0.3))  # every process asks meanwhile
        with run_mock_server(server) as handle:
            processes = multiprocessing.get_context("forkserver")
            # Each worker forks from a server that imported the package and redis-py once.
            processes.set_forkserver_preload(["authing_wechat._cli._demo", "redis"])
            jobs = [(handle.url, url, _FLEET_THREADS)] * _FLEET_PROCESSES
            with processes.Pool(_FLEET_PROCESSES) as pool:
                results = pool.starmap(_fleet_worker, jobs)
        tokens = {token for worker in results for token in worker}
        show.line(
            f"{_FLEET_PROCESSES} worker processes x {_FLEET_THREADS} threads started cold: "
            f"{len(tokens)} token, upstream requests: {server.request_count(SUCCESSOR_PATH)}"
        )


def _fleet_worker(url: str, redis_url: str, threads: int) -> list[str]:
    """One process of the fleet scene: a client, a provider on Redis, ``threads`` callers."""
    import redis  # noqa: PLC0415 - the optional extra

    from authing_wechat import RedisTokenStore, WechatTokenClient  # noqa: PLC0415

    store = RedisTokenStore(redis.Redis.from_url(redis_url, socket_timeout=1.0))
    with WechatTokenClient(url, _AUTHING_APP_ID) as api:
        provider = api.token_provider(app_id=_WECHAT_APP_ID, app_secret=_WECHAT_SECRET, store=store)
        start = threading.Barrier(threads)
        tokens: list[str] = []

        def call() -> None:
            start.wait()
            tokens.append(provider.get().access_token)

        workers = [threading.Thread(target=call) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return tokens
