"""authing-wechat: the WeChat access token cached by Authing / GenAuth, fetched well.

Typed results and errors, one keep-alive pool per client, bounded retries, honest deprecation,
TLS always verified. See ``WechatTokenClient`` and ``AsyncWechatTokenClient``.
"""

import logging

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

# A library logs but never decides where logs go (the logging HOWTO): without this, Python's
# last-resort handler would print this package's warnings to an unconfigured application's
# stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> str:
    # The version is said once, in pyproject.toml; read from the installed metadata on first
    # use so that importing the package does not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("authing-wechat")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
