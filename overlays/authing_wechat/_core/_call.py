"""One call's attempts: each request built and bounded, each outcome decided, with no I/O.

The clients (``_client``) send with ``httpx.Client.send`` / ``AsyncClient.send``; bodies are
decoded here (``read_body``) chunk by chunk, within the size cap and the attempt's time (the
async client also bounds the attempt with ``asyncio.timeout``). An attempt's ``timeout`` runs
from the moment the transport reads its request body: waiting in the pool does not count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import httpx

from ._body import MAX_BODY_BYTES, BodyReader
from ._classify import BodyTooLarge, read_token, translate_transport_error
from ._clock import Clock
from ._deprecation import DeprecationGate
from ._errors import AuthingError
from ._models import WechatAccessToken
from ._operations import Operation
from ._request import build_request, redacted_copy
from ._retry import RetryRun
from ._secret import Secret, redact
from ._settings import ClientOptions

__all__ = ["Call", "aread_body", "read_body"]

# Failures before the request was written: not counted (a connect failure only if the body
# was not read: an in-process mock reads it first).
_BEFORE_CONNECTING = (httpx.ConnectError, httpx.ConnectTimeout)
# Headers of the raw answer that do not describe the decoded body an error carries.
_ENCODING_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


class Call:
    """One call's attempts: builds each request and decides what each outcome means;
    ``on_sending`` (the async client's) gets the attempt's seconds left once its request leaves."""

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
    ) -> None:
        self._options = options
        self._gate = gate
        self._clock = clock
        self._operation = operation
        self._run = run
        self._app_id = app_id
        self._secret = secret
        self._content = b""
        self._limit = 0.0
        self._attempt_started = 0.0
        self._sending = False
        self._received = 0
        # Whether the body of an error status was too large and is left unread.
        self.body_cut_off = False
        self.on_sending: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        return f"<Call {self._operation.method} attempts={self._run.attempts}>"

    def next_request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The next attempt's request, its timeouts cut to what the deadline leaves (an
        ``AuthingTimeoutError`` once it has run out)."""
        timeout = self._run.attempt_timeout(self._options.timeout)
        pool_wait = min(self._options.pool_timeout, self._run.deadline_left())
        self._run.begin_attempt()
        self._attempt_started = self._clock.monotonic()
        self._sending = False
        self.on_sending = None
        # Until the request leaves, the attempt may also wait for a pooled connection.
        self._limit = min(timeout + pool_wait, self._run.deadline_left())
        request, self._content = build_request(
            http,
            self._operation,
            self._options,
            app_id=self._app_id,
            app_secret=self._secret,
            timeout=httpx.Timeout(timeout, pool=pool_wait),
            on_send=self._request_leaving,
        )
        return request

    def _request_leaving(self) -> None:
        # The transport reads the body: it has its connection; the attempt's timeout starts.
        if self._sending:
            return
        self._sending = True
        self._attempt_started = self._clock.monotonic()
        self._limit = max(0.0, min(self._options.timeout, self._run.deadline_left()))
        if self.on_sending is not None:
            self.on_sending(self._limit)

    @property
    def attempt_limit(self) -> float:
        """Seconds the current attempt may take, from its start or its request's leaving."""
        return self._limit

    def receiving(self, response: httpx.Response) -> None:
        """Before reading the body: refuse a body announced too large."""
        # httpx shows the reason phrase in the response's repr; a server may echo the secret.
        phrase = response.reason_phrase
        if redact(phrase) != phrase:
            response.extensions["reason_phrase"] = redact(phrase).encode("ascii", "replace")
        self._received = 0
        self.body_cut_off = False
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            if response.is_success:
                raise BodyTooLarge("the response body is too large", request=response.request)
            # The status decides (README): an error status stays that error, unread.
            self.body_cut_off = True

    def body_stops(self, size: int, response: httpx.Response) -> httpx.HTTPError | bool:
        """After each decoded chunk of ``size`` bytes: the error that ends the body, or
        whether to read on (``False``: an error status's body past the cap is left unread).

        Returned, not raised: the reading loops drop the chunk they hold before raising it,
        so that a traceback with locals does not show a body that may echo the secret.
        """
        self._received += size
        if self._received > MAX_BODY_BYTES:
            if response.is_success:
                return BodyTooLarge("the response body is too large", request=response.request)
            self.body_cut_off = True
            return False
        if self._clock.monotonic() - self._attempt_started > self._limit:
            return httpx.ReadTimeout(
                f"the attempt took longer than its {self._limit:g}s", request=response.request
            )
        return True

    def _shown(self, request: httpx.Request) -> httpx.Request:
        return redacted_copy(request, self._secret, self._content)

    def transport_failed(
        self, exc: Exception, request: httpx.Request, *, cut_short: bool = False
    ) -> float:
        """The delay before the next attempt, or raise ``exc`` as an ``AuthingError`` (a
        plain one for what is not an httpx error). ``cut_short``: the attempt's time ran out."""
        shown = self._shown(request)
        # The cause stays chained, its message (which may quote the server) redacted in place.
        exc.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in exc.args)
        unsent = not self._sending and (cut_short or isinstance(exc, _BEFORE_CONNECTING))
        if unsent or isinstance(exc, httpx.PoolTimeout):
            self._run.request_not_sent()
        if isinstance(exc, httpx.HTTPError):
            if isinstance(exc, httpx.RequestError):
                exc.request = shown  # it would otherwise hold the secret, in the cause chain
            error = translate_transport_error(exc, shown, attempts=self._run.requests)
        else:
            error = AuthingError(
                f"{self._operation.method}: the HTTP client raised {type(exc).__name__}",
                request=shown,
            )
        try:
            return self._run.failed(error)
        except AuthingError as final:
            raise final from exc

    def answered(self, answer: httpx.Response) -> WechatAccessToken | float:
        """The token in ``answer`` (``read_body``'s), or the delay before the next attempt;
        raises when the call must stop."""
        try:
            token = read_token(
                answer,
                attempts=self._run.requests,
                body_cut_off=self.body_cut_off,
                base_url=self._options.base_url,
            )
        except AuthingError as error:
            answer.request = error.request = self._shown(answer.request)
            return self._run.failed(error)
        self._run.succeeded()
        self._gate.observe(token.deprecation)
        return token


