"""The clients' own pools: httpx transports over httpcore's pools, on backends of our own.

httpx's ``HTTPTransport`` gives no public way to choose its pool's network backend, so the
client's own ``httpx.Client`` gets this transport instead: httpcore's public pool
(``ConnectionPool``, or ``HTTPProxy`` / ``SOCKSProxy`` for a proxy from the environment) with
the backend of ``_socket_deadline``, TLS verified by httpx's default context, HTTP/1.1,
keep-alive as ``limits`` say. Requests, responses and exceptions are mapped the way httpx's
own transport maps them; the ``trace`` and ``timeout`` extensions pass through.

The clients build their requests with their own ``httpx.Client`` / ``AsyncClient`` and send
them with ``OwnSender`` / ``AsyncOwnSender``: the transport alone, without the parts of
``httpx.Client.send`` (auth, redirects, hooks, cookies) that their own pools never use. The
async pool is httpcore's too (``AsyncOwnTransport``), on a backend whose streams note their
reads (``_answer_order``), as the sync pool's do.

Proxies: like ``httpx.Client(trust_env=True)``, the pool honours ``HTTPS_PROXY`` (``HTTP_PROXY``
for an ``http://`` app host), ``ALL_PROXY`` and ``NO_PROXY``, read once, for the app host, by
the rules of ``urllib.request.getproxies()`` and httpx's docs.
"""

from __future__ import annotations

import datetime
import logging
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore
import httpx

from ._answer_order import NotingAsyncBackend, answered_before_sent
from ._socket_deadline import BoundedBackend
from ._unusable import UnusableConnection

__all__ = [
    "AsyncOwnSender",
    "AsyncOwnTransport",
    "BoundedTransport",
    "OwnSender",
    "StaleConnection",
    "environment_proxy",
]

# httpx.Client's own logger and line: the same record, whether a call went through it or not.
_HTTPX_LOG = logging.getLogger("httpx")

# Most specific first: the first match wins.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


class _HttpxErrors:
    """Raises httpx's exception for an httpcore one, as httpx's own transports map them."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        for theirs, ours in _EXCEPTIONS if isinstance(exc, Exception) else ():
            if isinstance(exc, theirs):
                raise ours(str(exc)) from exc


# Stateless: one serves every use (a class, not @contextmanager: this is on every request).
_HTTPX_ERRORS = _HttpxErrors()


def _bypassed(host: str, no_proxy: str) -> bool:
    # NO_PROXY: "*", or hosts and domains (".example.com" and "example.com" both take its
    # subdomains), an optional scheme or port ignored.
    for entry in no_proxy.lower().split(","):
        name = entry.strip().split("://")[-1].rsplit(":", 1)[0].strip(".")
        if entry.strip() == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def environment_proxy(url: httpx.URL) -> httpx.Proxy | None:
    """The proxy the environment names for ``url``'s host, as ``httpx.Client`` would use.

    Raises:
        ValueError: The proxy's URL has a scheme httpx does not support.
    """
    proxies = urllib.request.getproxies_environment()
    if _bypassed(url.host, proxies.get("no", "")):
        return None
    value = proxies.get(url.scheme) or proxies.get("all")
    if not value:
        return None
    return httpx.Proxy(value if "://" in value else f"http://{value}")


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(
        scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
    )


class _ResponseBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _HTTPX_ERRORS:
            yield from self._stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _HTTPX_ERRORS:
            async for chunk in self._stream:
                yield chunk

    def close(self) -> None:
        self._stream.close()

    async def aclose(self) -> None:
        await self._stream.aclose()


def _core_pool(kinds: tuple[Any, Any, Any], limits: httpx.Limits, proxy: httpx.Proxy | None,
               backend: Any) -> Any:  # fmt: skip
    # One of httpcore's pools (sync or async ``kinds``: direct, HTTP proxy, SOCKS proxy).
    direct, http_proxy, socks_proxy = kinds
    common: dict[str, Any] = {
        "ssl_context": httpx.create_ssl_context(),  # httpx's default: verified
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
        "network_backend": backend,
    }
    if proxy is None:
        return direct(**common)
    if proxy.url.scheme in ("http", "https"):
        return http_proxy(
            proxy_url=_core_url(proxy.url),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            proxy_ssl_context=proxy.ssl_context,
            **common,
        )
    # socks5 / socks5h: httpx.Proxy accepts no other scheme
    return socks_proxy(proxy_url=_core_url(proxy.url), proxy_auth=proxy.raw_auth, **common)


def _core_request(request: httpx.Request) -> httpcore.Request:
    return httpcore.Request(
        method=request.method,
        url=_core_url(request.url),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


def _response(core: httpcore.Response) -> httpx.Response:
    return httpx.Response(
        status_code=core.status,
        headers=core.headers,
        stream=_ResponseBody(core.stream),
        extensions=core.extensions,
    )


class BoundedTransport(httpx.BaseTransport):
    """httpcore's pool on ``BoundedBackend``, as an httpx transport: the sync client's own.

    Args:
        limits: Connections and keep-alive of the pool.
        proxy: A proxy to reach every origin through, or ``None``.
    """

    def __init__(self, limits: httpx.Limits, proxy: httpx.Proxy | None = None) -> None:
        kinds = (httpcore.ConnectionPool, httpcore.HTTPProxy, httpcore.SOCKSProxy)
        backend = BoundedBackend(httpcore.SyncBackend())
        self._pool: httpcore.ConnectionPool = _core_pool(kinds, limits, proxy, backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool (httpx errors, as ``httpx.HTTPTransport`` raises)."""
        with _HTTPX_ERRORS:
            return _response(self._pool.handle_request(_core_request(request)))

    def close(self) -> None:
        """Close every connection of the pool."""
        self._pool.close()


