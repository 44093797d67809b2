"""The two operations, bound to the generated modules that build their requests (imported by
the first request, so that importing the client stays cheap)."""

from __future__ import annotations

import importlib
from types import ModuleType

import attrs

__all__ = ["LEGACY", "OPERATIONS", "SUCCESSOR", "Operation"]

_GENERATED_API = "authing_wechat_client.api.wechat"
_ENDPOINTS: dict[str, ModuleType] = {}  # imported once, then one dict look-up per request


@attrs.frozen
class Operation:
    """One endpoint: the client method that calls it and the generated module that builds it.

    Attributes:
        method: The client method's name, also the generated module's name.
        deprecated_by: The successor's method name when this operation is deprecated.
    """

    method: str
    deprecated_by: str | None = None

    @property
    def endpoint(self) -> ModuleType:
        """The generated endpoint module (``_get_kwargs`` builds the request)."""
        module = _ENDPOINTS.get(self.method)
        if module is None:
            module = _ENDPOINTS[self.method] = importlib.import_module(
                f"{_GENERATED_API}.{self.method}"
            )
        return module

    @property
    def path(self) -> str:
        """The URL path, as the generated package (hence the spec) has it."""
        path: str = self.endpoint._get_kwargs(body=_PathProbe())["url"]
        return path


class _PathProbe:
    # _get_kwargs only needs ``body.to_dict()`` to tell the path; no secret is involved.
    def to_dict(self) -> dict[str, str]:
        return {}


SUCCESSOR = Operation("get_wechat_mp_access_token_info")
LEGACY = Operation("get_wechat_mp_access_token", deprecated_by=SUCCESSOR.method)
OPERATIONS: tuple[Operation, ...] = (SUCCESSOR, LEGACY)
