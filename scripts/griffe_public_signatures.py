"""A griffe extension for the API reference (``mkdocs.yml``): signatures name what a user
passes and gets, not the private stand-ins of the code.

The code keeps them for reasons a reader need not know: a default made with the first client
(importing the client does not import attrs), the type variables of the sync and async twins'
shared bases, the stores' lock classes. Each is shown as the public thing it stands for.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# A private name in the source, and what the reference shows in its place.
SHOWN = {
    "_DEFAULT_RETRY": "RetryPolicy()",
    "_UNCHANGED": "unchanged",
    "_PREFIX": '"authing-wechat"',
    "_DEFAULT_DEPRECATED_SINCE": "1735689600",
    "_HttpT": "httpx.Client | httpx.AsyncClient",
    "_StoreT": "TokenStore | AsyncTokenStore",
    "_FetchT": "Callable[[], WechatAccessToken | Awaitable[WechatAccessToken]]",
    "_RedisLock": "StoreLock",
    "_AsyncRedisLock": "AsyncStoreLock",
    "_ProviderT": "WechatTokenProvider | AsyncWechatTokenProvider",
    # The keyword arguments every error takes (attempts, request, response, ...).
    "Unpack[_Context]": "Any",
}
# Longest first, so that a whole expression is replaced before a name inside it.
_PRIVATE = re.compile(
    r"(?<![\w.])(" + "|".join(map(re.escape, sorted(SHOWN, key=len, reverse=True))) + r")(?!\w)"
)


def public(value: Any) -> Any:
    """``value`` (a griffe expression or text) with each private stand-in replaced; the
    value itself (its cross-references kept) when it names none."""
    if value is None:
        return None
    text = str(value)
    return (
        _PRIVATE.sub(lambda match: SHOWN[match.group(1)], text) if _PRIVATE.search(text) else value
    )


class PublicSignatures(griffe.Extension):
    """Rewrites parameters' annotations and defaults, return annotations, and the
    annotations of attributes and properties."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        """Called by griffe for each function and method it loads."""
        for parameter in func.parameters:
            parameter.annotation = public(parameter.annotation)
            parameter.default = public(parameter.default)
        func.returns = public(func.returns)

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        """Called by griffe for each attribute (a property too) it loads."""
        attr.annotation = public(attr.annotation)
