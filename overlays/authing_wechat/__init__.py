"""authing-wechat: the WeChat access token cached by Authing / GenAuth, fetched well.

Typed results and errors, one keep-alive pool per client, bounded retries, honest deprecation,
TLS always verified. See ``WechatTokenClient`` and ``AsyncWechatTokenClient``.
"""

from ._client import AsyncWechatTokenClient, WechatTokenClient
from ._clock import Clock, SystemClock
from ._errors import (
    AuthingAPIError,
    AuthingConnectionError,
    AuthingDeprecationWarning,
    AuthingError,
    AuthingResponseError,
    AuthingTimeoutError,
    AuthingTLSError,
    DeprecatedEndpointError,
)
from ._models import DeprecationNotice, WechatAccessToken
from ._provider import AsyncWechatTokenProvider, WechatTokenProvider
from ._redis_store import AsyncRedisTokenStore, RedisTokenStore
from ._refresh import ProviderStats, RefreshCounts, RefreshTiming, TokenState
from ._retry import RetryBudget, RetryEvent, RetryPolicy
from ._store import AsyncStoreLock, AsyncTokenStore, StoredToken, StoreLock, TokenStore

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
    "StoreLock",
    "StoredToken",
    "SystemClock",
    "TokenState",
    "TokenStore",
    "WechatAccessToken",
    "WechatTokenClient",
    "WechatTokenProvider",
]


def __getattr__(name: str) -> str:
    # The version is said once, in pyproject.toml; read from the installed metadata on first
    # use so that importing the package does not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("authing-wechat")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
