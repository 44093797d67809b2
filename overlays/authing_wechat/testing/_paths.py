"""The two paths of the spec, named once for the mock server, its faults and its CLI."""

from __future__ import annotations

from typing import Final

__all__ = ["DEPRECATED_PATH", "PATHS", "SUCCESSOR_PATH"]

DEPRECATED_PATH: Final = "/api/v3/get-wechat-access-token"
"""``POST`` path of the deprecated operation ``getWechatMpAccessToken``."""

SUCCESSOR_PATH: Final = "/api/v3/get-wechat-access-token-info"
"""``POST`` path of its successor, ``getWechatMpAccessTokenInfo``."""

PATHS: Final = (SUCCESSOR_PATH, DEPRECATED_PATH)
"""Every path the mock server answers; each takes ``POST`` only."""
