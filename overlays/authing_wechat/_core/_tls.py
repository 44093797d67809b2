"""TLS verification of a caller's own ``http_client``, checked on every route to ``https://``.

The client sends the WeChat app secret, so a caller's ``httpx.Client`` must not reach an
``https://`` host without verifying its certificate: not by its default transport, not by a
mount (``mounts={"https://": httpx.HTTPTransport(verify=False)}``, ``"all://"``), not by a proxy
from the environment. httpx's own transports are inspected; transports that never leave the
process (``httpx.MockTransport``, ``httpx.ASGITransport``, ``httpx.WSGITransport``, the mock of
``authing_wechat.testing``) are fine; any other transport cannot be inspected and is refused
unless the caller vouches for it with ``allow_custom_transport=True``.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

__all__ = ["check_tls_routes"]

_IN_PROCESS = (httpx.MockTransport, httpx.ASGITransport, httpx.WSGITransport)
_HTTPX_TRANSPORTS = (httpx.HTTPTransport, httpx.AsyncHTTPTransport)


def _unverified(context: object) -> bool:
    return isinstance(context, ssl.SSLContext) and (
        context.verify_mode == ssl.CERT_NONE or not context.check_hostname
    )


def _check(transport: object, route: str, *, allow_custom_transport: bool) -> None:
    if isinstance(transport, _IN_PROCESS) or getattr(
        type(transport), "_authing_wechat_in_process", False
    ):
        return
    if isinstance(transport, _HTTPX_TRANSPORTS):
        pool = getattr(transport, "_pool", None)
        # A proxy pool has a context for the origin and may have one for the proxy itself.
        contexts = (getattr(pool, "_ssl_context", None), getattr(pool, "_proxy_ssl_context", None))
        if any(_unverified(context) for context in contexts):
            raise ValueError(
                f"http_client does not verify TLS certificates on its {route}; authing-wechat "
                "sends the WeChat app secret and refuses to do so over unverified TLS"
            )
        return
    if not allow_custom_transport:
        raise ValueError(
            f"http_client routes https:// through a {type(transport).__name__} ({route}), whose "
            "TLS verification cannot be checked; pass allow_custom_transport=True if it "
            "verifies certificates or never leaves the process"
        )


def check_tls_routes(
    http: httpx.Client | httpx.AsyncClient, *, allow_custom_transport: bool
) -> None:
    """Raise unless every transport ``http`` can send an ``https://`` request through verifies TLS.

    Raises:
        ValueError: A route turns verification off, or cannot be inspected and
            ``allow_custom_transport`` is false.
    """
    mounts: dict[Any, Any] = getattr(http, "_mounts", {})
    _check(
        getattr(http, "_transport", None),
        "default transport",
        allow_custom_transport=allow_custom_transport,
    )
    for pattern, transport in mounts.items():
        # "all://" has no scheme; "http://" mounts never see our https:// requests.
        if transport is not None and getattr(pattern, "scheme", "") in ("", "https"):
            _check(
                transport,
                f"mount {pattern.pattern!r}",
                allow_custom_transport=allow_custom_transport,
            )
