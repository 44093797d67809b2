"""Shared test helpers: canary values, response envelopes, a recording handler and the one
sync/async driver that runs each client test against both clients."""

from __future__ import annotations

import asyncio
import json
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
from authing_wechat import AsyncWechatTokenClient, WechatAccessToken, WechatTokenClient
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    MockAuthingServer,
    MockAuthingTransport,
)

# Canary values: if one ever shows up in a repr, log line or traceback, a test fails.
SECRET = "CANARY-wechat-secret-9f1cf4fac90a"
TOKEN = "CANARY-access-token-4a9245e64903869a"
USER_TOKEN = "CANARY-user-token-0c61d2e8"  # a caller's own access_token (Authorization)
APP_HOST = "https://example.authing.cn"  # the paths are authing_wechat.testing's
EXPIRES_AT = 1_735_696_800

Handler = Callable[[httpx.Request], httpx.Response]
# How often a test server's loop looks for shutdown(): socketserver's default of 0.5 s would
# add half a second to the end of every test that starts one.
POLL_SECONDS = 0.02


def envelope(
    status_code: int = 200,
    *,
    message: str = "操作成功",
    data: Any = None,
    api_code: int | None = None,
    request_id: str | None = "req-1",
) -> dict[str, Any]:
    """A response envelope; ``data`` defaults to a valid token on success."""
    body: dict[str, Any] = {"statusCode": status_code, "message": message}
    if api_code is not None:
        body["apiCode"] = api_code
    if request_id is not None:
        body["requestId"] = request_id
    if data is None and status_code == 200:
        data = {"accessToken": TOKEN, "expiresAt": str(EXPIRES_AT)}
    if data is not None:
        body["data"] = data
    return body


def ok(request: httpx.Request) -> httpx.Response:
    """A handler answering every request with a valid token."""
    return httpx.Response(200, json=envelope())


