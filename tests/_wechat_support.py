"""One harness for the WeChat tests: a mock Authing and a fake WeChat on one ``FakeClock``, a
token client and provider of the mode under test, and an httpx client with ``WechatAuth``.

The async flavour keeps one event loop (an ``asyncio.Runner``) for the whole test, so the
provider's refresh tasks survive between calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from authing_wechat import (
    AsyncWechatTokenClient,
    WechatAuth,
    WechatTokenClient,
)
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeClock,
    FakeWechatServer,
    FakeWechatTransport,
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
        **client_kwargs: Any,
    ) -> None:
        self.mode = mode
        self.clock = FakeClock(start=int(time.time()))
        self.authing = MockAuthingServer(clock=self.clock)
        self.wechat = FakeWechatServer(self.authing)
        self.runner = asyncio.Runner() if mode == "async" else None
        authing_transport = MockAuthingTransport(self.authing)
        transport = wechat_transport(self.wechat)
        if self.runner is None:
            self.client: Any = WechatTokenClient(
                "https://app.authing.cn", "authing-app", clock=self.clock, retry=None,
                http_client=httpx.Client(transport=authing_transport),
            )  # fmt: skip
        else:
            self.client = AsyncWechatTokenClient(
                "https://app.authing.cn", "authing-app", clock=self.clock, retry=None,
                http_client=httpx.AsyncClient(transport=authing_transport),
            )  # fmt: skip
        self.provider: Any = self.client.token_provider(app_id=APP_ID, app_secret=SECRET)
        self.auth = WechatAuth(self.provider)
        client_class = httpx.Client if self.runner is None else httpx.AsyncClient
        self.wx: Any = client_class(
            base_url=WECHAT, auth=self.auth, transport=transport, **client_kwargs
        )

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
