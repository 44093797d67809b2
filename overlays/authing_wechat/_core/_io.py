"""The client's I/O layer, imported when the first client is made, not with the package.

``from authing_wechat import WechatTokenClient`` then costs little more than httpx and attrs:
httpcore and h11 (our own pool, the TLS and deadline checks), the generated package (request
building, classification), the settings, results and secrets (each an attrs class, whose
creation is most of this package's own import time) load with the first client, as httpx
loads httpcore with its first transport. ``_client`` reads the names here as attributes of
this module; the first read of any of them imports them all, and every read after that is a
plain module attribute.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._call import Call, aread_body, read_body
    from ._deprecation import DeprecationGate
    from ._models import WechatAccessToken
    from ._operations import LEGACY, SUCCESSOR
    from ._pool import (
        AsyncOwnSender,
        AsyncOwnTransport,
        BoundedTransport,
        OwnSender,
        environment_proxy,
    )
    from ._retry import DEFAULT_RETRY, RetryRun, TokenBucket, longest_call
    from ._secret import Secret
    from ._settings import ClientOptions, check_credentials
    from ._socket_deadline import attempt_ends_at
    from ._tls import TLSRefused, TLSRoute

__all__ = [
    "DEFAULT_RETRY",
    "LEGACY",
    "SUCCESSOR",
    "AsyncOwnSender",
    "AsyncOwnTransport",
    "BoundedTransport",
    "Call",
    "ClientOptions",
    "DeprecationGate",
    "OwnSender",
    "RetryRun",
    "Secret",
    "TLSRefused",
    "TLSRoute",
    "TokenBucket",
    "WechatAccessToken",
    "aread_body",
    "attempt_ends_at",
    "check_credentials",
    "environment_proxy",
    "longest_call",
    "read_body",
]

_HOMES = {
    "._call": ("Call", "aread_body", "read_body"),
    "._deprecation": ("DeprecationGate",),
    "._models": ("WechatAccessToken",),
    "._operations": ("LEGACY", "SUCCESSOR"),
    "._pool": (
        "AsyncOwnSender",
        "AsyncOwnTransport",
        "BoundedTransport",
        "OwnSender",
        "environment_proxy",
    ),
    "._retry": ("DEFAULT_RETRY", "RetryRun", "TokenBucket", "longest_call"),
    "._secret": ("Secret",),
    "._settings": ("ClientOptions", "check_credentials"),
    "._socket_deadline": ("attempt_ends_at",),
    "._tls": ("TLSRefused", "TLSRoute"),
}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    namespace = globals()
    for module_name, names in _HOMES.items():
        module = importlib.import_module(module_name, __package__)
        namespace.update({n: getattr(module, n) for n in names})
    return namespace[name]