class Recorder:
    """Wraps a handler (or a list of responses, one per request) and keeps the requests."""

    def __init__(self, handler: Handler | list[httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler if handler is not None else ok

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if isinstance(self._handler, list):
            return self._handler[len(self.requests) - 1]
        return self._handler(request)

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


class Driver:
    """Runs one test body against ``WechatTokenClient`` or ``AsyncWechatTokenClient``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.client_class: type[Any] = (
            WechatTokenClient if mode == "sync" else AsyncWechatTokenClient
        )

    def client(self, handler: Recorder | Handler | None = None, **kwargs: Any) -> Any:
        transport = httpx.MockTransport(handler or Recorder())
        http: httpx.Client | httpx.AsyncClient = (
            httpx.Client(transport=transport)
            if self.mode == "sync"
            else httpx.AsyncClient(transport=transport)
        )
        kwargs.setdefault("retry", None)
        kwargs.setdefault("http_client", http)
        return self.client_class(
            kwargs.pop("app_host", APP_HOST), kwargs.pop("authing_app_id", "authing-app"), **kwargs
        )

    def client_for(self, url: str, **kwargs: Any) -> Any:
        """A client of this flavour on its own pool, for a real server at ``url``."""
        return self.client_class(url, kwargs.pop("authing_app_id", "authing-app"), **kwargs)

    def run(self, value: Any) -> Any:
        if asyncio.iscoroutine(value):
            return asyncio.run(_awaited(value))
        return value

    def fetch(
        self, client: Any, *, legacy: bool = False, app_id: str = "wx123", app_secret: str = SECRET
    ) -> WechatAccessToken:
        method = (
            client.get_wechat_mp_access_token if legacy else client.get_wechat_mp_access_token_info
        )
        result: WechatAccessToken = self.run(method(app_id=app_id, app_secret=app_secret))
        return result

    def close(self, client: Any) -> None:
        self.run(client.close() if self.mode == "sync" else client.aclose())

    def http_client(
        self,
        *,
        on_request: Callable[[httpx.Request], None] | None = None,
        on_response: Callable[[httpx.Response], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """An ``httpx.Client`` or ``AsyncClient`` (with ``kwargs``) whose event hooks call
        these sync functions.

        ``on_response`` gets the response read, its request too, as a hook that keeps them
        must: the package streams both (httpx's own streamed requests are the same).
        """
        hooks: dict[str, list[Any]] = {"request": [], "response": []}
        if on_request is not None:
            hooks["request"].append(on_request if self.mode == "sync" else _async_hook(on_request))
        if on_response is not None:
            hooks["response"].append(_reading(on_response, self.mode))
        if self.mode == "sync":
            return httpx.Client(event_hooks=hooks, **kwargs)
        return httpx.AsyncClient(event_hooks=hooks, **kwargs)

    def fetch_once(
        self,
        client: Any,
        *,
        legacy: bool = False,
        app_id: str = "wx123",
        app_secret: str = SECRET,
        http: Any = None,
    ) -> WechatAccessToken:
        """One call, then close the client (and ``http``), all in one event loop for async.

        For clients on real connections, which belong to the loop that opened them.
        """
        name = "get_wechat_mp_access_token" if legacy else "get_wechat_mp_access_token_info"
        if self.mode == "sync":
            try:
                token: WechatAccessToken = getattr(client, name)(
                    app_id=app_id, app_secret=app_secret
                )
            finally:
                client.close()
                if http is not None:
                    http.close()
            return token

        async def run() -> WechatAccessToken:
            try:
                awaited: WechatAccessToken = await getattr(client, name)(
                    app_id=app_id, app_secret=app_secret
                )
            finally:
                await client.aclose()
                if http is not None:
                    await http.aclose()
            return awaited

        return asyncio.run(run())


# Python raises KeyboardInterrupt on SIGINT only if SIGINT was not ignored when it started, and
# a background job (`make test &`, nohup) starts its children with SIGINT ignored: a command a
# test interrupts sets Python's handler itself, whatever the test run inherited.
_INTERRUPTIBLE = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from authing_wechat._cli import main; sys.exit(main())"
)


def interruptible_cli(*args: str) -> list[str]:
    """``authing-wechat *args`` as a command whose SIGINT raises ``KeyboardInterrupt``."""
    return [sys.executable, "-c", _INTERRUPTIBLE, *args]


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while children start, as a background job starts them (see
    ``interruptible_cli``)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _reading(hook: Callable[[httpx.Response], None], mode: str) -> Callable[..., Any]:
    def read(response: httpx.Response) -> None:
        response.request.read()
        response.read()
        hook(response)

    async def aread(response: httpx.Response) -> None:
        response.request.read()
        await response.aread()
        hook(response)

    return read if mode == "sync" else aread


def _async_hook(hook: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, None]]:
    async def call(value: Any) -> None:
        hook(value)

    return call


async def _awaited(value: Coroutine[Any, Any, Any]) -> Any:
    return await value


# --- the reference mock server (authing_wechat.testing) ----------------------------------------

MOCK_HEADERS = {"x-authing-app-id": "authing-app"}
MOCK_BODY = {"appId": "wx-mock", "appSecret": SECRET}


def mock_post(
    server: MockAuthingServer,
    path: str = SUCCESSOR_PATH,
    *,
    method: str = "POST",
    body: Any = MOCK_BODY,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request to ``server`` in-process, through ``MockAuthingTransport``.

    ``content`` is sent as is (no Content-Type unless ``headers`` name one); otherwise ``body``
    as JSON. ``headers`` replace ``MOCK_HEADERS``.
    """
    sent = MOCK_HEADERS if headers is None else headers
    with httpx.Client(transport=MockAuthingTransport(server), base_url="http://mock") as client:
        if content is not None:
            return client.request(method, path, content=content, headers=sent)
        return client.request(method, path, json=body, headers=sent)


class HeldClock(FakeClock):
    """A fake clock whose ``sleep`` blocks until ``release()``: a server that stalls on cue."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self._released = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.entered.set()
        self._released.wait(10)

    def release(self) -> None:
        self._released.set()


class TokenHandler(BaseHTTPRequestHandler):
    """A plain ``http.server`` handler answering every POST with a valid token envelope.

    For tests that need a real server other than the mock (TLS, slow answers): subclass it
    and set ``delay`` to answer that many seconds late.
    """

    protocol_version = "HTTP/1.1"
    delay = 0.0

    def do_POST(self) -> None:
        self.received(self.rfile.read(int(self.headers["Content-Length"])))
        if self.delay:
            time.sleep(self.delay)
        body = json.dumps(envelope()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def received(self, body: bytes) -> None:
        """Called with each request's body (subclasses keep what they need)."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read outcomes, not access logs."""


@contextmanager
def serving(server: socketserver.TCPServer) -> Iterator[str]:
    """Serve ``server`` (bound to 127.0.0.1) from a thread; yields ``127.0.0.1:<port>``.

    Stopped and closed on exit.
    """
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