class AsyncOwnTransport(httpx.AsyncBaseTransport):
    """httpcore's async pool on ``NotingAsyncBackend``, as an httpx transport: the async
    client's own (httpx's ``AsyncHTTPTransport`` gives no public way to choose the backend).

    Args:
        limits: Connections and keep-alive of the pool.
        proxy: A proxy to reach every origin through, or ``None``.
    """

    def __init__(self, limits: httpx.Limits, proxy: httpx.Proxy | None = None) -> None:
        kinds = (httpcore.AsyncConnectionPool, httpcore.AsyncHTTPProxy, httpcore.AsyncSOCKSProxy)
        backend = NotingAsyncBackend(httpcore.AnyIOBackend())
        self._pool: httpcore.AsyncConnectionPool = _core_pool(kinds, limits, proxy, backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool (httpx errors, as ``httpx.AsyncHTTPTransport``)."""
        with _HTTPX_ERRORS:
            return _response(await self._pool.handle_async_request(_core_request(request)))

    async def aclose(self) -> None:
        """Close every connection of the pool."""
        await self._pool.aclose()


class StaleConnection(UnusableConnection):
    """A kept-alive connection that held an answer before the request was written on it (see
    ``answered_before_sent``): that answer is not the request's; it goes again elsewhere."""

    def given_up(self) -> Exception:
        """The server answers every connection's requests before they are written."""
        return httpx.RemoteProtocolError(f"the server {self}, on every connection")


class _Timed(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response's body that sets its ``elapsed`` once closed, as httpx's clients do; the
    reference to the response goes then too, which ends the response -> body -> response
    cycle."""

    def __init__(self, stream: Any, response: httpx.Response, started: float) -> None:
        self._stream = stream
        self._response: httpx.Response | None = response
        self._started = started

    def _ended(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._started)

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    def close(self) -> None:
        self._ended()
        self._stream.close()

    async def aclose(self) -> None:
        self._ended()
        await self._stream.aclose()


class _OwnSend:
    # What both senders do around their transport's call.

    def __init__(self, client: httpx.Client | httpx.AsyncClient) -> None:
        self._client = client

    def _started(self) -> float:
        if self._client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        return time.perf_counter()

    def _sent(self, request: httpx.Request, response: httpx.Response, started: float) -> None:
        response.request = request
        response.stream = _Timed(response.stream, response, started)
        _HTTPX_LOG.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )


class OwnSender(_OwnSend):
    """``send(request, stream=True)`` for a client's own pool: its transport alone.

    Most of a call's cost is ``httpx.Client.send``'s: auth flows, redirects, event hooks and
    the cookie jar, none of which the client's own pool uses (they are what a caller's own
    ``http_client`` is for, and its ``send`` is used then). As there, the response knows its
    request and, once closed, its ``elapsed``; the ``httpx`` logger gets its ``HTTP Request:``
    line; and once the client is closed, nothing is sent. Unlike there, an answer read before
    its request was written (stale bytes on a kept-alive connection) is refused, and the
    request goes again on another connection (``StaleConnection``).

    Args:
        client: The pool's ``httpx.Client`` (which builds the requests, and is closed with it).
        transport: That client's transport.
    """

    def __init__(self, client: httpx.Client, transport: httpx.BaseTransport) -> None:
        super().__init__(client)
        self._transport = transport

    def send(self, request: httpx.Request, *, stream: bool = True) -> httpx.Response:
        """Send ``request``; its body is left to read.

        Raises:
            RuntimeError: The client was closed.
            httpx.HTTPError: As the transport raises them.
        """
        started = self._started()
        response = self._transport.handle_request(request)
        if answered_before_sent(response):
            response.close()  # unread, so httpcore closes the connection
            raise StaleConnection("answers before the request is sent")
        self._sent(request, response, started)
        return response


class AsyncOwnSender(_OwnSend):
    """``OwnSender`` for an ``httpx.AsyncClient`` and its transport."""

    def __init__(self, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
        super().__init__(client)
        self._transport = transport

    async def send(self, request: httpx.Request, *, stream: bool = True) -> httpx.Response:
        """Send ``request``; see ``OwnSender.send``."""
        started = self._started()
        response = await self._transport.handle_async_request(request)
        if answered_before_sent(response):
            await response.aclose()  # unread, so httpcore closes the connection
            raise StaleConnection("answers before the request is sent")
        self._sent(request, response, started)
        return response
