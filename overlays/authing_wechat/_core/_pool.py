"""The sync client's own pool: an httpx transport over httpcore, on the bounded network backend.

httpx's ``HTTPTransport`` gives no public way to choose its pool's network backend, so the
client's own ``httpx.Client`` gets this transport instead: httpcore's public pool
(``ConnectionPool``, or ``HTTPProxy`` / ``SOCKSProxy`` for a proxy from the environment) with
the backend of ``_socket_deadline``, TLS verified by httpx's default context, HTTP/1.1,
keep-alive as ``limits`` say. Requests, responses and exceptions are mapped the way httpx's
own transport maps them; the ``trace`` and ``timeout`` extensions pass through.

The client builds its requests with that ``httpx.Client`` and sends them with
``BoundedTransport.send``: the transport alone, without the parts of ``httpx.Client.send``
(auth, redirects, hooks, cookies) that the client's own pool never uses.

Proxies: like ``httpx.Client(trust_env=True)``, the pool honours ``HTTPS_PROXY`` (``HTTP_PROXY``
for an ``http://`` app host), ``ALL_PROXY`` and ``NO_PROXY``, read once, for the app host, by
the rules of ``urllib.request.getproxies()`` and httpx's docs.
"""

from __future__ import annotations

import datetime
import logging
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from ._socket_deadline import BoundedBackend

__all__ = ["BoundedTransport", "environment_proxy"]

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


def _translated(exc: Exception) -> Exception | None:
    # httpx's exception for an httpcore one; None for any other (raised as it is).
    for theirs, ours in _EXCEPTIONS:
        if isinstance(exc, theirs):
            return ours(str(exc))
    return None


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


class _ResponseBody(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream
        # Set by BoundedTransport.send, which times the response as httpx.Client does (until
        # it is closed); dropped on close, which ends the response -> stream -> response cycle.
        self.response: httpx.Response | None = None
        self.started = 0.0

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            translated = _translated(exc)
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        response, self.response = self.response, None
        if response is not None:
            response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self.started)
        self._stream.close()


class BoundedTransport(httpx.BaseTransport):
    """httpcore's pool on ``BoundedBackend``, as an httpx transport.

    Args:
        limits: Connections and keep-alive of the pool.
        proxy: A proxy to reach every origin through, or ``None``.
    """

    def __init__(self, limits: httpx.Limits, proxy: httpx.Proxy | None = None) -> None:
        ssl_context = httpx.create_ssl_context()
        backend = BoundedBackend(httpcore.SyncBackend())
        pool: Any
        if proxy is None:
            pool = httpcore.ConnectionPool(
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
        elif proxy.url.scheme in ("http", "https"):
            pool = httpcore.HTTPProxy(
                proxy_url=_core_url(proxy.url),
                proxy_auth=proxy.raw_auth,
                proxy_headers=proxy.headers.raw,
                ssl_context=ssl_context,
                proxy_ssl_context=proxy.ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
        else:  # socks5 / socks5h: httpx.Proxy accepts no other scheme
            pool = httpcore.SOCKSProxy(
                proxy_url=_core_url(proxy.url),
                proxy_auth=proxy.raw_auth,
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
        self._pool: httpcore.ConnectionPool = pool
        self._closed = False

    def send(self, request: httpx.Request, *, stream: bool = True) -> httpx.Response:
        """What ``httpx.Client.send(request, stream=True)`` does with this transport, without
        the rest of that client, which the client's own pool never uses.

        A call's cost is mostly httpx.Client's: auth flows, redirects, event hooks and cookie
        jars are features of a caller's own ``http_client`` (whose ``send`` the clients use
        then). Here, as there: the response knows its request and its ``elapsed``, the
        ``httpx`` logger gets its ``HTTP Request:`` line, and a closed pool refuses requests.

        Raises:
            RuntimeError: The pool was closed.
        """
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        started = time.perf_counter()
        response = self.handle_request(request)
        response.request = request
        body: Any = response.stream
        body.response, body.started = response, started
        _HTTPX_LOG.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool (httpx errors, as ``httpx.HTTPTransport`` raises)."""
        core_request = httpcore.Request(
            method=request.method,
            url=_core_url(request.url),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except Exception as exc:
            translated = _translated(exc)
            if translated is None:
                raise
            raise translated from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close every connection of the pool; ``send`` refuses requests from then on."""
        self._closed = True
        self._pool.close()
