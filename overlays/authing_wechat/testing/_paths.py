"""The spec's paths and clouds, named once for the mock server, its faults and its CLI."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["CLOUDS", "DEPRECATED_PATH", "PATHS", "SUCCESSOR_PATH", "Cloud"]

DEPRECATED_PATH: Final = "/api/v3/get-wechat-access-token"
"""``POST`` path of the deprecated operation ``getWechatMpAccessToken``."""

SUCCESSOR_PATH: Final = "/api/v3/get-wechat-access-token-info"
"""``POST`` path of its successor, ``getWechatMpAccessTokenInfo``."""

PATHS: Final = (SUCCESSOR_PATH, DEPRECATED_PATH)
"""Every path the mock server answers; each takes ``POST`` only."""

Cloud = Literal["authing", "genauth"]
CLOUDS: Final[tuple[Cloud, ...]] = ("authing", "genauth")
"""The two deployments: Authing (China) reads ``x-authing-*`` headers, GenAuth ``x-genauth-*``."""
