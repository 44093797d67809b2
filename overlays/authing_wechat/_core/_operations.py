"""The two operations, bound to the generated package that builds their requests."""

from __future__ import annotations

from types import ModuleType

import attrs
from authing_wechat_client.api.wechat import (
    get_wechat_mp_access_token,
    get_wechat_mp_access_token_info,
)

__all__ = ["LEGACY", "OPERATIONS", "SUCCESSOR", "Operation"]


@attrs.frozen
class Operation:
    """One endpoint: the client method that calls it and the generated module that builds it.

    Attributes:
        method: The client method's name, also the generated module's name.
        endpoint: The generated endpoint module (``_get_kwargs`` builds the request).
        deprecated_by: The successor's method name when this operation is deprecated.
    """

    method: str
    endpoint: ModuleType = attrs.field(repr=False)
    deprecated_by: str | None = None

    @property
    def path(self) -> str:
        """The URL path, as the generated package (hence the spec) has it."""
        path: str = self.endpoint._get_kwargs(body=_PathProbe())["url"]
        return path


class _PathProbe:
    # _get_kwargs only needs ``body.to_dict()`` to tell the path; no secret is involved.
    def to_dict(self) -> dict[str, str]:
        return {}


SUCCESSOR = Operation("get_wechat_mp_access_token_info", get_wechat_mp_access_token_info)
LEGACY = Operation(
    "get_wechat_mp_access_token", get_wechat_mp_access_token, deprecated_by=SUCCESSOR.method
)
OPERATIONS: tuple[Operation, ...] = (SUCCESSOR, LEGACY)