def _decoded(response: httpx.Response, body: bytes) -> httpx.Response:
    # The closed response with its decoded body, as errors carry it (``error.response.json()``).
    answer = httpx.Response(
        response.status_code,
        headers=[(k, v) for k, v in response.headers.raw if k.lower() not in _ENCODING_HEADERS],
        content=body,
        request=response.request,
        extensions=response.extensions,
    )
    with contextlib.suppress(RuntimeError):  # unset when a mock handed it over read
        answer.elapsed = response.elapsed
    return answer


def _ended(stop: httpx.HTTPError | bool) -> None:
    # Raise what ended the body, if anything did (see Call.body_stops).
    if isinstance(stop, Exception):
        raise stop


def _first_look(call: Call, response: httpx.Response) -> httpx.Response | BodyReader | None:
    # Before the body: the answer an in-process transport read already, the reader to feed,
    # or None to leave it unread (too large an error page).
    call.receiving(response)
    if response.is_stream_consumed:
        _ended(call.body_stops(len(response.content), response))
        return _decoded(response, response.content)
    return None if call.body_cut_off else BodyReader(response.headers)


def read_body(call: Call, response: httpx.Response) -> httpx.Response:
    """The response closed, its body decoded and read under the attempt's bounds; an
    ``httpx.HTTPError`` if it is too large (``BodyTooLarge``), late (``ReadTimeout``), corrupt,
    or the transport failed."""
    with contextlib.closing(response):
        reader = _first_look(call, response)
        if not isinstance(reader, BodyReader):
            return _decoded(response, b"") if reader is None else reader
        for raw in response.iter_raw():
            read_on = call.body_stops(reader.feed(raw), response)
            del raw  # a traceback with locals must not show a body echoing the secret
            if read_on is not True:
                _ended(read_on)
                break
    return _decoded(response, reader.content())


async def aread_body(call: Call, response: httpx.Response) -> httpx.Response:
    """``read_body`` for an async response."""
    async with contextlib.aclosing(response):
        reader = _first_look(call, response)
        if not isinstance(reader, BodyReader):
            return _decoded(response, b"") if reader is None else reader
        async for raw in response.aiter_raw():
            read_on = call.body_stops(reader.feed(raw), response)
            del raw  # a traceback with locals must not show a body echoing the secret
            if read_on is not True:
                _ended(read_on)
                break
    return _decoded(response, reader.content())
