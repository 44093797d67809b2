"""The client's dependencies, imported when the first client is made, not with the package.

``from authing_wechat import WechatTokenClient`` then costs little more than httpx: the
generated package, the settings, results and secrets (attrs classes, most of this package's
own import time) load with the first client. ``_client`` reads the names here as attributes of
this module; the first read imports them all, and later reads are plain attribute reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._call import Call, aread_body, read_body
    from ._deprecation import DeprecationGate
    from ._models import WechatAccessToken
    from ._operations import LEGACY, SUCCESSOR
    from ._retry import DEFAULT_RETRY, RetryRun, TokenBucket, longest_call
    from ._secret import Secret, install_log_filters
    from ._settings import ClientOptions, check_credentials

__all__ = [
    "DEFAULT_RETRY",
    "LEGACY",
    "SUCCESSOR",
    "Call",
    "ClientOptions",
    "DeprecationGate",
    "RetryRun",
    "Secret",
    "TokenBucket",
    "WechatAccessToken",
    "aread_body",
    "check_credentials",
    "install_log_filters",
    "longest_call",
    "read_body",
]

_HOMES = {
    "._call": ("Call", "aread_body", "read_body"),
    "._deprecation": ("DeprecationGate",),
    "._models": ("WechatAccessToken",),
    "._operations": ("LEGACY", "SUCCESSOR"),
    "._retry": ("DEFAULT_RETRY", "RetryRun", "TokenBucket", "longest_call"),
    "._secret": ("Secret", "install_log_filters"),
    "._settings": ("ClientOptions", "check_credentials"),
}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    namespace = globals()
    for module_name, names in _HOMES.items():
        module = importlib.import_module(module_name, __package__)
        namespace.update({n: getattr(module, n) for n in names})
    return namespace[name]
