"""authing-wechat: the WeChat access token cached by Authing / GenAuth, fetched well.

Typed results and errors, one keep-alive pool per client, bounded retries, honest deprecation,
TLS always verified. See ``WechatTokenClient`` and ``AsyncWechatTokenClient``.
"""

import logging
import typing

from . import _lazy

if typing.TYPE_CHECKING:
    from ._core._client import AsyncWechatTokenClient, WechatTokenClient
    from ._core._clock import Clock, SystemClock
    from ._core._errors import (
        AuthingAPIError,
        AuthingConnectionError,
        AuthingDeprecationWarning,
        AuthingError,
        AuthingResponseError,
        AuthingTimeoutError,
        AuthingTLSError,
        DeprecatedEndpointError,
        StableTokenError,
        WechatTokenRejectedError,
    )
    from ._core._models import DeprecationNotice, WechatAccessToken
    from ._core._retry import RetryBudget, RetryEvent, RetryPolicy
    from ._provider._fallback import StableTokenFallback
    from ._provider._providers import AsyncWechatTokenProvider, WechatTokenProvider
    from ._provider._redis_store import AsyncRedisTokenStore, RedisTokenStore
    from ._provider._refresh import ProviderStats, RefreshCounts, RefreshTiming, TokenState
    from ._provider._store import (
        AsyncStoreLock,
        AsyncTokenStore,
        StoredToken,
        StoreLock,
        TokenStore,
    )
    from .integrations._httpx_auth import WechatAuth

    __version__: str

__all__ = [
    "AsyncRedisTokenStore",
    "AsyncStoreLock",
    "AsyncTokenStore",
    "AsyncWechatTokenClient",
    "AsyncWechatTokenProvider",
    "AuthingAPIError",
    "AuthingConnectionError",
    "AuthingDeprecationWarning",
    "AuthingError",
    "AuthingResponseError",
    "AuthingTLSError",
    "AuthingTimeoutError",
    "Clock",
    "DeprecatedEndpointError",
    "DeprecationNotice",
    "ProviderStats",
    "RedisTokenStore",
    "RefreshCounts",
    "RefreshTiming",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "StableTokenError",
    "StableTokenFallback",
    "StoreLock",
    "StoredToken",
    "SystemClock",
    "TokenState",
    "TokenStore",
    "WechatAccessToken",
    "WechatAuth",
    "WechatTokenClient",
    "WechatTokenProvider",
    "WechatTokenRejectedError",
]

# A library never decides where logs go: no last-resort printing of its warnings to stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# Each loaded on first use: importing the package (as pytest does with its plugin) does not
# import httpx, and importing the client does not import the provider stack.
if not typing.TYPE_CHECKING:  # type checkers read the imports above instead
    _load_public_name, __dir__ = _lazy.load_on_first_use(
        __name__,
        {
            "._core._client": ("AsyncWechatTokenClient", "WechatTokenClient"),
            "._core._clock": ("Clock", "SystemClock"),
            "._core._errors": (
                "AuthingAPIError",
                "AuthingConnectionError",
                "AuthingDeprecationWarning",
                "AuthingError",
                "AuthingResponseError",
                "AuthingTLSError",
                "AuthingTimeoutError",
                "DeprecatedEndpointError",
                "StableTokenError",
                "WechatTokenRejectedError",
            ),
            "._core._models": ("DeprecationNotice", "WechatAccessToken"),
            "._core._retry": ("RetryBudget", "RetryEvent", "RetryPolicy"),
            "._provider._fallback": ("StableTokenFallback",),
            "._provider._providers": ("AsyncWechatTokenProvider", "WechatTokenProvider"),
            "._provider._redis_store": ("AsyncRedisTokenStore", "RedisTokenStore"),
            "._provider._refresh": (
                "ProviderStats",
                "RefreshCounts",
                "RefreshTiming",
                "TokenState",
            ),
            "._provider._store": (
                "AsyncStoreLock",
                "AsyncTokenStore",
                "StoreLock",
                "StoredToken",
                "TokenStore",
            ),
            ".integrations._httpx_auth": ("WechatAuth",),
        },
    )

    def __getattr__(name: str) -> object:
        # The version is said once, in pyproject.toml, and read from the installed metadata.
        if name == "__version__":
            from importlib.metadata import version  # noqa: PLC0415 - costly, rarely needed

            return version("authing-wechat")
        return _load_public_name(name)
