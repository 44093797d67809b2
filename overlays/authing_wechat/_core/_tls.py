"""TLS verification of a caller's own ``http_client``, checked on every connection it sends on.

The client sends the WeChat app secret, so a caller's ``httpx.Client`` must not reach an
``https://`` host without verifying its certificate, whatever route the request takes (default
transport, a mount such as ``"https://"`` or ``"all://"``, a proxy from the environment).
httpx has no public API that shows a client's transports, so the check is made where the
route shows itself, through httpcore's public ``trace`` extension:

- each TLS handshake (``*.start_tls.complete``, to the origin, to a proxy, through a tunnel)
  hands over its stream: a context that does not verify (``CERT_NONE`` or no hostname check)
  closes it and refuses the request, before a byte of it is written;
- a pooled connection that no attempt of this client saw opened is used only once a
  connection of the same route was seen verified (all connections of one httpcore pool share
  its context); until then it is closed and the request goes on another connection;
- a transport that is not httpcore's emits no events: the request body (where the secret is)
  is handed only to one that never leaves the process (``httpx.MockTransport``,
  ``ASGITransport``, ``WSGITransport``, ``authing_wechat.testing``'s mock), unless the caller
  vouches for it with ``allow_custom_transport=True``. That transport is the innermost
  ``handle_request`` on the stack while the body is read.

The client's own pools need none of this: their TLS context is httpx's default, verified.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ._unusable import UnusableConnection

__all__ = ["GatedBody", "TLSRefused", "TLSRoute", "UnseenConnection"]

_IN_PROCESS = (httpx.MockTransport, httpx.ASGITransport, httpx.WSGITransport)
_TRANSPORTS = (httpx.BaseTransport, httpx.AsyncBaseTransport)
_HANDLERS = ("handle_request", "handle_async_request")


class TLSRefused(Exception):
    """A request refused before its body left: the route does not (or cannot) verify TLS.

    ``close_stream`` / ``aclose_stream`` close the refused connection's stream, which httpcore
    drops unclosed when connecting fails (the trace callback calls one before raising on).
    """

    def __init__(self, message: str, stream: Any = None) -> None:
        super().__init__(message)
        self._stream = stream

    def close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    async def aclose_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()


class UnseenConnection(UnusableConnection):
    """A pooled connection of a route not yet seen verified: closed, the request sent again."""

    def given_up(self) -> Exception:
        """The pool keeps offering connections that cannot be checked."""
        return TLSRefused("keeps offering pooled connections this client never saw opened")


def _unverified(context: ssl.SSLContext) -> bool:
    return context.verify_mode == ssl.CERT_NONE or not context.check_hostname


def _in_process(transport: object) -> bool:
    return isinstance(transport, _IN_PROCESS) or getattr(
        type(transport), "_authing_wechat_in_process", False
    )


def _innermost_transport() -> object | None:
    # The transport whose handle_request is reading the body: the innermost one on the stack.
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name in _HANDLERS:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, _TRANSPORTS):
                return candidate
        frame = frame.f_back
    return None


class TLSRoute:
    """What one client knows of its ``http_client``'s route to the app host (shared with its
    ``with_options()`` copies), and each attempt's view of it.

    Args:
        allow_custom_transport: Hand the body to a transport that cannot be inspected.
    """

    def __init__(self, *, allow_custom_transport: bool) -> None:
        self.allow_custom_transport = allow_custom_transport
        self._verified: ssl.SSLContext | None = None  # a context seen on the route
        self._checked = False  # this attempt's connection was seen verified
        self._body_sent_by_httpcore = False

    def begin(self) -> None:
        """A new attempt (or the same request again on another connection)."""
        self._checked = self._body_sent_by_httpcore = False

    def event(self, name: str, info: dict[str, Any]) -> None:
        """Read one httpcore trace event of an ``https://`` request.

        Raises:
            TLSRefused: The handshake's context does not verify certificates and hostnames.
            UnseenConnection: A pooled connection of a route not yet seen verified.
        """
        if name.endswith("start_tls.complete"):
            stream = info.get("return_value")
            ssl_object = None if stream is None else stream.get_extra_info("ssl_object")
            context = getattr(ssl_object, "context", None)
            if not isinstance(context, ssl.SSLContext) or _unverified(context):
                raise TLSRefused("does not verify TLS certificates", stream)
            self._verified, self._checked = context, True
        elif name.endswith("send_request_headers.started"):
            request = info.get("request")
            if getattr(request, "method", b"") == b"CONNECT":
                return  # a proxy tunnel's own request: nothing of ours in it
            route = self._verified
            if not self._checked and (route is None or _unverified(route)):
                raise UnseenConnection("a pooled connection this client did not see opened")
        elif name.endswith("send_request_body.started"):
            self._body_sent_by_httpcore = True

    def check_body_reader(self) -> None:
        """Before the body (the secret) is handed over: refuse an uninspectable transport.

        Raises:
            TLSRefused: The body is read by a transport that is not httpcore's, not one that
                stays in the process, and ``allow_custom_transport`` is false.
        """
        if self._body_sent_by_httpcore or self.allow_custom_transport:
            return
        transport = _innermost_transport()
        if not _in_process(transport):
            raise TLSRefused(
                f"routes https:// through a {type(transport).__name__}, whose TLS "
                "verification cannot be checked; pass allow_custom_transport=True if it "
                "verifies certificates or never leaves the process"
            )


class GatedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A request body handed over only once ``route`` allows it (see ``check_body_reader``)."""

    def __init__(self, content: bytes, route: TLSRoute) -> None:
        self._body = content
        self._route = route

    def __iter__(self) -> Iterator[bytes]:
        self._route.check_body_reader()
        yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._route.check_body_reader()
        yield self._body
