"""One harness for the WeChat tests: a mock Authing and a fake WeChat on one ``FakeClock``, a
token client and provider of the mode under test, and an httpx client with ``WechatAuth``.

The async flavour keeps one event loop (an ``asyncio.Runner``) for the whole test, so the
provider's refresh tasks survive between calls.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from authing_wechat import (
    AsyncWechatTokenClient,
    StableTokenFallback,
    WechatAuth,
    WechatTokenClient,
)
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    FakeWechatServer,
    FakeWechatTransport,
    Fault,
    MockAuthingServer,
    MockAuthingTransport,
)

APP_ID = "wx1"
SECRET = "wechat-app-secret-0123456789abcdef"
WECHAT = "https://api.weixin.qq.com"


class WechatWorld:
    """Authing (mock), WeChat (fake) and the client of one mode (``"sync"`` / ``"async"``)."""

    def __init__(
        self,
        mode: str,
        *,
        wechat_transport: Callable[[FakeWechatServer], Any] = FakeWechatTransport,
        fallback: bool = False,
        secret: str = SECRET,
        retry: Any = None,
        provider_kwargs: dict[str, Any] | None = None,
        authing_options: dict[str, Any] | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.mode = mode
        self.clock = FakeClock(start=int(time.time()))
        self.authing = MockAuthingServer(clock=self.clock, **(authing_options or {}))
        self.wechat = FakeWechatServer(self.authing)
        self.runner = asyncio.Runner() if mode == "async" else None
        authing_transport = MockAuthingTransport(self.authing)
        transport = wechat_transport(self.wechat)
        client_class: Any = httpx.Client if self.runner is None else httpx.AsyncClient
        token_client: Any = WechatTokenClient if self.runner is None else AsyncWechatTokenClient
        self.client: Any = token_client(
            "https://app.authing.cn", "authing-app", clock=self.clock, retry=retry,
            http_client=client_class(transport=authing_transport),
        )  # fmt: skip
        # With ``fallback``: a StableTokenFallback sending to the fake WeChat.
        self.fallback = StableTokenFallback(http_client=client_class(transport=transport))
        self.provider: Any = self.client.token_provider(
            app_id=APP_ID, app_secret=secret, fallback=self.fallback if fallback else None,
            **(provider_kwargs or {}),
        )  # fmt: skip
        self.auth = WechatAuth(self.provider)
        self.wx: Any = client_class(
            base_url=WECHAT, auth=self.auth, transport=transport, **client_kwargs
        )

    def authing_down(self, fault: Fault | None = None) -> None:
        """Authing answers every token request with ``fault`` (HTTP 503) until ``authing_up``."""
        self.authing.add_fault(SUCCESSOR_PATH, fault or Fault.status(503), times=None)

    def authing_up(self) -> None:
        self.authing.clear_faults()

    def settle(self) -> None:
        """Wait for the provider's refresh in flight, if any (a background one), to end."""
        if self.runner is None:
            # The thread, not the flight: it logs after the flight has ended.
            for thread in threading.enumerate():
                if thread.name == f"authing-wechat-refresh[{self.provider.app_id}]":
                    thread.join(10)
            return
        flight = self.provider._rule.in_flight()
        if flight is not None:
            self.run(flight.signal.wait())

    @property
    def authing_requests(self) -> int:
        """Requests Authing received for tokens."""
        return self.authing.request_count(SUCCESSOR_PATH)

    def run(self, value: Any) -> Any:
        if self.runner is None:
            return value
        return self.runner.run(_awaited(value))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.run(self.wx.request(method, path, **kwargs))
        return response

    def token(self) -> str:
        """The provider's token now."""
        return str(self.run(self.provider.get()).access_token)

    def close(self) -> None:
        if self.runner is None:
            self.wx.close()
            self.client.close()
        else:
            self.runner.run(self.wx.aclose())
            self.runner.run(self.client.aclose())
            self.runner.close()


async def _awaited(value: Any) -> Any:
    return await value
