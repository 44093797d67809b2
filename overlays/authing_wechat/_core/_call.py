"""One call's attempts: building each request, bounding it, and deciding what it led to.

``Call`` holds every decision a call makes between its requests, with no I/O of its own; the
two clients' send loops (``_client``) drive it, and the body readers here read an answer
under the attempt's bounds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx

from ._body import MAX_BODY_BYTES, BodyReader
from ._clock import Clock
from ._deprecation import DeprecationGate
from ._errors import AuthingError
from ._models import WechatAccessToken
from ._operations import Operation
from ._retry import RetryRun
from ._secret import Secret, redact
from ._settings import ClientOptions
from ._socket_deadline import move_attempt_end
from ._tls import GatedBody, TLSRefused, TLSRoute
from ._unusable import UnusableConnection
from ._wire import (
    BodyTooLarge,
    build_request,
    read_token,
    redacted_copy,
    translate_transport_error,
)

__all__ = ["Call", "aread_body", "read_body"]

# Pooled connections a call closes, at most, before it gives up finding one it can use.
_MAX_UNUSABLE_CONNECTIONS = 32

# The httpcore trace events (named "<layer>.<event>", the layer being "connection", "http11",
# "proxy", ...) that move an attempt's end; the others leave it where it is.
_CONNECTING, _WRITING, _SENT, _WRITE_FAILED = range(4)
_EVENT_KINDS = {
    # a new connection being opened: the attempt has its connection
    "connect_tcp.started": _CONNECTING,
    "connect_unix_socket.started": _CONNECTING,
    # it starts writing its request (on a pooled connection: it has its connection too)
    "send_request_headers.started": _WRITING,
    # how the writing ended
    "send_request_body.complete": _SENT,
    "send_request_headers.failed": _WRITE_FAILED,
    "send_request_body.failed": _WRITE_FAILED,
}
_UNMOVED = (False, None)


class Call:
    """One call's attempts: builds each request and decides what each outcome means.

    An attempt is bounded as a whole, body included: httpx's timeouts apply to each socket
    operation, so a server dripping one byte at a time would otherwise hold a call for ever.
    """

    def __init__(
        self,
        options: ClientOptions,
        gate: DeprecationGate,
        clock: Clock,
        operation: Operation,
        run: RetryRun,
        *,
        app_id: str,
        secret: Secret,
        tls: TLSRoute | None = None,
    ) -> None:
        self._options = options
        self._tls = tls
        self._content = b""
        self._gate = gate
        self._clock = clock
        self._operation = operation
        self._run = run
        self._app_id = app_id
        self._secret = secret
        self._limit = 0.0
        self._attempt_started = 0.0
        self._connected = False
        self._traced = False
        self._sent = False
        self._received = 0
        self._cut_off = False
        self._request_extensions: dict[str, Any] = {}
        self._trace: Any = None

    def __repr__(self) -> str:
        return f"<Call {self._operation.method} attempts={self._run.attempts}>"

    def next_request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The next attempt's request, its timeouts cut to what the deadline leaves.

        The wait for a free connection of the pool is bounded by ``pool_timeout``; the
        attempt's own ``timeout`` starts once it has a connection (see ``connection_event``).
        """
        self._limit = self._run.attempt_timeout(self._options.timeout)
        pool_wait = min(self._options.pool_timeout, self._run.deadline_left())
        self._run.begin_attempt()
        self._attempt_started = self._clock.monotonic()
        self._connected = self._traced = self._sent = False
        self._trace = None
        request = build_request(
            http,
            self._operation,
            self._options,
            app_id=self._app_id,
            app_secret=self._secret,
            timeout=httpx.Timeout(self._limit, pool=pool_wait),
        )
        # Until a connection is known to be taken (transports without httpcore never say),
        # the attempt may take its own time plus the longest pool wait: never past the deadline.
        self._limit = min(self._limit + pool_wait, self._run.deadline_left())
        self._content = request.content
        if self._tls is not None:
            self._tls.begin()
        if self._tls is not None and not self._tls.allow_custom_transport:
            # The body only goes where the TLS route allows (see _tls); a transport the
            # caller vouches for gets a request read already, as httpx builds it.
            request = httpx.Request(
                request.method,
                request.url,
                headers=request.headers,
                stream=GatedBody(self._content, self._tls),
                extensions=request.extensions,
            )
        self._request_extensions = request.extensions
        return request

    @property
    def attempt_limit(self) -> float:
        """Seconds the current attempt may still take, from its start or its connection."""
        return self._limit

    def connection_event(self, name: str, info: dict[str, Any]) -> tuple[bool, float | None]:
        """Read an httpcore trace event: whether the attempt's end moves, and to when.

        Returns ``(moved, seconds)``: ``seconds`` from now is the attempt's new end, or
        ``None`` while its request is being written. Once the attempt has a connection its
        ``timeout`` (cut to the deadline) runs; waiting in the pool did not count. A request
        is never cut off half-written: the server may count a request whose last bytes were
        on their way, and the call must report the requests the server saw.

        Raises:
            TLSRefused, UnseenConnection: See ``TLSRoute.event`` (``https://`` on a caller's
                ``http_client`` only).
        """
        if self._tls is not None:
            self._tls.event(name, info)
        if getattr(info.get("request"), "method", b"") == b"CONNECT":
            return _UNMOVED  # a proxy tunnel being set up: our request is not written yet
        self._traced = True
        kind = _EVENT_KINDS.get(name.partition(".")[2])
        if kind is None or self._sent:
            return _UNMOVED
        moved = False
        if not self._connected and kind <= _WRITING:
            self._connected = moved = True
            self._attempt_started = self._clock.monotonic()
            self._limit = max(0.0, min(self._options.timeout, self._run.deadline_left()))
        if kind == _WRITING:
            return True, None
        if kind == _SENT:
            self._sent = moved = True
            # Nothing later matters here: httpcore makes no more trace calls for this request
            # (unless it goes again on another connection: see send).
            self._trace = self._request_extensions.pop("trace", None)
        elif kind == _WRITE_FAILED:
            moved = True
        elapsed = self._clock.monotonic() - self._attempt_started
        return moved, max(0.0, self._limit - elapsed)

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension for sync clients: see ``connection_event``.

        The sync pool bounds reads and connects by the attempt's end, never writes (see
        ``_socket_deadline``), so the writing phase needs no pause here.
        """
        try:
            moved, seconds = self.connection_event(name, info)
        except TLSRefused as refused:
            refused.close_stream()
            raise
        if moved and seconds is not None:
            move_attempt_end(time.monotonic() + seconds)

    def _time_left(self, request: httpx.Request) -> float:
        left = self._limit - (self._clock.monotonic() - self._attempt_started)
        if left <= 0:
            raise httpx.ReadTimeout(
                f"the attempt took longer than its {self._limit:g}s", request=request
            )
        return left

    def receiving(self, response: httpx.Response) -> None:
        """Before reading the body: refuse a body announced too large, bound the reads."""
        request = response.request
        # httpx shows the reason phrase in the response's repr; a server may echo the secret.
        phrase = response.reason_phrase
        if redact(phrase) != phrase:
            response.extensions["reason_phrase"] = redact(phrase).encode("ascii", "replace")
        self._received = 0
        self._cut_off = False
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            if response.is_success:
                raise BodyTooLarge("the response body is too large", request=request)
            # The status decides (README): an error status stays that error, unread.
            self._cut_off = True
        # httpcore reads the body's read timeout when the body starts: the time left, not
        # the whole timeout again.
        timeouts = dict(request.extensions.get("timeout", {}))
        timeouts["read"] = self._time_left(request)
        request.extensions["timeout"] = timeouts

    @property
    def body_cut_off(self) -> bool:
        """Whether the body of an error status was too large and is left unread."""
        return self._cut_off

    def body_stops(self, size: int, response: httpx.Response) -> httpx.HTTPError | None:
        """After each chunk of ``size`` bytes: the error that ends the body, if any.

        An error status's body past the cap ends it without an error: ``body_cut_off``.
        Returned, not raised: the reading loops drop the chunks they hold before raising it,
        so that a traceback with locals does not show a body that may echo the secret.
        """
        self._received += size
        if self._received > MAX_BODY_BYTES:
            if not response.is_success:
                self._cut_off = True
                return None
            return BodyTooLarge("the response body is too large", request=response.request)
        try:
            self._time_left(response.request)
        except httpx.ReadTimeout as timeout:
            return timeout
        return None

    def _attempt_ended(self, *, before_any_event: bool = False) -> int:
        # A transport that is not httpcore (a mock, respx) reports no events: its attempt
        # counts as sent, unless it ended in the pool or was cut short before any event.
        if (self._traced and not self._sent) or (before_any_event and not self._traced):
            self._run.request_not_sent()
        return self._run.requests

    def _shown(self, request: httpx.Request) -> httpx.Request:
        return redacted_copy(request, self._secret, self._content)

    def transport_failed(
        self, exc: Exception, request: httpx.Request, *, cut_short: bool = False
    ) -> float:
        """The delay before the next attempt, or raise the translated error.

        Any exception from the HTTP client becomes an ``AuthingError``: an httpx error is
        translated (and retried where that helps), anything else (a closed client, a broken
        custom transport) fails the call as a plain ``AuthingError``.
        """
        shown = self._shown(request)
        # The cause stays chained for debugging, but its message may quote what the server
        # sent: redact it in place.
        exc.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in exc.args)
        unsent = cut_short or isinstance(exc, httpx.PoolTimeout | TLSRefused)
        if not isinstance(exc, httpx.HTTPError | TLSRefused):
            self._attempt_ended(before_any_event=unsent)
        if isinstance(exc, TLSRefused):
            requests = self._attempt_ended(before_any_event=True)
            error = translate_transport_error(exc, shown, attempts=requests)
        elif isinstance(exc, httpx.HTTPError):
            if isinstance(exc, httpx.RequestError):
                exc.request = shown  # it would otherwise hold the secret, in the cause chain
            requests = self._attempt_ended(before_any_event=unsent)
            error = translate_transport_error(exc, shown, attempts=requests)
        else:
            error = AuthingError(
                f"{self._operation.method}: the HTTP client raised {type(exc).__name__}",
                request=shown,
            )
        try:
            return self._run.failed(error)
        except AuthingError as final:
            raise final from exc

    def _unusable_connection_closed(self, unusable: UnusableConnection, tries: int) -> None:
        # httpcore has closed the connection; the same request goes again, on another one.
        if tries + 1 == _MAX_UNUSABLE_CONNECTIONS:
            raise unusable.given_up() from unusable
        self._connected = self._traced = self._sent = False
        if self._trace is not None:  # taken out once the request was written: see trace
            self._request_extensions.setdefault("trace", self._trace)

    def send(self, send: Callable[..., httpx.Response], request: httpx.Request) -> httpx.Response:
        """``send(request, stream=True)``, on a connection it can use: one the TLS route can
        vouch for, and one whose answer comes after the request (see ``UnusableConnection``).
        """
        for tries in range(_MAX_UNUSABLE_CONNECTIONS):
            try:
                return send(request, stream=True)
            except UnusableConnection as unusable:
                self._unusable_connection_closed(unusable, tries)
        raise AssertionError("unreachable: the last try raises")

    async def asend(
        self, send: Callable[..., Awaitable[httpx.Response]], request: httpx.Request
    ) -> httpx.Response:
        """``send`` for an async client."""
        for tries in range(_MAX_UNUSABLE_CONNECTIONS):
            try:
                return await send(request, stream=True)
            except UnusableConnection as unusable:
                self._unusable_connection_closed(unusable, tries)
        raise AssertionError("unreachable: the last try raises")

    def answered(self, response: httpx.Response) -> WechatAccessToken | float:
        """The token, or the delay before the next attempt; raises when the call must stop."""
        try:
            token = read_token(response, attempts=self._attempt_ended(), body_cut_off=self._cut_off)
        except AuthingError as error:
            response.request = error.request = self._shown(response.request)
            return self._run.failed(error)
        self._run.succeeded()
        self._gate.observe(token.deprecation)
        return token


def _already_read(call: Call, response: httpx.Response) -> bool:
    # An in-process transport may hand over a response it has read (and decoded) itself.
    if not response.is_stream_consumed:
        return False  # a stream, as from httpcore: asked first, as an exception costs more
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return False
    stop = call.body_stops(len(content), response)
    del content
    if stop is not None:
        raise stop
    return True


class _BoundedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response's body as httpx reads it: decoded here within the cap and the attempt's time.

    httpx's own decoders have no bound on their output, so ``_reading`` hides the
    ``Content-Encoding`` from httpx while this stream hands it the decoded body.
    """

    def __init__(self, call: Call, response: httpx.Response) -> None:
        self._call = call
        self._response = response
        self._raw = response.stream
        self._reader = BodyReader(response.headers)

    def _piece(self, raw: bytes) -> bytes | httpx.HTTPError | None:
        # The decoded piece; None: stop, the rest is left unread; an error: raise it.
        piece = self._reader.decode(raw)
        stop = self._call.body_stops(len(piece), self._response)
        if stop is not None:
            return stop
        return None if self._call.body_cut_off else piece

    def __iter__(self) -> Iterator[bytes]:
        if self._call.body_cut_off:
            return
        raw: Any = self._raw
        for chunk in raw:
            piece = self._piece(chunk)
            del chunk  # a traceback with locals must not show a body echoing the secret
            if isinstance(piece, Exception):
                raise piece
            if piece is None:
                return
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._call.body_cut_off:
            return
        raw: Any = self._raw
        async for chunk in raw:
            piece = self._piece(chunk)
            del chunk  # a traceback with locals must not show a body echoing the secret
            if isinstance(piece, Exception):
                raise piece
            if piece is None:
                return
            yield piece

    def close(self) -> None:
        raw: Any = self._raw
        raw.close()

    async def aclose(self) -> None:
        raw: Any = self._raw
        await raw.aclose()


def _bounded(call: Call, response: httpx.Response) -> httpx.Headers:
    # Public API only: the body stream and the headers httpx picks its decoder from are
    # swapped while httpx reads; the caller gives the headers returned here back after.
    headers = response.headers
    response.stream = _BoundedBody(call, response)
    if "content-encoding" in headers:
        plain = headers.copy()
        del plain["content-encoding"]
        response.headers = plain
    return headers


def read_body(call: Call, response: httpx.Response) -> None:
    """Read the body under the attempt's bounds (instead of a bare ``response.read()``)."""
    if not _already_read(call, response):
        headers = _bounded(call, response)
        try:
            response.read()
        finally:
            response.headers = headers


async def aread_body(call: Call, response: httpx.Response) -> None:
    """``read_body`` for an async response."""
    if not _already_read(call, response):
        headers = _bounded(call, response)
        try:
            await response.aread()
        finally:
            response.headers = headers
