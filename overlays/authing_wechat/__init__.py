"""authing-wechat: the WeChat access token cached by Authing / GenAuth, fetched well.

Typed results and errors, one keep-alive pool per client, bounded retries, honest deprecation,
TLS always verified. See ``WechatTokenClient`` and ``AsyncWechatTokenClient``.
"""

import typing

from . import _lazy

if typing.TYPE_CHECKING:
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
    from ._retry import RetryBudget, RetryEvent, RetryPolicy

__all__ = [
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
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "SystemClock",
    "WechatAccessToken",
    "WechatTokenClient",
    "WechatTokenProvider",
]
# Loaded on first use, so that importing the package (as pytest does with its plugin in every
# run of every project that has it installed) does not import httpx.
_load_public_name, __dir__ = _lazy.load_on_first_use(
    __name__, ("._client", "._clock", "._errors", "._models", "._provider", "._retry")
)


def __getattr__(name: str) -> object:
    # The version is said once, in pyproject.toml; read from the installed metadata on first
    # use so that importing the package does not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("authing-wechat")
    return _load_public_name(name)
